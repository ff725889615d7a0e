package hybridsam.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Hidden-layer activations of the neural corrector. Every derivative is written in terms of the
 * activation's output h, so the backward pass needs only the stored post-activations.
 */
public enum Activation {
    RELU, TANH, ELU, SOFTPLUS;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    public static Activation parse(String name) {
        for (Activation a : values()) {
            if (a.name().equalsIgnoreCase(name)) return a;
        }
        throw new IllegalArgumentException("unknown activation '" + name + "' (choose relu, tanh, elu, softplus)");
    }

    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public float apply(float a) {
        switch (this) {
            case RELU: return a > 0f ? a : 0f;
            case TANH: return (float) Math.tanh(a);
            case ELU: return a > 0f ? a : (float) Math.expm1(a);
            default: return softplus(a);
        }
    }

    /** dh/da expressed through h = apply(a). */
    public float derivativeFromOutput(float h) {
        switch (this) {
            case RELU: return h > 0f ? 1f : 0f;
            case TANH: return 1f - h * h;
            case ELU: return h > 0f ? 1f : h + 1f;
            default: return (float) -Math.expm1(-h); // sigmoid(a) = 1 - exp(-softplus(a))
        }
    }

    private static float softplus(float a) {
        // log(1 + e^a) without overflow for large a
        return a > 0f ? a + (float) Math.log1p(Math.exp(-a)) : (float) Math.log1p(Math.exp(a));
    }

    /** Applies the activation in place to x[off, off+n); n is a multiple of the species length. */
    public void applyInPlace(float[] x, int off, int n) {
        int L = S.length();
        switch (this) {
            case TANH:
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, x, off + i).lanewise(VectorOperators.TANH).intoArray(x, off + i);
                }
                break;
            case RELU:
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, x, off + i).max(0f).intoArray(x, off + i);
                }
                break;
            default:
                for (int i = off; i < off + n; i++) x[i] = apply(x[i]);
        }
    }

    /** g[gOff + i] *= dh/da at h[hOff + i] for i in [0, n); n is a multiple of the species length. */
    public void backwardInPlace(float[] g, int gOff, float[] h, int hOff, int n) {
        int L = S.length();
        switch (this) {
            case TANH:
                for (int i = 0; i < n; i += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + i);
                    FloatVector d = hv.fma(hv.neg(), FloatVector.broadcast(S, 1f));
                    FloatVector.fromArray(S, g, gOff + i).mul(d).intoArray(g, gOff + i);
                }
                break;
            case RELU:
                for (int i = 0; i < n; i += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + i);
                    FloatVector gv = FloatVector.fromArray(S, g, gOff + i);
                    gv.blend(0f, hv.compare(VectorOperators.LE, 0f)).intoArray(g, gOff + i);
                }
                break;
            default:
                for (int i = 0; i < n; i++) g[gOff + i] *= derivativeFromOutput(h[hOff + i]);
        }
    }
}
