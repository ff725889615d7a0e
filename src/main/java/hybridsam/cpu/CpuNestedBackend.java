package hybridsam.cpu;

import hybridsam.model.ImageSequences;
import hybridsam.model.NestedHybrid;
import hybridsam.model.Split;
import hybridsam.train.TrainingEngine;

/**
 * Loss, gradient and metrics of a {@link NestedHybrid} on the CPU, for K replicas at once:
 * encoder (first frames → z0), the ODE rollout of {@link OdeRollout} from z0, decoder + sigmoid
 * at every frame, pixel MSE over all frames; the exact reverse pass through all three.
 * Chunked like {@link CpuOdeBackend}: bit for bit the same with any thread count.
 */
public final class CpuNestedBackend implements CpuBackend {
    private final NestedHybrid model;
    private final WorkerPool pool;

    public CpuNestedBackend(NestedHybrid model, int threads) {
        this.model = model;
        this.pool = new WorkerPool(threads);
    }

    @Override
    public NestedHybrid model() {
        return model;
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    /**
     * losses[r] = mean over the minibatch batch[r·B ..) of the squared pixel error over every
     * frame and pixel (divided by B · T · H · W); grads[r·P ..] its gradient w.r.t. (u, φ).
     */
    @Override
    public void lossAndGradient(int K, float[] params, Split split, int[] batch, int B, float[] grads, double[] losses) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Pixel MSE over a whole split; useNet false: the ODE without its corrector (encoder and decoder kept). */
    @Override
    public double meanSquaredError(float[] params, int pOff, Split data, boolean useNet) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Test pixel MSE, the science-only pixel MSE, and the corrector's share of the field along the model's own trajectories. */
    @Override
    public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split data) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * The predicted images of the given sequences, [n][T][H][W] (sigmoid outputs), from the
     * parameters at params[pOff ..]; useNet false: the ODE without its corrector.
     */
    public float[] predict(float[] params, int pOff, ImageSequences data, int[] sequences, boolean useNet) {
        throw new UnsupportedOperationException("TODO");
    }

    /** The encoded initial states of the given sequences, [n][D]. */
    public float[] encode(float[] params, int pOff, ImageSequences data, int[] sequences) {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public void close() {
        pool.close();
    }
}
