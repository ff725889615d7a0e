package hybridsam.cpu;

import hybridsam.model.ConvShape;
import hybridsam.model.Corrector;
import hybridsam.model.MlpShape;

/**
 * A corrector's loops over a chunk of C samples stored state-major (x[d * C + c]), with the
 * scratch space of one worker thread. The forward pass leaves what the backward pass needs in
 * a tape slot of {@link #tapeFloats()} floats; parameter gradients add up in per-lane
 * accumulators that {@link #reduce} sums once per chunk in a fixed order.
 */
public interface CpuCorrector {

    /** The loops for a network of this shape over chunks of C samples (C a multiple of the vector length; a conv net: exactly it). */
    static CpuCorrector of(Corrector shape, int C) {
        // Corrector is sealed: these are all the shapes there are
        if (shape instanceof MlpShape m) return new MlpCorrector(m, C);
        return new ConvCorrector((ConvShape) shape, C);
    }

    /** Floats of tape one evaluation keeps. */
    int tapeFloats();

    /** out = f_nn(in) for the chunk; activations go to tape[tapeOff ..]. */
    void forward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] out);

    /**
     * gIn = (∂f_nn/∂in)ᵀ gOut at the taped evaluation (overwritten), and the parameter gradient
     * added to the accumulators.
     */
    void backward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] gOut, float[] gIn);

    /** Clears the parameter-gradient accumulators. */
    void clearGradient();

    /** The accumulated parameter gradient, lanes summed in a fixed order, to out[off ..]. */
    void reduce(float[] out, int off);

    /** Floats of scratch and accumulators an instance for chunks of C allocates, for the memory estimate. */
    static long workspaceFloats(Corrector shape, int C) {
        long lanes = (long) shape.parameterCount() * DenseKernels.L;
        if (shape instanceof MlpShape m) return 2L * MlpCorrector.maxHiddenWidth(m) * C + lanes;
        ConvShape n = (ConvShape) shape;
        long padded = (n.height() + 2L) * (n.width() + 2), zero = (n.height() + 4L) * (n.width() + 4);
        return (long) n.maxChannels() * C * (2 * padded + zero + 2L * n.cells()) + lanes;
    }
}
