package hybridsam.cuda;

import hybridsam.model.OdeHybrid;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.RuleConfig;

import java.util.Optional;

/**
 * The launches of native-kernels/*.cu with their grids and argument lists, for K replicas of
 * one ODE hybrid. The training engine strings them into a step; the tests call them one by one
 * against the Java reference, so both exercise the same launch code.
 */
public final class StepKernels {
    /** Block size of the reduction kernels (HS_BLOCK in common.cuh). */
    public static final int BLOCK = KernelConstants.value("HS_BLOCK");
    /** Threads per block of the rollout: one sample each. */
    public static final int ROLLOUT_BLOCK = 64;
    /** Fields per replica in the rule table (HS_CFG_N in common.cuh). */
    public static final int CFG_N = KernelConstants.ruleField("N");
    /** Most partial sums per replica in a norm reduction. */
    static final int MAX_NORM_BLOCKS = 64;
    /** hs_norm_partial modes. */
    public static final int NORM_GRAD = 0, NORM_PERTURB = 1;
    static final int MAX_THETA = KernelConstants.value("HS_MAX_THETA"), STATE_DIM = KernelConstants.value("HS_D");
    /** Samples per block of hs_rollout_fused (HS_TILE in fused.cu). */
    public static final int TILE = 8;
    /** Widest hidden layer hs_rollout_fused takes (HS_FMAX in fused.cu). */
    public static final int FUSED_MAX_WIDTH = 128;

    /**
     * The gradient kernel. PER_THREAD: hs_rollout, one thread per (sample, replica), per-sample
     * gradients summed by hs_rowsum. FUSED: hs_rollout_fused, one block per (tile of {@link #TILE}
     * samples, replica) sharing the MLP's work, one gradient partial per tile summed by
     * hs_tilesum; MLPs with exactly two hidden layers of width at most {@link #FUSED_MAX_WIDTH}.
     */
    public enum Rollout {
        PER_THREAD, FUSED
    }

    /** Whether hs_rollout_fused implements this model's corrector. */
    public static boolean fusedSupports(OdeHybrid model) {
        if (!(model.corrector() instanceof hybridsam.model.MlpShape)) return false;
        int[] w = model.mlp().widths();
        // every activation has its HS_ id in common.cuh, which hs_act switches on
        return w.length == 4 && w[0] == STATE_DIM && w[3] == STATE_DIM && w[1] >= 1 && w[2] >= 1
                && w[1] <= FUSED_MAX_WIDTH && w[2] <= FUSED_MAX_WIDTH;
    }

    /** FUSED where it applies, else PER_THREAD. */
    public static Rollout defaultRollout(OdeHybrid model) {
        return fusedSupports(model) ? Rollout.FUSED : Rollout.PER_THREAD;
    }

    /** Threads per block of hs_rollout_fused: whole warps, one thread per hidden unit and per state component of the tile. */
    static int fusedBlock(OdeHybrid model) {
        int[] w = model.mlp().widths();
        int n = Math.max(Math.max(w[1], w[2]), 2 * TILE);
        return (n + 31) / 32 * 32;
    }

    /** Tiles of a batch of B samples. */
    public static int tiles(int B) {
        return (B + TILE - 1) / TILE;
    }

    private final Device dev;
    private final OdeHybrid model;
    private final int K, P, nTheta, modelId, activationId, layers;
    private final Rollout rollout;
    private final DeviceBuffer widths, thetaBox;

    public StepKernels(DeviceScope scope, OdeHybrid model, int K) {
        this(scope, model, K, defaultRollout(model));
    }

    public StepKernels(DeviceScope scope, OdeHybrid model, int K, Rollout rollout) {
        if (rollout == Rollout.FUSED && !fusedSupports(model)) {
            throw new IllegalArgumentException("the fused rollout takes an MLP 2-H1-H2-2 with H1, H2 <= "
                    + FUSED_MAX_WIDTH + ", not " + model.mlp().describe());
        }
        this.rollout = rollout;
        this.dev = scope.device();
        this.model = model;
        this.K = K;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        this.modelId = modelId(model);
        this.activationId = KernelConstants.activation(model.mlp().activation());
        this.layers = model.mlp().layers();
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        int[] w = model.mlp().widths();
        widths = scope.ints(w.length);
        dev.upload(widths, w);
        double[] box = thetaBox(model.science().theta());
        thetaBox = scope.doubles(box.length);
        dev.upload(thetaBox, box);
    }

    /**
     * Whether the MLP gradient programs (the rollout kernels of ode.cu and fused.cu, and
     * {@link LayerwiseGradient}) implement this model: empty when they do, else the reason.
     */
    public static Optional<String> supports(OdeHybrid model) {
        if (!(model.corrector() instanceof hybridsam.model.MlpShape)) {
            return Optional.of("the MLP gradient kernels run MLP correctors, not " + model.corrector().describe());
        }
        if (model.stateDim() != STATE_DIM || model.thetaCount() > MAX_THETA) {
            return Optional.of("the CUDA kernels take a 2-dimensional state and at most " + MAX_THETA + " theta values");
        }
        if (!(model.science() instanceof PendulumModel) && !(model.science() instanceof DuffingModel)) {
            return Optional.of("the CUDA backend implements the pendulum and duffing models, not "
                    + model.science().getClass().getSimpleName());
        }
        return Optional.empty();
    }

    /** The kernels' id of the scientific model (HS_PENDULUM, HS_DUFFING); refuses models they do not implement. */
    public static int modelId(OdeHybrid model) {
        supports(model).ifPresent(why -> {
            throw new IllegalArgumentException(why);
        });
        return KernelConstants.value(model.science() instanceof PendulumModel ? "HS_PENDULUM" : "HS_DUFFING");
    }

    /**
     * The rule kernels alone (l2, fsam, norms, perturb, restore, Adam, loss) for K replicas of P
     * parameters, for an engine whose gradient runs elsewhere ({@link ConvOdeGradient}): no
     * rollout, so {@link #gradient} and {@link #rolloutLoss} refuse and {@link #rollout} is null.
     */
    static StepKernels rulesOnly(DeviceScope scope, int K, int P, int nTheta) {
        return new StepKernels(scope.device(), K, P, nTheta);
    }

    private StepKernels(Device dev, int K, int P, int nTheta) {
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        this.dev = dev;
        this.model = null;
        this.K = K;
        this.P = P;
        this.nTheta = nTheta;
        this.modelId = -1;
        this.activationId = -1;
        this.layers = 0;
        this.rollout = null;
        this.widths = null;
        this.thetaBox = null;
    }

    /** Floats of rollout workspace per sample and replica (hs_rollout's W). */
    public static long workspacePerSample(OdeHybrid model, int frames) {
        int[] w = model.mlp().widths();
        int hidden = model.mlp().hiddenUnits(), maxW = model.mlp().maxWidth();
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        return steps * 4 * (w[0] + hidden) + (long) (frames - 1) * w[0] + 2L * maxW;
    }

    /** Floats of rollout workspace (ws) for K replicas and batch size B. */
    public static long workspaceFloats(Rollout rollout, OdeHybrid model, int K, int B, int frames) {
        if (rollout == Rollout.PER_THREAD) return (long) K * B * workspacePerSample(model, frames);
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        return (long) K * tiles(B) * TILE * STATE_DIM * (steps * 4 + frames - 1);
    }

    /** Floats of unreduced gradients (per sample, or per tile) for K replicas and batch size B. */
    public static long gradientRowsFloats(Rollout rollout, OdeHybrid model, int K, int B) {
        return (long) K * lossRows(rollout, B) * model.parameterCount();
    }

    /** Squared-error partials per replica (sq holds K times as many doubles): samples or tiles. */
    public static int lossRows(Rollout rollout, int B) {
        return rollout == Rollout.PER_THREAD ? B : tiles(B);
    }

    /** The gradient kernel; null for {@link #rulesOnly}. */
    public Rollout rollout() {
        return rollout;
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
            t[o + KernelConstants.ruleField("METHOD")] = KernelConstants.method(c.method());
            t[o + KernelConstants.ruleField("PERTURB_OFF")] = c.perturbAll() ? 0 : nTheta;
            t[o + KernelConstants.ruleField("GRAD_FROM")] = c.thetaGradClean() ? nTheta : 0;
            t[o + KernelConstants.ruleField("RHO")] = c.rho();
            t[o + KernelConstants.ruleField("SIGMA")] = c.sigma();
            t[o + KernelConstants.ruleField("LAMBDA")] = c.lambda();
            t[o + KernelConstants.ruleField("ETA")] = c.eta();
            t[o + KernelConstants.ruleField("L2")] = c.l2();
            t[o + KernelConstants.ruleField("CLIP")] = c.clip();
            t[o + KernelConstants.ruleField("LR_THETA")] = c.lrTheta();
            t[o + KernelConstants.ruleField("LR_NN")] = c.lrNn();
            t[o + KernelConstants.ruleField("DECAY")] = c.weightDecay();
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
     * Loss and gradient of every replica's minibatch: the rollout with its exact backward, the
     * fixed-order sum of the partial gradients, and the chain rule through θ's transform. ws holds
     * {@link #workspaceFloats} floats, gs {@link #gradientRowsFloats} floats, sq K · {@link #lossRows}
     * doubles (the squared errors that {@link #rolloutLoss} sums), grad K · P floats.
     */
    public void gradient(DeviceBuffer params, DeviceBuffer obs, int frames, DeviceBuffer batch, int B,
                         DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq, DeviceBuffer grad) {
        if (rollout == null) throw new IllegalStateException("these step kernels have no rollout (rule kernels only)");
        if (rollout == Rollout.FUSED) {
            int tiles = tiles(B);
            dev.launch("hs_rollout_fused", tiles, K, 1, fusedBlock(model), 1, 1, 0, KernelArgs.of()
                    .i(modelId).i(activationId).ptr(widths).i(nTheta).ptr(thetaBox).i(P).ptr(params)
                    .ptr(obs).i(frames).ptr(batch).i(B).f((float) model.h()).i(model.stepsPerFrame())
                    .f(lossWeight(model, B, frames)).ptr(ws).ptr(gs).ptr(sq));
            dev.launch("hs_tilesum", blocks(P, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                    .ptr(gs).i(tiles).i(P).ptr(grad));
        } else {
            perThreadRollout(params, obs, frames, batch, B, ws, gs, sq);
            rowSum(gs, B, grad, (long) K * P);
        }
        dev.launch("hs_theta_chain", blocks((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
    }

    /** loss[r] = weight · Σ of the squared errors that {@link #gradient} left in sq for batch size B. */
    public void rolloutLoss(DeviceBuffer sq, int B, int frames, DeviceBuffer loss) {
        if (rollout == null) throw new IllegalStateException("these step kernels have no rollout (rule kernels only)");
        loss(sq, lossRows(rollout, B), lossWeight(model, B, frames), loss);
    }

    private void perThreadRollout(DeviceBuffer params, DeviceBuffer obs, int frames, DeviceBuffer batch, int B,
                                  DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq) {
        dev.launch("hs_rollout", blocks(B, ROLLOUT_BLOCK), K, 1, ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of()
                .i(modelId).i(activationId).i(layers).ptr(widths).i(nTheta).ptr(thetaBox).i(P).ptr(params)
                .ptr(obs).i(frames).ptr(batch).i(B).f((float) model.h()).i(model.stepsPerFrame())
                .f(lossWeight(model, B, frames)).ptr(ws).ptr(gs).ptr(sq));
    }

    /** out[row] = Σ_j in[row · n + j] for rows rows. */
    public void rowSum(DeviceBuffer in, int n, DeviceBuffer out, long rows) {
        dev.launch("hs_rowsum", blocks(rows, BLOCK), 1, 1, BLOCK, 1, 1, 0, KernelArgs.of().ptr(in).i(n).l(rows).ptr(out));
    }

    /** loss[r] = weight · Σ_b sq[r · B + b] (B rows per replica). */
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

    /** θ's box as the kernels read it: (lo, hi, 1 if log-scale else 0) per component. */
    static double[] thetaBox(hybridsam.model.ThetaSpec spec) {
        double[] box = new double[3 * spec.size()];
        for (int i = 0; i < spec.size(); i++) {
            box[3 * i] = spec.lo()[i];
            box[3 * i + 1] = spec.hi()[i];
            box[3 * i + 2] = spec.logScale()[i] ? 1 : 0;
        }
        return box;
    }
}
