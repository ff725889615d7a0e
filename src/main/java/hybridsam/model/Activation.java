package hybridsam.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Hidden-layer activations of the neural corrector. Every derivative is written in terms of the
 * activation's output h, so the backward pass needs only the stored post-activations.
 */
public enum Activation {
    RELU, TANH, ELU, SOFTPLUS,
    /** max(x, 0.01 x), PyTorch's default slope; the convolutional corrector's activation. */
    LEAKY_RELU;

    /** Slope of {@link #LEAKY_RELU} below zero (HS_LEAKY_SLOPE in the kernels). */
    public static final float LEAKY_SLOPE = 0.01f;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    public static Activation parse(String name) {
        for (Activation a : values()) {
            if (a.name().equalsIgnoreCase(name)) return a;
        }
        throw new IllegalArgumentException("unknown activation '" + name + "' (choose relu, tanh, elu, softplus, leaky_relu)");
    }

    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public float apply(float a) {
        switch (this) {
            case RELU: return a > 0f ? a : 0f;
            case TANH: return tanh(FloatVector.broadcast(S, a)).lane(0);
            case ELU: return a > 0f ? a : (float) StrictMath.expm1(a);
            case LEAKY_RELU: return a > 0f ? a : LEAKY_SLOPE * a;
            default: return softplus(a);
        }
    }

    /*
     * tanh from IEEE add, multiply, divide and integer bit operations only. The Vector API's own
     * TANH gives different bits before and after the JIT compiles a loop (scalar Math.tanh versus
     * a vector library), which would make training depend on warm-up; these operations give the
     * same bits in every execution mode. tanh(a) = m / (m + 2) with m = e^{2a} - 1 computed as
     * 2^n (e^r - 1) + (2^n - 1), r = 2a - n ln2, so no step cancels. Within three float ulps of tanh.
     */
    private static final float CLAMP = 10f; // tanh(10) rounds to 1f
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693145752f, LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds a float to an integer

    static FloatVector tanh(FloatVector x) {
        FloatVector y = x.abs().min(CLAMP).mul(2f);
        FloatVector t = y.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = y.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        // e^r - 1 = r (1 + r/2 + r²/6 + ... + r⁶/5040), |r| ≤ ln2/2
        FloatVector em1r = r.mul(1f / 5040f).add(1f / 720f).mul(r).add(1f / 120f).mul(r).add(1f / 24f)
                .mul(r).add(1f / 6f).mul(r).add(0.5f).mul(r).add(1f).mul(r);
        IntVector bits = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = bits.reinterpretAsFloats();
        FloatVector m = em1r.fma(scale, scale.sub(1f));
        FloatVector mag = m.div(m.add(2f));
        return mag.blend(mag.neg(), x.compare(VectorOperators.LT, 0f));
    }

    /** dh/da expressed through h = apply(a). */
    public float derivativeFromOutput(float h) {
        switch (this) {
            case RELU: return h > 0f ? 1f : 0f;
            case TANH: return 1f - h * h;
            case ELU: return h > 0f ? 1f : h + 1f;
            case LEAKY_RELU: return h > 0f ? 1f : LEAKY_SLOPE;  // the output has the input's sign
            default: return (float) -StrictMath.expm1(-h); // sigmoid(a) = 1 - exp(-softplus(a))
        }
    }

    private static float softplus(float a) {
        // log(1 + e^a) without overflow for large a
        return a > 0f ? a + (float) StrictMath.log1p(StrictMath.exp(-a)) : (float) StrictMath.log1p(StrictMath.exp(a));
    }

    /** Applies the activation in place to x[off, off+n); n is a multiple of the species length. */
    public void applyInPlace(float[] x, int off, int n) {
        int L = S.length();
        switch (this) {
            case TANH:
                for (int i = 0; i < n; i += L) tanh(FloatVector.fromArray(S, x, off + i)).intoArray(x, off + i);
                break;
            case RELU:
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, x, off + i).max(0f).intoArray(x, off + i);
                }
                break;
            case LEAKY_RELU:
                for (int i = 0; i < n; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x, off + i);
                    v.blend(v.mul(LEAKY_SLOPE), v.compare(VectorOperators.LE, 0f)).intoArray(x, off + i);
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
            case LEAKY_RELU:
                for (int i = 0; i < n; i += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + i);
                    FloatVector gv = FloatVector.fromArray(S, g, gOff + i);
                    gv.blend(gv.mul(LEAKY_SLOPE), hv.compare(VectorOperators.LE, 0f)).intoArray(g, gOff + i);
                }
                break;
            default:
                for (int i = 0; i < n; i++) g[gOff + i] *= derivativeFromOutput(h[hOff + i]);
        }
    }
}
