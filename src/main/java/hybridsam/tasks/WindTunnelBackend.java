package hybridsam.tasks;

import hybridsam.cpu.ChunkGradient;
import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.WorkerPool;
import hybridsam.cpu.CpuCorrector;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.Split;
import hybridsam.model.ThetaSpec;
import hybridsam.train.TrainingEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Loss, gradient and metrics of the {@link WindTunnelHybrid} on the CPU, for K replicas at once.
 *
 * <p><b>Prediction.</b> A sequence starts from its first observed speeds (ω_in, ω_out); between
 * time stamps t_f and t_{f+1} classic RK4 takes {@link WindTunnelHybrid#SUBSTEPS} equal steps
 * h = (t_{f+1} − t_f) / SUBSTEPS (per sequence: the time stamps are irregular) with the loads held
 * at sample f. The pressure is read out at every sample, sample 0 included, from the speeds there
 * (observed at 0, predicted after) and the hatch at that sample.
 *
 * <p><b>Loss</b> of one sequence: the mean over the three channels of each channel's mean squared
 * error, ω scaled by 1/ω_max (rpm / 3000) and pressure by 1/S_max:
 * (1/3) [Σ_{f≥1} r_in² / (T−1) + Σ_{f≥1} r_out² / (T−1) + Σ_{f≥0} r_p² / T]; a minibatch's loss is
 * the mean over its sequences. The gradient is exact reverse mode through every RK4 stage and
 * both networks (each RK4 step's stages are recomputed from the step's starting state in the
 * reverse pass: the same operations on the same values, so the same bits as keeping them).
 * θ's gradient goes to u through {@link ThetaSpec#derivative}.
 *
 * <p><b>Network share</b> ({@link #evaluate}): at every observed sample, the fan part
 * ‖f_nn‖ / (‖f_sci‖ + ‖f_nn‖) over the two fans' derivatives and the pressure part
 * |p_nn| / (|C1| + |p_nn|), each at the observed speeds and the sample's inputs, averaged
 * (half each), then over all samples and sequences (0 where both parts are 0).
 *
 * <p>States, stages and residuals are doubles; the networks run in float32 through
 * {@link CpuCorrector}. A minibatch is cut into chunks whose size depends only on B; each chunk's
 * sums go to their own slot and are added in chunk order, so any thread count gives the same bits.
 */
public final class WindTunnelBackend implements CpuBackend {
    /** Sequences per chunk at most. */
    public static final int MAX_CHUNK = 64;

    private final WindTunnelHybrid model;
    private final WorkerPool pool;
    private final ThreadLocal<Rollout[]> workspace = new ThreadLocal<>();

    public WindTunnelBackend(WindTunnelHybrid model, int threads) {
        this.model = model;
        this.pool = new WorkerPool(threads);
    }

    @Override
    public WindTunnelHybrid model() {
        return model;
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    /** Chunk size for a batch of b sequences: a multiple of the vector length, at most MAX_CHUNK. */
    public static int chunkFor(int b) {
        int L = CpuOdeBackend.vectorLength();
        int c = ((b + L - 1) / L) * L;
        return Math.min(Math.max(c, L), Math.max(MAX_CHUNK, L));
    }

    private Rollout rollout(int frames, int chunk) {
        Rollout[] holder = workspace.get();
        if (holder == null) {
            holder = new Rollout[1];
            workspace.set(holder);
        }
        if (holder[0] == null || holder[0].T != frames || holder[0].C != chunk) {
            holder[0] = null;
            holder[0] = new Rollout(model, frames, chunk);
        }
        return holder[0];
    }

    @Override
    public void lossAndGradient(int K, float[] params, Split split, int[] batch, int B, float[] grads, double[] losses) {
        WindTunnelSplit data = (WindTunnelSplit) split;
        int P = model.parameterCount();
        int chunk = chunkFor(B);
        int nChunks = (B + chunk - 1) / chunk;
        int frames = data.frames();
        double invB = 1.0 / B;
        List<Callable<ChunkGradient>> tasks = new ArrayList<>();
        for (int r = 0; r < K; r++) {
            for (int ci = 0; ci < nChunks; ci++) {
                final int rr = r, off = r * B + ci * chunk, n = Math.min(chunk, B - ci * chunk);
                tasks.add(() -> {
                    Rollout w = rollout(frames, chunk);
                    double loss = w.forward(params, rr * P, data, batch, off, n, true);
                    w.backward(params, rr * P, invB);
                    // the pressure net's weights follow the fan net's (pressureOffset = fanOffset + fan size)
                    float[] gNn = Arrays.copyOf(w.gFan, w.gFan.length + w.gPressure.length);
                    System.arraycopy(w.gPressure, 0, gNn, w.gFan.length, w.gPressure.length);
                    return new ChunkGradient(loss, w.gTheta.clone(), gNn);
                });
            }
        }
        ChunkGradient.sum(pool.runAll(tasks), K, nChunks, P, model.thetaSpec(), params, grads, losses, loss -> loss * invB);
    }

    @FunctionalInterface
    private interface ChunkSum {
        double over(Rollout w, int[] idx, int off, int n);
    }

    private double sumOverSplit(WindTunnelSplit data, ChunkSum f) {
        int chunk = chunkFor(Math.min(data.count(), MAX_CHUNK));
        return pool.sumOverSplit(data.count(), chunk, (idx, o, n) -> f.over(rollout(data.frames(), chunk), idx, o, n));
    }

    /** The loss of the class comment, averaged over every sequence of the split. */
    @Override
    public double meanSquaredError(float[] params, int pOff, Split split, boolean useNet) {
        WindTunnelSplit data = (WindTunnelSplit) split;
        return sumOverSplit(data, (w, idx, o, n) -> w.forward(params, pOff, data, idx, o, n, useNet)) / data.count();
    }

    @Override
    public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split split) {
        WindTunnelSplit data = (WindTunnelSplit) split;
        double share = sumOverSplit(data, (w, idx, o, n) -> w.networkShareSum(params, pOff, data, idx, o, n))
                / ((double) data.count() * data.frames());
        return new TrainingEngine.Metrics(meanSquaredError(params, pOff, data, true),
                meanSquaredError(params, pOff, data, false), share);
    }


    @Override
    public void close() {
        pool.close();
    }

    /**
     * One worker thread's workspace for a chunk of C sequences of T samples. Lanes: the fan
     * network runs on 2C lanes (lane j &lt; C: intake fan of sequence j; lane C + j: its exhaust
     * fan), the pressure network on C; every array is state-major (value v of lane c at v·lanes + c).
     */
    private static final class Rollout {
        private static final int SUB = WindTunnelHybrid.SUBSTEPS;
        private static final double WMAX = WindTunnelModel.OMEGA_MAX;

        final WindTunnelHybrid model;
        final int C, T, W;  // W = 2C fan lanes
        final CpuCorrector fanNet, pNet;
        final int fanTape, pTape;
        final double[] zStart;      // [(T-1)·SUB][W] state at the start of each RK4 step
        final double[] frameState;  // [T][W]
        final double[] loads;       // [T][W]: load of each fan lane at each sample
        final double[] hatch;       // [T][C]
        final double[] step;        // [T-1][C]: RK4 step h of each interval
        final double[] resW;        // [T][W] scaled ω residuals (frame 0 unused)
        final double[] resP;        // [T][C] scaled pressure residuals
        final float[] pIn, pTapes, pOut; // pressure net inputs [T][3][C], tapes [T], output [C]
        final float[] fIn, fTapes, fOut; // fan net inputs [4][2][W], tapes [4], output [W]
        final double[] z, y;
        final double[][] k = new double[4][], gk = new double[4][];
        final double[] gz, gy;
        final float[] gOutF, gInF, gOutP, gInP;
        final double[] gTheta = new double[2];
        final float[] gFan, gPressure;
        final double[] theta = new double[2];
        boolean useNet;
        int fanOff, pOff;

        Rollout(WindTunnelHybrid model, int frames, int chunk) {
            this.model = model;
            this.C = chunk;
            this.T = frames;
            this.W = 2 * chunk;
            fanNet = CpuCorrector.of(model.fan(), W);
            pNet = CpuCorrector.of(model.pressure(), C);
            fanTape = fanNet.tapeFloats();
            pTape = pNet.tapeFloats();
            zStart = new double[(T - 1) * SUB * W];
            frameState = new double[T * W];
            loads = new double[T * W];
            hatch = new double[T * C];
            step = new double[(T - 1) * C];
            resW = new double[T * W];
            resP = new double[T * C];
            pIn = new float[T * 3 * C];
            pTapes = new float[T * pTape];
            pOut = new float[C];
            fIn = new float[4 * 2 * W];
            fTapes = new float[4 * fanTape];
            fOut = new float[W];
            z = new double[W];
            y = new double[W];
            for (int j = 0; j < 4; j++) {
                k[j] = new double[W];
                gk[j] = new double[W];
            }
            gz = new double[W];
            gy = new double[W];
            gOutF = new float[W];
            gInF = new float[2 * W];
            gOutP = new float[C];
            gInP = new float[3 * C];
            gFan = new float[model.fan().parameterCount()];
            gPressure = new float[model.pressure().parameterCount()];
        }

        /** Reads θ, the offsets and the chunk's inputs; the initial state into z. */
        private void load(float[] params, int pBase, WindTunnelSplit data, int[] idx, int off, int n, boolean net) {
            ThetaSpec spec = model.thetaSpec();
            for (int i = 0; i < 2; i++) theta[i] = spec.toPhysical(i, params[pBase + i]);
            fanOff = pBase + model.fanOffset();
            pOff = pBase + model.pressureOffset();
            useNet = net;
            for (int c = 0; c < C; c++) {
                int s = idx[off + (c < n ? c : 0)];
                z[c] = data.obs(s, 0, 0);
                z[C + c] = data.obs(s, 0, 1);
                for (int f = 0; f < T; f++) {
                    loads[f * W + c] = data.input(s, f, 0);
                    loads[f * W + C + c] = data.input(s, f, 1);
                    hatch[f * C + c] = data.input(s, f, 2);
                    if (f < T - 1) step[f * C + c] = ((double) data.time(s, f + 1) - data.time(s, f)) / SUB;
                }
            }
        }

        /**
         * Rolls out sequences idx[off .. off+n) (n ≤ C; the other lanes repeat the first with
         * zero weight) and returns the sum of their losses (class comment). Keeps what
         * {@link #backward} needs.
         */
        double forward(float[] params, int pBase, WindTunnelSplit data, int[] idx, int off, int n, boolean net) {
            load(params, pBase, data, idx, off, n, net);
            double sqW = 0, sqP = 0;
            System.arraycopy(z, 0, frameState, 0, W);
            sqP += pressure(params, data, idx, off, n, 0);
            for (int f = 0; f < T - 1; f++) {
                for (int sub = 0; sub < SUB; sub++) {
                    System.arraycopy(z, 0, zStart, (f * SUB + sub) * W, W);
                    stages(params, f);
                    for (int j = 0; j < W; j++) {
                        double h = step[f * C + (j < C ? j : j - C)];
                        z[j] += h / 6 * (k[0][j] + 2 * k[1][j] + 2 * k[2][j] + k[3][j]);
                    }
                }
                int g = f + 1;
                System.arraycopy(z, 0, frameState, g * W, W);
                for (int c = 0; c < C; c++) {
                    int s = idx[off + (c < n ? c : 0)];
                    double ri = c < n ? (z[c] - data.obs(s, g, 0)) / WMAX : 0;
                    double ro = c < n ? (z[C + c] - data.obs(s, g, 1)) / WMAX : 0;
                    resW[g * W + c] = ri;
                    resW[g * W + C + c] = ro;
                    sqW += ri * ri + ro * ro;
                }
                sqP += pressure(params, data, idx, off, n, g);
            }
            return (sqW / (T - 1) + sqP / T) / 3;
        }

        /** The pressure prediction at sample f from frameState; its scaled residuals; returns Σ r². */
        private double pressure(float[] params, WindTunnelSplit data, int[] idx, int off, int n, int f) {
            int b = f * 3 * C;
            for (int c = 0; c < C; c++) {
                pIn[b + c] = (float) (frameState[f * W + c] / WMAX);
                pIn[b + C + c] = (float) (frameState[f * W + C + c] / WMAX);
                pIn[b + 2 * C + c] = (float) (hatch[f * C + c] / WindTunnelModel.HATCH_MAX);
            }
            if (useNet) pNet.forward(params, pOff, pIn, b, pTapes, f * pTape, pOut);
            double sq = 0;
            for (int c = 0; c < C; c++) {
                double p = WindTunnelModel.pressureC1(frameState[f * W + c], frameState[f * W + C + c]);
                if (useNet) p += WindTunnelHybrid.PRESSURE_SCALE * pOut[c];
                double r = c < n ? (p - data.obs(idx[off + c], f, 2)) / WindTunnelModel.S_MAX : 0;
                resP[f * C + c] = r;
                sq += r * r;
            }
            return sq;
        }

        /** The four stage derivatives k[0..3] of the RK4 step from z in interval f (inputs of sample f). */
        private void stages(float[] params, int f) {
            for (int j = 0; j < 4; j++) {
                if (j == 0) {
                    System.arraycopy(z, 0, y, 0, W);
                } else {
                    double[] prev = k[j - 1];
                    for (int i = 0; i < W; i++) {
                        double h = step[f * C + (i < C ? i : i - C)];
                        y[i] = z[i] + (j == 3 ? h : 0.5 * h) * prev[i];
                    }
                }
                field(params, f, j, y, k[j]);
            }
        }

        /** out = the hybrid fan field at y with the loads of sample f; the fan net's inputs and tape go to slot j. */
        private void field(float[] params, int f, int j, double[] yy, double[] out) {
            for (int i = 0; i < W; i++) {
                out[i] = WindTunnelModel.fanField(yy[i], loads[f * W + i], theta[0], theta[1]);
            }
            if (!useNet) return;
            int b = j * 2 * W;
            for (int i = 0; i < W; i++) {
                fIn[b + i] = (float) (yy[i] / WMAX);
                fIn[b + W + i] = (float) loads[f * W + i];
            }
            fanNet.forward(params, fanOff, fIn, b, fTapes, j * fanTape, fOut);
            for (int i = 0; i < W; i++) out[i] += WindTunnelHybrid.FAN_SCALE * fOut[i];
        }

        /**
         * Reverse pass of the last {@link #forward} (with the networks): the gradient of invB ×
         * the returned sum into {@link #gTheta} (physical θ), {@link #gFan} and {@link #gPressure}.
         */
        void backward(float[] params, int pBase, double invB) {
            if (!useNet) throw new IllegalStateException("backward needs a forward pass with the networks");
            fanNet.clearGradient();
            pNet.clearGradient();
            Arrays.fill(gTheta, 0);
            Arrays.fill(gz, 0);
            double cW = 2 * invB / (3.0 * (T - 1)) / WMAX;
            double cP = 2 * invB / (3.0 * T) / WindTunnelModel.S_MAX;
            for (int f = T - 1; f >= 1; f--) {
                for (int i = 0; i < W; i++) gz[i] += cW * resW[f * W + i];
                pressureBackward(params, f, cP);
                for (int sub = SUB - 1; sub >= 0; sub--) {
                    int fi = f - 1;
                    System.arraycopy(zStart, (fi * SUB + sub) * W, z, 0, W);
                    stages(params, fi);
                    for (int i = 0; i < W; i++) {
                        double h = step[fi * C + (i < C ? i : i - C)];
                        gk[0][i] = h / 6 * gz[i];
                        gk[1][i] = h / 3 * gz[i];
                        gk[2][i] = h / 3 * gz[i];
                        gk[3][i] = h / 6 * gz[i];
                    }
                    for (int j = 3; j >= 0; j--) {
                        stageInput(fi, j);
                        fieldVjp(params, fi, j, gk[j], gy);
                        for (int i = 0; i < W; i++) gz[i] += gy[i];
                        if (j > 0) {
                            for (int i = 0; i < W; i++) {
                                double h = step[fi * C + (i < C ? i : i - C)];
                                gk[j - 1][i] += (j == 3 ? h : 0.5 * h) * gy[i];
                            }
                        }
                    }
                }
            }
            pressureBackward(params, 0, cP);
            fanNet.reduce(gFan, 0);
            pNet.reduce(gPressure, 0);
        }

        /** y = the input of stage j of the step whose start is in z and stages in k. */
        private void stageInput(int f, int j) {
            if (j == 0) {
                System.arraycopy(z, 0, y, 0, W);
                return;
            }
            for (int i = 0; i < W; i++) {
                double h = step[f * C + (i < C ? i : i - C)];
                y[i] = z[i] + (j == 3 ? h : 0.5 * h) * k[j - 1][i];
            }
        }

        /** Adds the pressure loss's gradient at sample f to gz (f ≥ 1) and to the pressure net. */
        private void pressureBackward(float[] params, int f, double cP) {
            for (int c = 0; c < C; c++) gOutP[c] = (float) (WindTunnelHybrid.PRESSURE_SCALE * cP * resP[f * C + c]);
            pNet.backward(params, pOff, pIn, f * 3 * C, pTapes, f * pTape, gOutP, gInP);
            if (f == 0) return;  // the first speeds are observed, not predicted
            for (int c = 0; c < C; c++) {
                double gp = cP * resP[f * C + c];
                double wi = frameState[f * W + c], wo = frameState[f * W + C + c];
                gz[c] += gp * WindTunnelModel.pressureC1DIn(wi) + gInP[c] / WMAX;
                gz[C + c] += gp * WindTunnelModel.pressureC1DOut(wo) + gInP[C + c] / WMAX;
            }
        }

        /** out = (∂F/∂y)ᵀ g at stage j (input in y, net tape in slot j); adds θ's and the fan net's gradients. */
        private void fieldVjp(float[] params, int f, int j, double[] g, double[] out) {
            for (int i = 0; i < W; i++) gOutF[i] = (float) (WindTunnelHybrid.FAN_SCALE * g[i]);
            fanNet.backward(params, fanOff, fIn, j * 2 * W, fTapes, j * fanTape, gOutF, gInF);
            for (int i = 0; i < W; i++) {
                out[i] = WindTunnelModel.fanFieldVjp(y[i], loads[f * W + i], theta[1], g[i], gTheta) + gInF[i] / WMAX;
            }
        }

        /** Σ over sequences idx[off .. off+n) and their samples of the network share (class comment). */
        double networkShareSum(float[] params, int pBase, WindTunnelSplit data, int[] idx, int off, int n) {
            load(params, pBase, data, idx, off, n, true);
            double sum = 0;
            for (int f = 0; f < T; f++) {
                for (int c = 0; c < C; c++) {
                    int s = idx[off + (c < n ? c : 0)];
                    y[c] = data.obs(s, f, 0);
                    y[C + c] = data.obs(s, f, 1);
                    frameState[f * W + c] = y[c];
                    frameState[f * W + C + c] = y[C + c];
                }
                field(params, f, 0, y, k[0]);
                pressure(params, data, idx, off, n, f);
                for (int c = 0; c < n; c++) {
                    double si = WindTunnelModel.fanField(y[c], loads[f * W + c], theta[0], theta[1]);
                    double so = WindTunnelModel.fanField(y[C + c], loads[f * W + C + c], theta[0], theta[1]);
                    double ni = WindTunnelHybrid.FAN_SCALE * fOut[c], no = WindTunnelHybrid.FAN_SCALE * fOut[C + c];
                    double a = Math.sqrt(si * si + so * so), b = Math.sqrt(ni * ni + no * no);
                    double fan = a + b > 0 ? b / (a + b) : 0;
                    double ps = WindTunnelModel.pressureC1(y[c], y[C + c]);
                    double pn = WindTunnelHybrid.PRESSURE_SCALE * pOut[c];
                    double pres = Math.abs(ps) + Math.abs(pn) > 0 ? Math.abs(pn) / (Math.abs(ps) + Math.abs(pn)) : 0;
                    sum += 0.5 * (fan + pres);
                }
            }
            return sum;
        }
    }
}
