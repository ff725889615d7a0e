package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;

/**
 * The 3 × 3 convolutions of the convolutional corrector ({@link hybridsam.model.ConvShape}) for
 * K replicas at once on the device. Activations are sample-major with the replica axis next,
 * [n][K][channels][H][W] floats, so one grouped convolution (groups = K) sees N = n and
 * K·channels channels; the padded input of a layer is [n][K][in][H+2][W+2] (the project's own
 * padding kernel fills the border, edge-replicate). Weights of replica r are read strided from
 * the flat parameter vector: W at {@code w.offset + r * w.stride}, [out][in][3][3], and b at
 * {@code b.offset + r * b.stride}, [out]; the buffers' offsets of activations are given in
 * floats, their strides unused. Every call only enqueues work on the device's stream (so the
 * step can be captured as a graph); sums run in an order fixed by the sizes alone.
 */
public interface ConvOps extends AutoCloseable {

    /** What runs the convolutions, in words (for check names and `hybridsam devices`). */
    String describe();

    /** y = W ⋆ xPadded + b. */
    void forward(int K, int n, int in, int out, int H, int W, Strided w, Strided b, Strided xPadded, Strided y);

    /** dxPadded = the adjoint of the convolution applied to dy (overwrites, border included). */
    void backwardData(int K, int n, int in, int out, int H, int W, Strided w, Strided dy, Strided dxPadded);

    /** dW += Σ_samples dy ⋆ xPadded and db += Σ_samples,cells dy (accumulating over a rollout's stages). */
    void backwardFilter(int K, int n, int in, int out, int H, int W, Strided dy, Strided xPadded, Strided dw, Strided db);

    @Override
    default void close() {
    }
}
