package hybridsam.cuda;

/**
 * The dense layers of the layer-wise gradient path, for K replicas at once. Matrices are
 * row-major floats; replica r's matrix starts at {@code buf + offset + r * stride} (floats).
 * For a layer with {@code out} outputs and {@code in} inputs over {@code n} samples:
 * W is out x in (leading dimension in), b has out values, X is in x n, Y and dY are out x n,
 * dX is in x n (leading dimension n). Every call only enqueues work on the device's stream (so
 * a step that uses it can be captured as a graph); sums run in an order fixed by the sizes alone.
 */
public interface DenseOps extends AutoCloseable {

    /** A strided batch of K matrices (or vectors) inside a device buffer, in floats. */
    record Strided(DeviceBuffer buf, long offset, long stride) {
    }

    /** What runs the products, in words (for check names and `hybridsam devices`). */
    String describe();

    /** Y = W X + b. */
    void forward(int K, int out, int in, int n, Strided w, Strided b, Strided x, Strided y);

    /** dX = Wᵀ dY. */
    void backwardData(int K, int out, int in, int n, Strided w, Strided dy, Strided dx);

    /** dW += dY Xᵀ and db += Σ_samples dY (accumulating over the stages of a rollout). */
    void backwardWeights(int K, int out, int in, int n, Strided dy, Strided x, Strided dw, Strided db);

    @Override
    default void close() {
    }
}
