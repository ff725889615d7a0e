package hybridsam.cuda;

import hybridsam.model.OdeHybrid;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.RuleConfig;

/**
 * The launches of native-kernels/*.cu with their grids and argument lists, for K replicas of
 * one ODE hybrid. The training engine strings them into a step; the tests call them one by one
 * against the Java reference, so both exercise the same launch code.
 */
public final class StepKernels {
    /** Block size of the reduction kernels (HS_BLOCK in common.cuh). */
    public static final int BLOCK = 256;
    /** Threads per block of the rollout: one sample each. */
    public static final int ROLLOUT_BLOCK = 64;
    /** Fields per replica in the rule table (HS_CFG_N in common.cuh). */
    public static final int CFG_N = 12;
    /** Most partial sums per replica in a norm reduction. */
    static final int MAX_NORM_BLOCKS = 64;
    /** hs_norm_partial modes. */
    public static final int NORM_GRAD = 0, NORM_PERTURB = 1;
    static final int MAX_THETA = 4, STATE_DIM = 2;

    private final Device dev;
    private final OdeHybrid model;
    private final int K, P, nTheta, modelId, activationId, layers;
    private final DeviceBuffer widths, thetaBox;

    public StepKernels(DeviceScope scope, OdeHybrid model, int K) {
        this.dev = scope.device();
        this.model = model;
        this.K = K;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        this.modelId = modelId(model);
        this.activationId = model.corrector().activation().ordinal();
        this.layers = model.corrector().layers();
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        int[] w = model.corrector().widths();
        widths = scope.ints(w.length);
        dev.upload(widths, w);
        double[] box = new double[3 * nTheta];
        var spec = model.science().theta();
        for (int i = 0; i < nTheta; i++) {
            box[3 * i] = spec.lo()[i];
            box[3 * i + 1] = spec.hi()[i];
            box[3 * i + 2] = spec.logScale()[i] ? 1 : 0;
        }
        thetaBox = scope.doubles(box.length);
        dev.upload(thetaBox, box);
    }

    /** The kernels' id of the scientific model; refuses models they do not implement. */
    public static int modelId(OdeHybrid model) {
        if (model.stateDim() != STATE_DIM || model.thetaCount() > MAX_THETA) {
            throw new IllegalArgumentException("the CUDA kernels take a 2-dimensional state and at most "
                    + MAX_THETA + " theta values");
        }
        if (model.science() instanceof PendulumModel) return 0;
        if (model.science() instanceof DuffingModel) return 1;
        throw new IllegalArgumentException("the CUDA backend implements the pendulum and duffing models, not "
                + model.science().getClass().getSimpleName());
    }

    /** Floats of rollout workspace per sample and replica (hs_rollout's W). */
    public static long workspacePerSample(OdeHybrid model, int frames) {
        int[] w = model.corrector().widths();
        int hidden = model.corrector().hiddenUnits(), maxW = model.corrector().maxWidth();
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        return steps * 4 * (w[0] + hidden) + (long) (frames - 1) * w[0] + 2L * maxW;
    }

    /** The loss weight 1 / (B · (frames - 1) · D), rounded as the CPU backend rounds it. */
    public static float lossWeight(OdeHybrid model, int B, int frames) {
        return (float) (1.0 / ((double) B * (frames - 1) * model.stateDim()));
    }

    /** Per-replica rule configuration as the kernels read it (cfg[r * CFG_N + field]). */
    public static double[] ruleTable(RuleConfig[] rules, int nTheta) {
        double[] t = new double[rules.length * CFG_N];
        for (int r = 0; r < rules.length; r++) {
            RuleConfig c = rules[r];
            int o = r * CFG_N;
            t[o] = c.method().ordinal();
            t[o + 1] = c.perturbAll() ? 0 : nTheta;
            t[o + 2] = c.thetaGradClean() ? nTheta : 0;
            t[o + 3] = c.rho();
            t[o + 4] = c.sigma();
            t[o + 5] = c.lambda();
            t[o + 6] = c.eta();
            t[o + 7] = c.l2();
            t[o + 8] = c.clip();
            t[o + 9] = c.lrTheta();
            t[o + 10] = c.lrNn();
            t[o + 11] = c.weightDecay();
        }
        return t;
    }

    public int normBlocks() {
        return Math.max(1, Math.min(MAX_NORM_BLOCKS, (P + BLOCK - 1) / BLOCK));
    }

    private static int blocks(long n, int block) {
        long g = (n + block - 1) / block;
        if (g > Integer.MAX_VALUE) throw new IllegalArgumentException("grid too large: " + g + " blocks");
        return (int) Math.max(1, g);
    }

    /**
     * Loss and gradient of every replica's minibatch: the rollout with its exact backward (per
     * sample), the fixed-order sum over samples, and the chain rule through θ's transform.
     * ws holds K · W · B floats, gs K · P · B floats, sq K · B doubles, grad K · P floats.
     */
    public void gradient(DeviceBuffer params, DeviceBuffer obs, int frames, DeviceBuffer batch, int B,
                         DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq, DeviceBuffer grad) {
        dev.launch("hs_rollout", blocks(B, ROLLOUT_BLOCK), K, 1, ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of()
                .i(modelId).i(activationId).i(layers).ptr(widths).i(nTheta).ptr(thetaBox).i(P).ptr(params)
                .ptr(obs).i(frames).ptr(batch).i(B).f((float) model.h()).i(model.stepsPerFrame())
                .f(lossWeight(model, B, frames)).ptr(ws).ptr(gs).ptr(sq));
        rowSum(gs, B, grad, (long) K * P);
        dev.launch("hs_theta_chain", blocks((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
    }

    /** out[row] = Σ_j in[row · n + j] for rows rows. */
    public void rowSum(DeviceBuffer in, int n, DeviceBuffer out, long rows) {
        dev.launch("hs_rowsum", blocks(rows, BLOCK), 1, 1, BLOCK, 1, 1, 0, KernelArgs.of().ptr(in).i(n).l(rows).ptr(out));
    }

    /** loss[r] = weight · Σ_b sq[r · B + b]. */
    public void loss(DeviceBuffer sq, int B, float weight, DeviceBuffer loss) {
        dev.launch("hs_loss", blocks(K, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of().i(K).i(B).f(weight).ptr(sq).ptr(loss));
    }

    /**
     * The loss tally of one step (hs_loss_tally), launched right after {@link #loss}: when on[0] is
     * not 0, sum[r] += loss[r] · B, bad[r] = steps[0] + 1 where loss[r] is the first non-finite
     * loss of replica r, and steps[0] += 1. One block, replicas strided over it, since every
     * replica reads the step counter before it advances.
     */
    public void lossTally(int B, DeviceBuffer on, DeviceBuffer loss, DeviceBuffer sum, DeviceBuffer bad, DeviceBuffer steps) {
        dev.launch("hs_loss_tally", 1, 1, 1, tallyBlock(K), 1, 1, 0, KernelArgs.of()
                .i(K).i(B).ptr(on).ptr(loss).ptr(sum).ptr(bad).ptr(steps));
    }

    /** Threads of hs_loss_tally's one block: whole warps enough for K replicas, BLOCK at most. */
    static int tallyBlock(int K) {
        return Math.min(BLOCK, (K + 31) / 32 * 32);
    }

    public void l2Add(DeviceBuffer cfg, DeviceBuffer params, DeviceBuffer grad) {
        dev.launch("hs_l2_add", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(P).i(nTheta).ptr(cfg).ptr(params).ptr(grad));
    }

    public void fsamDirection(DeviceBuffer cfg, DeviceBuffer step, DeviceBuffer grad, DeviceBuffer avg, DeviceBuffer eps) {
        dev.launch("hs_fsam_direction", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(P).ptr(cfg).ptr(step).ptr(grad).ptr(avg).ptr(eps));
    }

    /** norm[r] per mode (NORM_GRAD, NORM_PERTURB); partial holds K · normBlocks() doubles. */
    public void norm(int mode, DeviceBuffer cfg, DeviceBuffer grad, DeviceBuffer eps, DeviceBuffer params,
                     DeviceBuffer partial, DeviceBuffer norm) {
        int nb = normBlocks();
        dev.launch("hs_norm_partial", nb, K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(mode).i(P).ptr(cfg).ptr(grad).ptr(eps).ptr(params).ptr(partial));
        dev.launch("hs_norm_finish", blocks(K, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(nb).ptr(partial).ptr(norm));
    }

    public void perturb(DeviceBuffer cfg, DeviceBuffer norm, DeviceBuffer grad, DeviceBuffer eps,
                        DeviceBuffer params, DeviceBuffer saved) {
        dev.launch("hs_perturb", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(P).ptr(cfg).ptr(norm).ptr(grad).ptr(eps).ptr(params).ptr(saved));
    }

    public void restore(DeviceBuffer cfg, DeviceBuffer saved, DeviceBuffer grad2, DeviceBuffer params, DeviceBuffer grad) {
        dev.launch("hs_restore", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(P).ptr(cfg).ptr(saved).ptr(grad2).ptr(params).ptr(grad));
    }

    public void adam(DeviceBuffer cfg, DeviceBuffer gradNorm, DeviceBuffer step, DeviceBuffer params,
                     DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) {
        dev.launch("hs_adam", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(P).i(nTheta).ptr(cfg).ptr(gradNorm).ptr(step).ptr(params).ptr(grad).ptr(m).ptr(v));
    }

    public void stepAdvance(DeviceBuffer step) {
        dev.launch("hs_step_advance", 1, 1, 1, 1, 1, 1, 0, KernelArgs.of().ptr(step));
    }
}
