package hybridsam.tasks;

import hybridsam.cpu.ChunkGradient;
import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.WorkerPool;
import hybridsam.cpu.CpuCorrector;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.ConvShape;
import hybridsam.model.Split;
import hybridsam.model.ThetaSpec;
import hybridsam.train.TrainingEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Loss, gradient and metrics of the light-tunnel hybrid ({@link LightTunnelHybrid}) on the CPU,
 * for K replicas at once.
 *
 * <p>Loss: the pixel mean squared error over all 3·H·W values of every image of the minibatch,
 * L = Σ (ŷ − y)² / (B · 3 · H · W). Its gradient is exact: the network's weights through
 * {@link CpuCorrector}'s backward pass; S through F2's vector-Jacobian product
 * ({@link LightTunnelModel#vjpS}) of the cotangent of the F2 image, which is the loss's own
 * (ŷ contains F2 directly) plus the network's input gradient on its three F2 channels (the net
 * reads the F2 image); then the chain rule through θ's box transform ({@link ThetaSpec#derivative}).
 *
 * <p>A minibatch is cut into chunks of one vector of samples ({@link CpuOdeBackend#vectorLength()},
 * the convolutional loops' chunk), a layout that depends on the batch size only; a last chunk with
 * fewer samples fills its spare lanes with its first sample and leaves them out of every sum. Each
 * chunk's partial sums land in their own slot and are added in chunk order, so losses and gradients
 * are bit for bit the same with any number of threads.
 *
 * <p>Network share ({@link #evaluate}): per image, ‖net‖ / (‖F2‖ + ‖net‖) with L2 norms over its
 * 3·H·W values (0 when both are zero), averaged over images.
 */
public final class LightTunnelBackend implements CpuBackend {

    private final LightTunnelHybrid model;
    private final WorkerPool pool;
    private final ThreadLocal<Workspace> workspace;

    public LightTunnelBackend(LightTunnelHybrid model, int threads) {
        this.model = model;
        this.workspace = ThreadLocal.withInitial(() -> new Workspace(model));
        this.pool = new WorkerPool(threads);
    }

    @Override
    public LightTunnelHybrid model() {
        return model;
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    /** Samples per chunk: one vector. */
    public static int chunk() {
        return CpuOdeBackend.vectorLength();
    }

    /** One worker thread's buffers for a chunk of C samples, laid out x[d·C + c]. */
    private static final class Workspace {
        final LightTunnelHybrid model;
        final ConvShape net;
        final CpuCorrector corrector;
        final int C, H, W, cells, imageSize;
        final float[] x, tape, out, gOut, gIn, gF2, gNn;
        final double[] theta = new double[9], a = new double[3], gS = new double[9];
        final int[] sample;
        int n;

        Workspace(LightTunnelHybrid model) {
            this.model = model;
            this.net = model.net();
            this.C = CpuOdeBackend.vectorLength();
            this.corrector = CpuCorrector.of(net, C);
            this.H = net.height();
            this.W = net.width();
            this.cells = H * W;
            this.imageSize = 3 * cells;
            x = new float[LightTunnelHybrid.NET_INPUTS * cells * C];
            tape = new float[corrector.tapeFloats()];
            out = new float[imageSize * C];
            gOut = new float[imageSize * C];
            gIn = new float[LightTunnelHybrid.NET_INPUTS * cells * C];
            gF2 = new float[imageSize * C];
            gNn = new float[net.parameterCount()];
            sample = new int[C];
        }

        /**
         * Fills the network input for samples idx[off .. off+n) (spare lanes repeat the first) and
         * runs the net when useNet (else out stays zero). The F2 image is x's first 3·H·W·C values.
         */
        void forward(float[] params, int pOff, LightTunnelSplit data, int[] idx, int off, int n, boolean useNet) {
            this.n = n;
            ThetaSpec spec = model.thetaSpec();
            for (int i = 0; i < 9; i++) theta[i] = spec.toPhysical(i, params[pOff + i]);
            float[] mask = model.mask();
            float[] inputs = data.inputs();
            for (int c = 0; c < C; c++) {
                int s = idx[off + (c < n ? c : 0)];
                sample[c] = s;
                int in = data.inputOffset(s);
                LightTunnelModel.renderInto(x, c, C, H, W, mask, theta, 0, inputs, in);
                for (int k = 0; k < 5; k++) {
                    float v = k < 3 ? (float) (inputs[in + k] / 255.0)
                            : (float) (inputs[in + k] / LightTunnelHybrid.ANGLE_SCALE);
                    int base = ((3 + k) * cells) * C + c;
                    for (int p = 0; p < cells; p++) x[base + p * C] = v;
                }
            }
            if (useNet) corrector.forward(params, pOff + model.nnOffset(), x, 0, tape, 0, out);
            else Arrays.fill(out, 0f);
        }

        /** Σ (ŷ − y)² over the chunk's n samples; with weight > 0 also gOut = 2 · weight · (ŷ − y) (0 in spare lanes). */
        double squaredError(LightTunnelSplit data, float weight) {
            float[] images = data.images();
            double sq = 0;
            for (int c = 0; c < C; c++) {
                if (c >= n) {
                    if (weight > 0) for (int d = 0; d < imageSize; d++) gOut[d * C + c] = 0f;
                    continue;
                }
                int img = data.imageOffset(sample[c]);
                for (int d = 0; d < imageSize; d++) {
                    float pred = x[d * C + c] + out[d * C + c];
                    double e = (double) pred - images[img + d];
                    sq += e * e;
                    if (weight > 0) gOut[d * C + c] = (float) (2.0 * weight * e);
                }
            }
            return sq;
        }

        /** After forward and squaredError(weight &gt; 0): gNn and gS (w.r.t. physical S) of the chunk. */
        void backward(float[] params, int pOff, LightTunnelSplit data) {
            corrector.clearGradient();
            corrector.backward(params, pOff + model.nnOffset(), x, 0, tape, 0, gOut, gIn);
            corrector.reduce(gNn, 0);
            int f2 = imageSize * C;
            for (int i = 0; i < f2; i++) gF2[i] = gOut[i] + gIn[i];
            Arrays.fill(gS, 0.0);
            for (int c = 0; c < n; c++) {
                LightTunnelModel.vjpS(gF2, c, C, H, W, model.mask(), theta, 0, data.inputs(),
                        data.inputOffset(sample[c]), gS, 0);
            }
        }

        /** Σ over the chunk's images of ‖net‖ / (‖F2‖ + ‖net‖). */
        double shareSum() {
            double sum = 0;
            for (int c = 0; c < n; c++) {
                double ns = 0, nl = 0;
                for (int d = 0; d < imageSize; d++) {
                    double f = x[d * C + c], g = out[d * C + c];
                    ns += f * f;
                    nl += g * g;
                }
                double a = Math.sqrt(ns), b = Math.sqrt(nl);
                sum += a + b > 0 ? b / (a + b) : 0;
            }
            return sum;
        }
    }

    @Override
    public void lossAndGradient(int K, float[] params, Split split, int[] batch, int B, float[] grads, double[] losses) {
        LightTunnelSplit data = (LightTunnelSplit) split;
        int P = model.parameterCount();
        int nTheta = model.thetaCount();
        int chunk = chunk();
        int nChunks = (B + chunk - 1) / chunk;
        int imageSize = 3 * model.height() * model.width();
        float weight = (float) (1.0 / ((double) B * imageSize));
        List<Callable<ChunkGradient>> tasks = new ArrayList<>();
        for (int r = 0; r < K; r++) {
            for (int ci = 0; ci < nChunks; ci++) {
                final int pOff = r * P, off = r * B + ci * chunk, n = Math.min(chunk, B - ci * chunk);
                tasks.add(() -> {
                    Workspace w = workspace.get();
                    w.forward(params, pOff, data, batch, off, n, true);
                    double sq = w.squaredError(data, weight);
                    w.backward(params, pOff, data);
                    return new ChunkGradient(sq, w.gS.clone(), w.gNn.clone());
                });
            }
        }
        ChunkGradient.sum(pool.runAll(tasks), K, nChunks, P, model.thetaSpec(), params, grads, losses, sq -> sq * weight);
    }

    @FunctionalInterface
    private interface ChunkSum {
        double over(Workspace w, int[] idx, int off, int n);
    }

    /** Σ over every sample of the split, chunk by chunk in parallel, added in chunk order. */
    private double sumOverSplit(LightTunnelSplit data, ChunkSum f) {
        int chunk = chunk();
        return pool.sumOverSplit(data.count(), chunk, (idx, o, n) -> f.over(workspace.get(), idx, o, n));
    }

    @Override
    public double meanSquaredError(float[] params, int pOff, Split split, boolean useNet) {
        LightTunnelSplit data = (LightTunnelSplit) split;
        double sq = sumOverSplit(data, (w, idx, o, n) -> {
            w.forward(params, pOff, data, idx, o, n, useNet);
            return w.squaredError(data, 0f);
        });
        return sq / ((double) data.count() * data.imageSize());
    }

    @Override
    public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split split) {
        LightTunnelSplit data = (LightTunnelSplit) split;
        double share = sumOverSplit(data, (w, idx, o, n) -> {
            w.forward(params, pOff, data, idx, o, n, true);
            return w.shareSum();
        }) / data.count();
        return new TrainingEngine.Metrics(meanSquaredError(params, pOff, data, true),
                meanSquaredError(params, pOff, data, false), share);
    }


    @Override
    public void close() {
        pool.close();
    }
}
