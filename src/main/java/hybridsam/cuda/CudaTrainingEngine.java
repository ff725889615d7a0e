package hybridsam.cuda;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.ConvShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.train.LossTally;
import hybridsam.train.Method;
import hybridsam.train.OptimizerState;
import hybridsam.train.RuleConfig;
import hybridsam.train.TrainingEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The rules of method.md §2 for an ODE hybrid (pendulum, duffing with an MLP corrector;
 * reaction-diffusion with a convolutional one) with every step on a {@link Device}. The gradient
 * program is chosen by capability ({@link #supports}): the rollout kernels or
 * {@link LayerwiseGradient} for MLP correctors, {@link ConvOdeGradient} for convolutional ones;
 * the rule kernels after it are the same for all. Parameters, Adam's moments, fsam's average,
 * gradients, norms and ε stay in device buffers with a leading replica dimension; norms are
 * reduced on the device and read there by the perturb and clip kernels; fsam's first step is told by a device-side step count.
 * The step is captured once per batch size as a graph and replayed; before each replay only
 * the minibatch indices are copied to their fixed buffer. The loss comes back only when asked
 * for: {@link #step} reads it, {@link #advance} does not; the steps advanced add their losses to
 * a device-side tally (hs_loss_tally, inside the graph) that {@link #drainLosses} reads, the one
 * host round trip of training.
 *
 * <p>Graphs are kept per batch size (a trainer uses two: the full batch and the smaller last one
 * of an epoch). They share the rollout workspace when an earlier one is large enough, so the
 * usual full-then-last order costs no workspace beyond the full batch's.
 *
 * <p>Evaluation ({@link #evaluate}, {@link #mse}) runs on the CPU backend: it takes parameters
 * from the host anyway and is not on the training path.
 */
public final class CudaTrainingEngine implements TrainingEngine {
    private final Device dev;
    private final OdeHybrid model;
    private final Sequences train;
    private final int K, P, nTheta;
    private final boolean anyPerturbs, anyL2, anyFsam;
    private final DeviceScope scope;
    private final StepKernels kernels;
    private final DeviceBuffer params, adamM, adamV, avg, grad, grad2, eps, saved, cfg, obs, loss,
            partial, perturbNorm, gradNorm, stepCount;
    private final CpuOdeBackend evaluator;
    private final DeviceLossTally tally;
    /** Most batch sizes with a captured graph; one more drops them all and starts over. */
    static final int MAX_GRAPHS = 8;
    /** Owns the graphs, their batch buffers and the workspaces; closed (and renewed) as a whole. */
    private DeviceScope cacheScope;
    private final Map<Integer, Captured> graphs = new HashMap<>();
    private final List<Workspace> workspaces = new ArrayList<>();
    private int captures;
    private Captured current;
    private JCudaDevice ownedDevice;
    /** The layer-wise gradient path (CUBLAS, CUDNN, or KERNELS through KernelDenseOps in tests); null: the rollout kernels. */
    private final LayerwiseGradient layerwise;
    /** The convolutional gradient program (a ConvShape corrector on reaction-diffusion); null for MLP correctors. */
    private final ConvOdeGradient convolutional;
    private final NnEngine nnEngine;

    /** An engine on GPU `ordinal` that owns its device: closing the engine releases the GPU. */
    public static CudaTrainingEngine onGpu(int ordinal, OdeHybrid model, Sequences train, RuleConfig[] rules,
                                           float[] initialParams) {
        return onGpu(ordinal, model, train, rules, initialParams, NnEngine.KERNELS);
    }

    /** As {@link #onGpu(int, OdeHybrid, Sequences, RuleConfig[], float[])} with the corrector on the given engine. */
    public static CudaTrainingEngine onGpu(int ordinal, OdeHybrid model, Sequences train, RuleConfig[] rules,
                                           float[] initialParams, NnEngine engine) {
        JCudaDevice device = JCudaDevice.open(ordinal);
        try {
            CudaTrainingEngine e = new CudaTrainingEngine(device, model, train, rules, initialParams, engine);
            e.ownedDevice = device;
            return e;
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    public CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams) {
        this(device, model, train, rules, initialParams, NnEngine.KERNELS);
    }

    /** An engine whose gradients run through the given rollout kernel (FUSED only where it applies). */
    public CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                              StepKernels.Rollout rollout) {
        this(device, model, train, rules, initialParams, rollout, null, null, NnEngine.KERNELS);
    }

    /**
     * An engine whose corrector runs on the given engine. An MLP corrector: KERNELS, the default
     * rollout kernel; CUBLAS and CUDNN, the layer-wise path through cuBLAS or cuDNN (a
     * {@link JCudaDevice} whose JCublas / JCudnn loads). A convolutional corrector
     * ({@link ConvOdeGradient}): KERNELS, the project's convolution kernels; CUDNN, cuDNN's;
     * CUBLAS is refused. Refusals are ConfigExceptions naming the reason.
     */
    public CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                              NnEngine engine) {
        // the inputs are checked before a library handle is made, so that a refusal leaks none
        this(device, checked(model, train, rules, initialParams), train, rules, initialParams,
                StepKernels.defaultRollout(model), denseFor(engine, device, model), convFor(engine, device, model), engine);
    }

    /** Whether the engine can run the model with this corrector engine: empty, or the reason it cannot. */
    public static Optional<String> supports(OdeHybrid model, NnEngine engine) {
        Optional<String> why = supports(model);
        if (why.isPresent()) return why;
        if (model.corrector() instanceof ConvShape && engine == NnEngine.CUBLAS) {
            return Optional.of("cublas has no convolutions; use --nn-engine kernels or cudnn");
        }
        return Optional.empty();
    }

    /**
     * Whether some gradient program of this backend runs the model (the MLP kernels or the
     * convolutional program): empty when one does, else both programs' reasons.
     */
    public static Optional<String> supports(OdeHybrid model) {
        Optional<String> mlp = StepKernels.supports(model), grid = ConvOdeGradient.supports(model);
        if (mlp.isEmpty() || grid.isEmpty()) return Optional.empty();
        return Optional.of(model.corrector() instanceof ConvShape ? grid.get() : mlp.get());
    }

    private static OdeHybrid checked(OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams) {
        supports(model).ifPresent(why -> {
            throw new IllegalArgumentException(why);
        });
        if (initialParams.length != rules.length * model.parameterCount()) {
            throw new IllegalArgumentException("expected " + rules.length + " x " + model.parameterCount() + " parameters, got "
                    + initialParams.length);
        }
        if (train.dim() != model.stateDim()) throw new IllegalArgumentException("data and model differ in state dimension");
        return model;
    }

    /** The layer-wise path with the given dense layers (owned: closed with the engine); for tests with KernelDenseOps. */
    CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                       DenseOps dense) {
        this(device, model, train, rules, initialParams, StepKernels.Rollout.PER_THREAD, dense, null, NnEngine.KERNELS);
    }

    /** The convolutional path with the given convolutions (owned: closed with the engine); for tests. */
    CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                       ConvOps conv) {
        this(device, model, train, rules, initialParams, null, null, conv, NnEngine.KERNELS);
    }

    /** The convolutions of a convolutional corrector's engine; null for a model the MLP programs run. */
    private static ConvOps convFor(NnEngine engine, Device device, OdeHybrid model) {
        if (ConvOdeGradient.supports(model).isPresent()) return null;
        switch (engine) {
            case KERNELS:
                return new KernelConvOps(device);
            case CUBLAS:
                throw new hybridsam.io.ConfigException("--nn-engine cublas: cublas has no convolutions; use --nn-engine kernels or cudnn");
            default: {
                if (!(device instanceof JCudaDevice jd)) {
                    throw new hybridsam.io.ConfigException("--nn-engine cudnn: needs a real GPU, not " + device.describe());
                }
                NnEngines.Availability a = NnEngines.standard().probe(NnEngine.CUDNN);
                if (!a.loaded()) throw new hybridsam.io.ConfigException("--nn-engine cudnn: not available: " + a.detail());
                return new CudnnConvOps(jd);
            }
        }
    }

    /** The dense layers of an MLP corrector's layer-wise path; null for the rollout kernels and for convolutional correctors. */
    private static DenseOps denseFor(NnEngine engine, Device device, OdeHybrid model) {
        if (StepKernels.supports(model).isPresent()) return null;
        switch (engine) {
            case KERNELS:
                return null;
            case CUBLAS: {
                if (!(device instanceof JCudaDevice jd)) {
                    throw new hybridsam.io.ConfigException("--nn-engine cublas: needs a real GPU, not " + device.describe());
                }
                NnEngines.Availability a = NnEngines.standard().probe(NnEngine.CUBLAS);
                if (!a.loaded()) throw new hybridsam.io.ConfigException("--nn-engine cublas: not available: " + a.detail());
                return CublasDenseOps.create(jd);
            }
            default: {
                if (!(device instanceof JCudaDevice jd)) {
                    throw new hybridsam.io.ConfigException("--nn-engine cudnn: needs a real GPU, not " + device.describe());
                }
                NnEngines.Availability a = NnEngines.standard().probe(NnEngine.CUDNN);
                if (!a.loaded()) throw new hybridsam.io.ConfigException("--nn-engine cudnn: not available: " + a.detail());
                return CudnnDenseOps.create(jd);
            }
        }
    }

    private CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                               StepKernels.Rollout rollout, DenseOps dense, ConvOps conv, NnEngine nnEngine) {
        this.dev = device;
        this.nnEngine = nnEngine;
        this.model = model;
        this.train = train;
        this.K = rules.length;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        // exactly one gradient program: the convolutional one when given its convolutions, else the MLP kernels
        if (conv != null) ConvOdeGradient.grid(model);
        else StepKernels.modelId(model);
        if (initialParams.length != K * P) {
            throw new IllegalArgumentException("expected " + K + " x " + P + " parameters, got " + initialParams.length);
        }
        if (train.dim() != model.stateDim()) throw new IllegalArgumentException("data and model differ in state dimension");
        anyPerturbs = Arrays.stream(rules).anyMatch(r -> r.method().perturbs());
        anyL2 = Arrays.stream(rules).anyMatch(r -> r.method() == Method.L2);
        anyFsam = Arrays.stream(rules).anyMatch(r -> r.method() == Method.FSAM);
        long n = (long) K * P;
        DeviceScope s = new DeviceScope(device);
        if (dense != null) s.own(dense);
        if (conv != null) s.own(conv);
        try {
            kernels = conv != null ? StepKernels.rulesOnly(s, K, P, nTheta) : new StepKernels(s, model, K, rollout);
            layerwise = dense == null ? null : new LayerwiseGradient(s, model, K, dense);
            convolutional = conv == null ? null : new ConvOdeGradient(s, ConvOdeGradient.grid(model), K, conv);
            params = s.floats(n);
            adamM = s.floats(n);
            adamV = s.floats(n);
            avg = s.floats(n);
            grad = s.floats(n);
            grad2 = s.floats(n);
            eps = s.floats(n);
            saved = s.floats(n);
            cfg = s.doubles((long) K * StepKernels.CFG_N);
            obs = s.floats(train.obs().length);
            loss = s.doubles(K);
            partial = s.doubles((long) K * kernels.normBlocks());
            perturbNorm = s.doubles(K);
            gradNorm = s.doubles(K);
            stepCount = s.ints(1);
            tally = new DeviceLossTally(s, kernels, K);
            device.upload(cfg, StepKernels.ruleTable(rules, nTheta));
            device.upload(obs, train.obs());
            load(OptimizerState.fresh(initialParams));
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        scope = s;
        cacheScope = new DeviceScope(device);
        evaluator = new CpuOdeBackend(model, Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    @Override
    public String describe() {
        String on = layerwise != null ? layerwise.dense().describe() : convolutional != null ? convolutional.conv().describe() : null;
        return "cuda (" + dev.describe() + (on == null ? "" : ", corrector on " + on) + ")";
    }

    /** The corrector engine this engine was made with. */
    public NnEngine nnEngine() {
        return nnEngine;
    }

    /** Whether the gradients run through the layer-wise path (dense layers through a {@link DenseOps}). */
    public boolean layerwise() {
        return layerwise != null;
    }

    @Override
    public int replicas() {
        return K;
    }

    /** Bytes of device memory a step needs for batch size B, beyond the parameter-sized buffers (default program). */
    public static long batchBytes(OdeHybrid model, int K, int B, int frames) {
        if (ConvOdeGradient.supports(model).isEmpty()) return convolutionalBatchBytes(model, K, B, frames);
        return batchBytes(StepKernels.defaultRollout(model), model, K, B, frames);
    }

    /** Bytes of device memory a step needs for batch size B with the given rollout kernel. */
    public static long batchBytes(StepKernels.Rollout rollout, OdeHybrid model, int K, int B, int frames) {
        return 4L * (StepKernels.workspaceFloats(rollout, model, K, B, frames)
                + StepKernels.gradientRowsFloats(rollout, model, K, B) + (long) K * B)
                + 8L * K * StepKernels.lossRows(rollout, B);
    }

    /** Bytes of device memory a step of the layer-wise path (cuBLAS, cuDNN) needs for batch size B. */
    public static long layerwiseBatchBytes(OdeHybrid model, int K, int B, int frames) {
        return 4L * (LayerwiseGradient.workspaceFloats(model, K, B, frames) + 1 + (long) K * B) + 8L * K * B;
    }

    /** Whether the gradients run through the convolutional program ({@link ConvOdeGradient}). */
    public boolean convolutional() {
        return convolutional != null;
    }

    /** Bytes of device memory a step of the convolutional path needs for batch size B. */
    public static long convolutionalBatchBytes(OdeHybrid model, int K, int B, int frames) {
        return 4L * (ConvOdeGradient.workspaceFloats(ConvOdeGradient.grid(model), K, B, frames) + 1 + (long) K * B) + 8L * K * B;
    }

    /** The gradient kernel this engine runs; null on the convolutional path. */
    public StepKernels.Rollout rollout() {
        return kernels.rollout();
    }

    /** A step's graph for one batch size, and the buffer its minibatch indices are copied to. */
    private record Captured(int B, DeviceBuffer batch, StepGraph graph) {
    }

    /** Rollout workspace for batch sizes up to B (the rollout's ws, unreduced gradients, squared errors). */
    private record Workspace(int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq) {
    }

    /** Graphs captured since the engine was made (for tests: each batch size once). */
    int graphsCaptured() {
        return captures;
    }

    private void prepare(int B) {
        if (current != null && current.B() == B) return;
        Captured c = graphs.get(B);
        if (c == null) {
            if (graphs.size() >= MAX_GRAPHS) dropGraphs();
            c = capture(B);
        }
        current = c;
    }

    private Captured capture(int B) {
        Workspace w = null;
        for (Workspace x : workspaces) if (x.B() >= B && (w == null || x.B() < w.B())) w = x;
        int frames = train.frames();
        DeviceBuffer b = cacheScope.ints((long) K * B);
        if (w == null && layerwise != null) {
            w = new Workspace(B, cacheScope.floats(LayerwiseGradient.workspaceFloats(model, K, B, frames)),
                    cacheScope.floats(1), cacheScope.doubles((long) K * B));
            workspaces.add(w);
        } else if (w == null && convolutional != null) {
            w = new Workspace(B, cacheScope.floats(ConvOdeGradient.workspaceFloats(convolutional.model(), K, B, frames)),
                    cacheScope.floats(1), cacheScope.doubles((long) K * B));
            workspaces.add(w);
        } else if (w == null) {
            StepKernels.Rollout ro = kernels.rollout();
            w = new Workspace(B, cacheScope.floats(StepKernels.workspaceFloats(ro, model, K, B, frames)),
                    cacheScope.floats(StepKernels.gradientRowsFloats(ro, model, K, B)),
                    cacheScope.doubles((long) K * StepKernels.lossRows(ro, B)));
            workspaces.add(w);
        }
        Workspace ws = w;
        if ((layerwise != null && !(layerwise.dense() instanceof KernelDenseOps))
                || (convolutional != null && !(convolutional.conv() instanceof KernelConvOps))) {
            // one gradient outside the capture (into the scratch grad2, on valid indices), so that a
            // library's first calls (its module loading, lazy set-up) do not happen inside it
            dev.upload(b, new int[K * B]);
            gradient(B, b, ws, grad2);
        }
        StepGraph g = cacheScope.own(dev.capture(() -> enqueueStep(B, b, ws)));
        captures++;
        Captured c = new Captured(B, b, g);
        graphs.put(B, c);
        return c;
    }

    /** Frees every graph and workspace (what a failed allocation or capture left too). */
    private void dropGraphs() {
        graphs.clear();
        workspaces.clear();
        current = null;
        DeviceScope old = cacheScope;
        cacheScope = new DeviceScope(dev);
        old.close();
    }

    /** One step of every replica's rule, in method.md §2's order, as device launches only. */
    private void enqueueStep(int B, DeviceBuffer batch, Workspace w) {
        int frames = train.frames();
        DeviceBuffer sq = w.sq();
        gradient(B, batch, w, grad);
        if (layerwise != null) kernels.loss(sq, B, StepKernels.lossWeight(model, B, frames), loss);
        else if (convolutional != null) kernels.loss(sq, B, ConvOdeGradient.lossWeight(convolutional.model(), B, frames), loss);
        else kernels.rolloutLoss(sq, B, frames, loss);
        tally.enqueue(loss, B);
        if (anyL2) kernels.l2Add(cfg, params, grad);
        if (anyPerturbs) {
            if (anyFsam) kernels.fsamDirection(cfg, stepCount, grad, avg, eps);
            kernels.norm(StepKernels.NORM_PERTURB, cfg, grad, eps, params, partial, perturbNorm);
            kernels.perturb(cfg, perturbNorm, grad, eps, params, saved);
            gradient(B, batch, w, grad2);
            kernels.restore(cfg, saved, grad2, params, grad);
        }
        kernels.norm(StepKernels.NORM_GRAD, cfg, grad, eps, params, partial, gradNorm);
        kernels.adam(cfg, gradNorm, stepCount, params, grad, adamM, adamV);
        kernels.stepAdvance(stepCount);
    }

    private void gradient(int B, DeviceBuffer batch, Workspace w, DeviceBuffer out) {
        if (layerwise != null) layerwise.gradient(params, obs, train.frames(), batch, B, w.ws(), w.sq(), out);
        else if (convolutional != null) convolutional.gradient(params, obs, train.frames(), batch, B, w.ws(), w.sq(), out);
        else kernels.gradient(params, obs, train.frames(), batch, B, w.ws(), w.gs(), w.sq(), out);
    }

    private void checkBatch(int[] indices, int B) {
        if (B < 1 || indices.length < K * B) {
            throw new IllegalArgumentException("batch: expected " + K + " x " + B + " indices, got " + indices.length);
        }
        for (int i = 0; i < K * B; i++) {
            if (indices[i] < 0 || indices[i] >= train.count()) {
                throw new IllegalArgumentException("batch index " + indices[i] + " outside [0, " + train.count() + ")");
            }
        }
    }

    /** One step without reading anything back; its losses go into the device-side tally. */
    @Override
    public void advance(int[] indices, int B) {
        tally.setEnabled(true);
        launchStep(indices, B);
    }

    private void launchStep(int[] indices, int B) {
        checkBatch(indices, B);
        try {
            prepare(B);
        } catch (RuntimeException e) {
            dropGraphs();
            throw e;
        }
        dev.upload(current.batch(), K * B == indices.length ? indices : Arrays.copyOf(indices, K * B));
        current.graph().launch();
    }

    /** Reads the tally of the steps advanced since the last drain (waits for them) and starts a new one. */
    @Override
    public LossTally drainLosses() {
        return tally.drain();
    }

    /** One step whose losses are read back and, as on the CPU engine, not tallied. */
    @Override
    public double[] step(int[] indices, int B) {
        tally.setEnabled(false);
        launchStep(indices, B);
        return lastLoss();
    }

    /** The clean losses of the last step (waits for it). */
    public double[] lastLoss() {
        double[] l = new double[K];
        dev.download(loss, l);
        return l;
    }

    @Override
    public OptimizerState state() {
        int n = K * P;
        float[] p = new float[n], m = new float[n], v = new float[n], a = new float[n];
        dev.download(params, p);
        dev.download(adamM, m);
        dev.download(adamV, v);
        dev.download(avg, a);
        int[] t = new int[1];
        dev.download(stepCount, t);
        return new OptimizerState(p, m, v, a, t[0]);
    }

    @Override
    public void load(OptimizerState s) {
        if (s.params().length != K * P) throw new IllegalArgumentException("state has the wrong size");
        if (s.step() > Integer.MAX_VALUE) throw new IllegalArgumentException("step count beyond the device counter");
        dev.upload(params, s.params());
        dev.upload(adamM, s.adamM());
        dev.upload(adamV, s.adamV());
        dev.upload(avg, s.gradAverage());
        dev.upload(stepCount, new int[]{(int) s.step()});
    }

    @Override
    public Metrics evaluate(float[] p, int replica, hybridsam.model.Split split) {
        return evaluator.evaluate(p, replica * P, split);
    }

    @Override
    public double mse(float[] p, int replica, hybridsam.model.Split split) {
        return evaluator.meanSquaredError(p, replica * P, split, true);
    }

    @Override
    public void close() {
        // every step runs whatever the others throw (after a fault every free fails): the device,
        // and with it the GPU context, is released last and always
        RuntimeException first = null;
        List<Runnable> steps = List.of(evaluator::close, this::dropGraphs, () -> cacheScope.close(), scope::close,
                () -> {
                    if (ownedDevice != null) ownedDevice.close();
                });
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
