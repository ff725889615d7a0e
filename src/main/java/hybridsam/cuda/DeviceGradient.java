package hybridsam.cuda;

import hybridsam.model.Split;

/**
 * A gradient program: the loss partials and the gradient of K replicas' minibatches of one
 * hybrid, as device launches only (so that {@link CudaTrainingEngine} can capture them in its
 * step's graph). The engine runs the same rule kernels after any program; what differs between
 * models is only this. Implementations: {@link RolloutGradient} (the MLP rollout kernels),
 * {@link LayerwiseGradient}, {@link ConvOdeGradient}, {@link LightTunnelGradient}.
 *
 * <p>A program first takes its training split onto the device ({@link #upload}); then, for a
 * batch size B, the engine gives it a workspace of {@link #workspaceFloats} floats, a buffer of
 * {@link #gradientRowsFloats} floats for unreduced gradients, and K · {@link #lossRows} doubles
 * of squared-error partials that the engine's hs_loss sums with {@link #lossWeight}.
 */
public interface DeviceGradient {

    /** Copies the arrays of the training split the program reads into buffers of scope. */
    void upload(DeviceScope scope, Split train);

    /** Samples of the uploaded split (what minibatch indices run over). */
    int count();

    /** Floats of workspace for batch size B. */
    long workspaceFloats(int B);

    /** Floats of unreduced gradient rows for batch size B (at least 1: a program that needs none gets a placeholder). */
    default long gradientRowsFloats(int B) {
        return 1;
    }

    /** Squared-error partials per replica for batch size B. */
    default int lossRows(int B) {
        return B;
    }

    /** The weight hs_loss multiplies the summed partials by: the loss is the weighted sum. */
    float lossWeight(int B);

    /**
     * Enqueues the loss partials (into sq) and the gradient (into grad, K · P floats, overwritten;
     * θ's block with respect to u) of every replica's minibatch batch[r·B .. r·B + B).
     */
    void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                  DeviceBuffer grad);

    /** What runs the network when it is not the project's own kernels (for describe()); null otherwise. */
    default String networkEngine() {
        return null;
    }

    /**
     * Whether one gradient must run before a capture: a library (cuBLAS, cuDNN) does lazy set-up
     * (module loading) on its first calls, which must not happen inside a capture.
     */
    default boolean warmsUpOutsideCapture() {
        return false;
    }
}
