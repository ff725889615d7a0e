package hybridsam.cpu;

import hybridsam.io.ConfigException;
import hybridsam.model.Hybrid;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;

import java.util.Locale;

/**
 * The memory a CPU training run will take, estimated before anything is allocated, so that an
 * option combination that cannot fit (many replicas of a wide network, a long rollout) is refused
 * with the bytes it would need instead of dying with OutOfMemoryError half way, and a size that
 * overflows a Java array is refused instead of wrapping to a negative length.
 */
public final class MemoryBudget {
    /** What a Java array can hold (the JVM's limit sits a few elements below Integer.MAX_VALUE). */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8L;

    private MemoryBudget() {
    }

    /** Bytes of one thread's rollout workspace for a chunk of samples (the arrays of OdeRollout). */
    static long chunkBytes(OdeHybrid model, int frames, int chunk, String options) {
        long D = model.stateDim(), C = chunk, H = model.corrector().hiddenUnits();
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        long stageIn = steps * 4 * D * C, hidden = steps * 4 * H * C;
        if (stageIn > MAX_ARRAY || hidden > MAX_ARRAY) {
            throw new ConfigException(String.format(Locale.ROOT, "%s: a rollout of %d RK4 steps (%d frames x %d steps per frame)"
                    + " with %d hidden units keeps %d activations per chunk of %d samples, more than a Java array holds (%d);"
                    + " use a larger --rk4-step, fewer frames or a narrower network", options, steps, frames - 1,
                    model.stepsPerFrame(), H, Math.max(stageIn, hidden), chunk, MAX_ARRAY));
        }
        boolean keepAll = CpuOdeBackend.keepsAll(model, frames, chunk, CpuOdeBackend.KEEP_ALL_BYTES);
        return 4 * OdeRollout.floats(model, frames, chunk, keepAll);
    }

    /**
     * Bytes a run of K replicas with minibatches of B over sequences of the given frames needs on
     * `threads` threads: the optimizer's and the rules' arrays (about 12 per parameter vector), the
     * per-chunk gradient partials of one step, and each thread's workspace.
     */
    public static long cpuBytes(OdeHybrid model, int K, int B, int frames, int threads, String options) {
        long P = model.parameterCount();
        checkReplicaArrays(K, P, options);
        int chunk = CpuOdeBackend.chunkFor(model, B);
        long nChunks = (B + chunk - 1) / chunk;
        long vectors = 12L * K * P * 4;
        long partials = (long) K * nChunks * P * 4;
        return vectors + partials + Math.max(1, threads) * chunkBytes(model, frames, chunk, options);
    }

    /**
     * Refuses a run whose estimate exceeds what this JVM may still allocate, naming the options,
     * the bytes it would need and what there is.
     */
    public static void checkCpu(OdeHybrid model, int K, int B, int frames, int threads, String options) {
        checkAvailable(cpuBytes(model, K, B, frames, threads, options), options);
    }

    /**
     * Bytes a run of a nested hybrid needs: as {@link #cpuBytes(OdeHybrid, int, int, int, int, String)},
     * with each thread's workspace holding the encoder's inputs, the decoder's activations and
     * images for every frame of a chunk, both networks' gradient lanes and the rollout's arrays.
     */
    public static long cpuBytes(NestedHybrid model, int K, int B, int frames, int threads, String options) {
        long P = model.parameterCount();
        checkReplicaArrays(K, P, options);
        int chunk = CpuNestedBackend.chunkFor(B);
        long columns = (long) frames * chunk;
        long widest = Math.max(Math.max((long) model.pixels(), model.decoder().hiddenUnits()), model.ode().stateDim());
        long lanes = (long) Math.max(model.encoder().parameterCount(), model.decoder().parameterCount()) * DenseKernels.L;
        long encIn = (long) model.encoder().inputs() * chunk;
        if (widest * columns > MAX_ARRAY || lanes > MAX_ARRAY || encIn > MAX_ARRAY) {
            throw new ConfigException(String.format(Locale.ROOT, "%s: one chunk of %d sequences of %d frames of %d x %d pixels"
                    + " keeps arrays of %d values, more than a Java array holds (%d); use fewer frames or smaller images",
                    options, chunk, frames, model.height(), model.width(), Math.max(Math.max(widest * columns, lanes), encIn), MAX_ARRAY));
        }
        chunkBytes(model.ode(), frames, chunk, options);  // refuses a rollout whose arrays overflow
        boolean keepAll = CpuNestedBackend.keepsAll(model, frames, chunk, CpuOdeBackend.KEEP_ALL_BYTES);
        long nChunks = (B + chunk - 1) / chunk;
        long vectors = 12L * K * P * 4;
        long partials = (long) K * nChunks * P * 4;
        return vectors + partials + Math.max(1, threads) * 4 * CpuNestedBackend.workspaceFloats(model, frames, chunk, keepAll);
    }

    /** Refuses a nested run whose estimate exceeds what this JVM may still allocate. */
    public static void checkCpu(NestedHybrid model, int K, int B, int frames, int threads, String options) {
        checkAvailable(cpuBytes(model, K, B, frames, threads, options), options);
    }

    /**
     * The same check for any other hybrid (the Causal Chambers tasks), whose per-thread workspace
     * is small next to its parameter-sized arrays: the optimizer's and the rules' arrays and one
     * gradient partial per chunk of a vector's worth of samples (no chunk is smaller).
     */
    public static void checkCpu(Hybrid model, int K, int B, String options) {
        long P = model.parameterCount();
        checkReplicaArrays(K, P, options);
        long nChunks = (B + DenseKernels.L - 1) / DenseKernels.L;
        checkAvailable(12L * K * P * 4 + (long) K * nChunks * P * 4, options);
    }

    /** K replicas' parameters lie in one Java array: K × P must fit in one. */
    private static void checkReplicaArrays(int K, long P, String options) {
        if ((long) K * P > MAX_ARRAY) {
            throw new ConfigException(String.format(Locale.ROOT, "%s: %d replicas x %d parameters = %d values, more than a Java"
                    + " array holds (%d); lower --replicas or narrow --hidden", options, K, P, (long) K * P, MAX_ARRAY));
        }
    }

    private static void checkAvailable(long need, String options) {
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (need > available) {
            throw new ConfigException(String.format(Locale.ROOT, "%s: training would need about %s of memory and this JVM has"
                    + " %s left (maximum heap %s); lower --replicas, --batch or --threads, narrow --hidden, or give Java more"
                    + " memory (HYBRIDSAM_JAVA_OPTS=-Xmx...)", options, bytes(need), bytes(available), bytes(rt.maxMemory())));
        }
    }

    /** "1.5 GB (1,610,612,736 bytes)". */
    static String bytes(long b) {
        String unit = b >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GB", b / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MB", b / (double) (1L << 20));
        return String.format(Locale.ROOT, "%s (%,d bytes)", unit, b);
    }
}
