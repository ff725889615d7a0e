package hybridsam.cpu;

import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.Split;
import hybridsam.train.TrainingEngine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Loss and gradient of an ODE-additive hybrid on the CPU, for K replicas at once.
 *
 * <p>A minibatch is cut into fixed chunks whose size depends only on the batch size and the
 * vector length, never on the thread count; each chunk's partial sums land in their own slot and
 * are added in chunk order. So the numbers are bit for bit the same with 1 thread or 64.
 */
public final class CpuOdeBackend implements CpuBackend {
    /** Samples per chunk at most: 64 keeps a chunk's activations for a 98-step rollout near 13 MB. */
    public static final int MAX_CHUNK = 64;

    /**
     * Most bytes one thread's rollout may keep for the reverse pass; beyond it the rollout keeps
     * one state per RK4 step and recomputes the stages (bit-identical, one more forward pass).
     */
    public static final long KEEP_ALL_BYTES = 256L << 20;

    private final OdeHybrid model;
    private final long keepAllBytes;
    private final WorkerPool pool;
    private final ThreadLocal<OdeRollout[]> workspace = new ThreadLocal<>();

    public CpuOdeBackend(OdeHybrid model, int threads) {
        this(model, threads, KEEP_ALL_BYTES);
    }

    /** With the reverse pass's memory limit given (tests force checkpointing with 0). */
    public CpuOdeBackend(OdeHybrid model, int threads, long keepAllBytes) {
        this.model = model;
        this.keepAllBytes = keepAllBytes;
        this.pool = new WorkerPool(threads);
    }

    @Override
    public OdeHybrid model() {
        return model;
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    public static int vectorLength() {
        return DenseKernels.L;
    }

    /**
     * Chunk size for a batch of b samples: a multiple of the vector length, at most MAX_CHUNK
     * for an MLP corrector. A convolutional corrector's chunk is one vector of samples: each
     * sample carries a whole grid, so small chunks already fill the vectors and give the threads
     * more pieces of a small batch.
     */
    public static int chunkFor(OdeHybrid model, int b) {
        int L = DenseKernels.L;
        if (!(model.corrector() instanceof hybridsam.model.MlpShape)) return L;
        int c = ((b + L - 1) / L) * L;
        return Math.min(Math.max(c, L), Math.max(MAX_CHUNK, L));
    }

    /** Whether a rollout over the given frames keeps every stage within `keepAllBytes`. */
    static boolean keepsAll(OdeHybrid model, int frames, int chunk, long keepAllBytes) {
        return 4 * OdeRollout.floats(model, frames, chunk, true) <= keepAllBytes;
    }

    /** This thread's workspace, rebuilt when the sequence length or chunk size changes. */
    private OdeRollout newWorkspace(int frames, int chunk) {
        OdeRollout[] holder = workspace.get();
        if (holder == null) {
            holder = new OdeRollout[1];
            workspace.set(holder);
        }
        if (holder[0] == null || holder[0].frames() != frames || holder[0].chunk() != chunk) {
            holder[0] = null;  // let the old one go before the new one is allocated
            holder[0] = new OdeRollout(model, frames, chunk, keepsAll(model, frames, chunk, keepAllBytes));
        }
        return holder[0];
    }

    /**
     * For each replica r: losses[r] = mean squared error of its minibatch
     * batch[r*B .. r*B+B) at params[r*P ..], and grads[r*P ..] = its gradient with respect to
     * (u, φ). P is the model's parameter count.
     */
    @Override
    public void lossAndGradient(int K, float[] params, Split split, int[] batch, int B,
                                float[] grads, double[] losses) {
        Sequences data = (Sequences) split;
        int P = model.parameterCount();
        int nTheta = model.thetaCount();
        int chunk = chunkFor(model, B);
        int nChunks = (B + chunk - 1) / chunk;
        int frames = data.frames();
        float weight = (float) (1.0 / ((double) B * (frames - 1) * model.stateDim()));
        List<Callable<ChunkGradient>> tasks = new ArrayList<>();
        for (int r = 0; r < K; r++) {
            for (int ci = 0; ci < nChunks; ci++) {
                final int rr = r, off = r * B + ci * chunk, n = Math.min(chunk, B - ci * chunk);
                tasks.add(() -> {
                    OdeRollout w = newWorkspace(frames, chunk);
                    double sq = w.forward(params, rr * P, data, batch, off, n, true, true);
                    w.backward(params, rr * P, weight);
                    return new ChunkGradient(sq, w.gTheta.clone(), w.gNn.clone());
                });
            }
        }
        ChunkGradient.sum(pool.runAll(tasks), K, nChunks, P, model.thetaSpec(), params, grads, losses, sq -> sq * weight);
    }

    /** What one pass over a chunk of a split adds up. */
    @FunctionalInterface
    private interface ChunkSum {
        double over(OdeRollout workspace, int[] idx, int off, int n);
    }

    /** Σ over all sequences of data, chunk by chunk in parallel, added in chunk order. */
    private double sumOverSplit(Sequences data, ChunkSum f) {
        int chunk = chunkFor(model, Math.min(data.count(), MAX_CHUNK));
        return pool.sumOverSplit(data.count(), chunk, (idx, o, n) -> f.over(newWorkspace(data.frames(), chunk), idx, o, n));
    }

    /** Mean squared error over all sequences of data with the parameters at params[pOff ..]. */
    @Override
    public double meanSquaredError(float[] params, int pOff, Split split, boolean useNet) {
        Sequences data = (Sequences) split;
        double sq = sumOverSplit(data, (w, idx, o, n) -> w.forward(params, pOff, data, idx, o, n, false, useNet));
        return sq / ((double) data.count() * (data.frames() - 1) * data.dim());
    }

    /** The test metrics of method.md §3 on a whole split. */
    @Override
    public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split split) {
        Sequences data = (Sequences) split;
        double share = sumOverSplit(data, (w, idx, o, n) -> w.networkShareSum(params, pOff, data, idx, o, n))
                / ((double) data.count() * data.frames());
        return new TrainingEngine.Metrics(meanSquaredError(params, pOff, data, true),
                meanSquaredError(params, pOff, data, false), share);
    }


    @Override
    public void close() {
        pool.close();
    }
}
