package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.NestedHybrid;
import hybridsam.model.Split;
import hybridsam.train.TrainingEngine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Loss, gradient and metrics of a {@link NestedHybrid} on the CPU, for K replicas at once:
 * encoder (first frames → z0), the ODE rollout of {@link OdeRollout} from z0, decoder + sigmoid
 * at every frame, pixel MSE over all frames; the exact reverse pass through all three.
 * Chunked like {@link CpuOdeBackend}: bit for bit the same with any thread count.
 */
public final class CpuNestedBackend implements CpuBackend {
    /**
     * Sequences per chunk at most. A chunk of 32 already gives the decoder 32 × frames columns
     * to vectorize over, and a minibatch of 64 still splits into two chunks for two threads.
     */
    public static final int MAX_CHUNK = 32;

    private final NestedHybrid model;
    private final long keepAllBytes;
    private final WorkerPool pool;
    private final ThreadLocal<Workspace[]> workspace = new ThreadLocal<>();

    public CpuNestedBackend(NestedHybrid model, int threads) {
        this(model, threads, CpuOdeBackend.KEEP_ALL_BYTES);
    }

    /** With the rollout's memory limit for keeping every RK4 stage given (tests force checkpointing with 0). */
    public CpuNestedBackend(NestedHybrid model, int threads, long keepAllBytes) {
        this.model = model;
        this.keepAllBytes = keepAllBytes;
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

    /** Chunk size for b sequences: a multiple of the vector length, at most MAX_CHUNK (or one vector). */
    public static int chunkFor(int b) {
        int L = DenseKernels.L;
        int c = ((b + L - 1) / L) * L;
        return Math.min(Math.max(c, L), Math.max(MAX_CHUNK, L));
    }

    /** Floats one thread's workspace holds for sequences of the given frames: what {@link Workspace} allocates. */
    static long workspaceFloats(NestedHybrid m, int frames, int chunk, boolean keepAll) {
        long C = chunk, TC = (long) frames * chunk, D = m.stateDim();
        long encoder = (long) m.encoder().inputs() * C + (long) m.encoder().hiddenUnits() * C
                + CpuCorrector.workspaceFloats(m.encoder(), chunk) + m.encoder().parameterCount();
        long decoder = D * TC + (long) m.decoder().hiddenUnits() * TC + (long) m.pixels() * TC + D * TC
                + CpuCorrector.workspaceFloats(m.decoder(), (int) Math.min(TC, Integer.MAX_VALUE)) + m.decoder().parameterCount();
        long rollout = OdeRollout.floats(m.ode(), frames, chunk, keepAll) + frames * D * C + (frames - 1L) * D * C + D * C;
        return encoder + decoder + rollout;
    }

    /** Whether the rollout of a chunk keeps every RK4 stage within keepAllBytes. */
    static boolean keepsAll(NestedHybrid m, int frames, int chunk, long keepAllBytes) {
        return CpuOdeBackend.keepsAll(m.ode(), frames, chunk, keepAllBytes);
    }

    /** The split as image sequences this model reads: a size mismatch would read the wrong pixels, not fail. */
    private ImageSequences images(Split split) {
        ImageSequences d = (ImageSequences) split;
        if (d.height() != model.height() || d.width() != model.width() || d.frames() < model.encoderFrames()) {
            throw new IllegalArgumentException("the model reads " + model.encoderFrames() + "+ frames of " + model.height()
                    + " x " + model.width() + " pixels; the split has " + d.frames() + " frames of " + d.height() + " x " + d.width());
        }
        return d;
    }

    /** This thread's workspace, rebuilt when the sequence length or chunk size changes. */
    private Workspace workspace(int frames, int chunk) {
        Workspace[] holder = workspace.get();
        if (holder == null) {
            holder = new Workspace[1];
            workspace.set(holder);
        }
        if (holder[0] == null || holder[0].T != frames || holder[0].C != chunk) {
            holder[0] = null;  // let the old one go before the new one is allocated
            holder[0] = new Workspace(frames, chunk, keepsAll(model, frames, chunk, keepAllBytes));
        }
        return holder[0];
    }

    /**
     * losses[r] = mean over the minibatch batch[r·B ..) of the squared pixel error over every
     * frame and pixel (divided by B · T · H · W); grads[r·P ..] its gradient w.r.t. (u, φ).
     */
    @Override
    public void lossAndGradient(int K, float[] params, Split split, int[] batch, int B, float[] grads, double[] losses) {
        ImageSequences data = images(split);
        int P = model.parameterCount(), nTheta = model.thetaCount();
        int chunk = chunkFor(B);
        int nChunks = (B + chunk - 1) / chunk;
        int frames = data.frames();
        double count = (double) B * frames * model.pixels();
        float weight = (float) (1.0 / count);
        List<Callable<ChunkGradient>> tasks = new ArrayList<>();
        for (int r = 0; r < K; r++) {
            for (int ci = 0; ci < nChunks; ci++) {
                final int pOff = r * P, off = r * B + ci * chunk, n = Math.min(chunk, B - ci * chunk);
                tasks.add(() -> {
                    Workspace w = workspace(frames, chunk);
                    w.forward(params, pOff, data, batch, off, n, true, true);
                    double sq = w.score(data, batch, off, n, 2f * weight);
                    float[] gNn = new float[P - nTheta];  // corrector | encoder | decoder
                    w.backward(params, pOff, gNn);
                    return new ChunkGradient(sq, w.ode.gTheta.clone(), gNn);
                });
            }
        }
        ChunkGradient.sum(pool.runAll(tasks), K, nChunks, P, model.thetaSpec(), params, grads, losses, sq -> sq / count);
    }

    /** What one pass over a chunk of a split adds up. */
    @FunctionalInterface
    private interface ChunkSum {
        double over(Workspace w, int[] idx, int off, int n);
    }

    /** Σ over all sequences of data, chunk by chunk in parallel, added in chunk order. */
    private double sumOverSplit(ImageSequences data, ChunkSum f) {
        int chunk = chunkFor(Math.min(data.count(), MAX_CHUNK));
        return pool.sumOverSplit(data.count(), chunk, (idx, o, n) -> f.over(workspace(data.frames(), chunk), idx, o, n));
    }

    /** Pixel MSE over a whole split; useNet false: the ODE without its corrector (encoder and decoder kept). */
    @Override
    public double meanSquaredError(float[] params, int pOff, Split split, boolean useNet) {
        ImageSequences data = images(split);
        double sq = sumOverSplit(data, (w, idx, o, n) -> {
            w.forward(params, pOff, data, idx, o, n, false, useNet);
            return w.score(data, idx, o, n, 0f);
        });
        return sq / ((double) data.count() * data.frames() * model.pixels());
    }

    /** Test pixel MSE, the science-only pixel MSE, and the corrector's share of the field along the model's own trajectories. */
    @Override
    public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split split) {
        ImageSequences data = images(split);
        double share = sumOverSplit(data, (w, idx, o, n) -> {
            w.rollout(params, pOff, data, idx, o, n, false, true);
            return w.ode.networkShareSum(params, pOff, w.states, n);
        }) / ((double) data.count() * data.frames());
        return new TrainingEngine.Metrics(meanSquaredError(params, pOff, data, true),
                meanSquaredError(params, pOff, data, false), share);
    }

    /** What one pass over a chunk writes to its own part of an output. */
    @FunctionalInterface
    private interface ChunkWrite {
        void over(Workspace w, int off, int n);
    }

    /** Runs f over the given sequences chunk by chunk in parallel; each chunk writes its own rows. */
    private void forEachChunk(ImageSequences data, int count, ChunkWrite f) {
        int chunk = chunkFor(Math.min(count, MAX_CHUNK));
        pool.overChunks(count, chunk, (o, n) -> {
            f.over(workspace(data.frames(), chunk), o, n);
            return null;
        });
    }

    /**
     * The predicted images of the given sequences, [n][T][H][W] (sigmoid outputs), from the
     * parameters at params[pOff ..]; useNet false: the ODE without its corrector.
     */
    public float[] predict(float[] params, int pOff, ImageSequences data, int[] sequences, boolean useNet) {
        images(data);
        int T = data.frames(), px = model.pixels();
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(sequences.length, T), px)];
        forEachChunk(data, sequences.length, (w, off, n) -> {
            w.forward(params, pOff, data, sequences, off, n, false, useNet);
            int C = w.C;
            for (int c = 0; c < n; c++) {
                for (int t = 0; t < T; t++) {
                    int o = ((off + c) * T + t) * px;
                    for (int q = 0; q < px; q++) out[o + q] = w.pixels[(q * T + t) * C + c];
                }
            }
        });
        return out;
    }

    /** The encoded initial states of the given sequences, [n][D]. */
    public float[] encode(float[] params, int pOff, ImageSequences data, int[] sequences) {
        images(data);
        int D = model.stateDim();
        float[] out = new float[sequences.length * D];
        forEachChunk(data, sequences.length, (w, off, n) -> {
            w.encode(params, pOff, data, sequences, off, n);
            for (int c = 0; c < n; c++) {
                for (int d = 0; d < D; d++) out[(off + c) * D + d] = w.states[d * w.C + c];
            }
        });
        return out;
    }

    @Override
    public void close() {
        pool.close();
    }

    /**
     * One thread's arrays and loops for a chunk of C sequences of T frames. Every network runs
     * over columns stored feature-major: the encoder over the chunk's C sequences, the decoder
     * over all T · C (frame, sequence) pairs at once, column t · C + c. Columns n .. C of a part
     * chunk repeat the first sequence and carry zero weight.
     */
    private final class Workspace {
        final int T, C, TC, D, px;
        final MlpCorrector encoder, decoder;
        final OdeRollout ode;
        final float[] encIn;    // [encoderFrames · H · W][C], frame-major like the encoder's inputs
        final float[] encTape;
        final float[] states;   // [T][D][C]: z0, then the rollout's state at each frame
        final float[] decIn;    // [D][T · C]
        final float[] decTape;
        final float[] pixels;   // [H · W][T · C]: logits, then images, then ∂loss/∂logit
        final float[] gDecIn;   // [D][T · C]
        final float[] adjoint;  // [T-1][D][C]: ∂loss/∂state at frames 1 ..
        final float[] gz0;      // [D][C]

        Workspace(int frames, int chunk, boolean keepAll) {
            T = frames;
            C = chunk;
            TC = Math.multiplyExact(frames, chunk);
            D = model.stateDim();
            px = model.pixels();
            encoder = new MlpCorrector(model.encoder(), C);
            decoder = new MlpCorrector(model.decoder(), TC);
            ode = new OdeRollout(model.ode(), frames, chunk, keepAll);
            encIn = new float[Math.multiplyExact(model.encoder().inputs(), C)];
            encTape = new float[encoder.tapeFloats()];
            states = new float[T * D * C];
            decIn = new float[D * TC];
            decTape = new float[decoder.tapeFloats()];
            pixels = new float[Math.multiplyExact(px, TC)];
            gDecIn = new float[D * TC];
            adjoint = new float[(T - 1) * D * C];
            gz0 = new float[D * C];
        }

        /** Sequence number of column c of the chunk at idx[off ..] with n real columns. */
        private int sequence(int[] idx, int off, int n, int c) {
            return idx[off + (c < n ? c : 0)];
        }

        /** z0 = encoder(first frames) to states[0 .. D·C). */
        void encode(float[] p, int pOff, ImageSequences data, int[] idx, int off, int n) {
            int inputs = model.encoderFrames() * px;
            float[] images = data.images();
            for (int c = 0; c < C; c++) {
                int base = data.frameOffset(sequence(idx, off, n, c), 0);  // the first frames lie back to back
                for (int f = 0; f < inputs; f++) encIn[f * C + c] = images[base + f];
            }
            encoder.forward(p, pOff + model.encoderOffset(), encIn, 0, encTape, 0, states);
        }

        /** Encoder and ODE rollout: the state at every frame in {@link #states}. */
        void rollout(float[] p, int pOff, ImageSequences data, int[] idx, int off, int n, boolean store, boolean useNet) {
            encode(p, pOff, data, idx, off, n);
            ode.forward(p, pOff, states, store, useNet);
        }

        /** The whole model: the predicted images in {@link #pixels}; with store, ready for {@link #backward}. */
        void forward(float[] p, int pOff, ImageSequences data, int[] idx, int off, int n, boolean store, boolean useNet) {
            rollout(p, pOff, data, idx, off, n, store, useNet);
            for (int t = 0; t < T; t++) {
                for (int d = 0; d < D; d++) System.arraycopy(states, (t * D + d) * C, decIn, d * TC + t * C, C);
            }
            decoder.forward(p, pOff + model.decoderOffset(), decIn, 0, decTape, 0, pixels);
            sigmoidInPlace(pixels);
        }

        /**
         * Σ (image − target)² over the real columns; with two = 2 · weight nonzero, leaves
         * ∂(weight · Σ r²)/∂logit = two · r · y (1 − y) in {@link #pixels} for the reverse pass.
         */
        double score(ImageSequences data, int[] idx, int off, int n, float two) {
            float[] images = data.images();
            double sq = 0;
            for (int c = 0; c < C; c++) {
                int s = sequence(idx, off, n, c);
                for (int t = 0; t < T; t++) {
                    int target = data.frameOffset(s, t), col = t * C + c;
                    for (int q = 0; q < px; q++) {
                        int i = q * TC + col;
                        float y = pixels[i];
                        float r = c < n ? y - images[target + q] : 0f;
                        sq += (double) r * r;
                        if (two != 0f) pixels[i] = two * r * (y * (1f - y));
                    }
                }
            }
            return sq;
        }

        /**
         * Reverse pass of the last stored forward and {@link #score}: the gradients of the
         * corrector, encoder and decoder to g (laid out as φ: corrector | encoder | decoder), θ's to ode.gTheta.
         */
        void backward(float[] p, int pOff, float[] g) {
            decoder.clearGradient();
            decoder.backward(p, pOff + model.decoderOffset(), decIn, 0, decTape, 0, pixels, gDecIn);
            for (int t = 1; t < T; t++) {
                for (int d = 0; d < D; d++) System.arraycopy(gDecIn, d * TC + t * C, adjoint, ((t - 1) * D + d) * C, C);
            }
            ode.backward(p, pOff, adjoint, gz0);
            for (int d = 0; d < D; d++) {
                for (int c = 0; c < C; c++) gz0[d * C + c] += gDecIn[d * TC + c];  // frame 0 is z0 itself
            }
            encoder.clearGradient();
            encoder.backward(p, pOff + model.encoderOffset(), encIn, 0, encTape, 0, gz0, null);
            int nTheta = model.thetaCount();
            System.arraycopy(ode.gNn, 0, g, 0, ode.gNn.length);
            encoder.reduce(g, model.encoderOffset() - nTheta);
            decoder.reduce(g, model.decoderOffset() - nTheta);
        }
    }

    /**
     * y = σ(x) = (1 + tanh(x / 2)) / 2 in place, through {@link Activation#TANH}: its tanh gives
     * the same bits before and after the JIT compiles the loop, so the images do too. n is a
     * multiple of the vector length, as every chunk is.
     */
    static void sigmoidInPlace(float[] x) {
        for (int i = 0; i < x.length; i++) x[i] = 0.5f * x[i];
        Activation.TANH.applyInPlace(x, 0, x.length);
        for (int i = 0; i < x.length; i++) x[i] = 0.5f + 0.5f * x[i];
    }
}
