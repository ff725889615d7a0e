package hybridsam.cuda;

import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.ConvShape;
import hybridsam.model.Hybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.Split;
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
import java.util.function.Function;

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
    private final Hybrid model;
    /** Samples of the training split (what batch indices run over). */
    private final int trainCount;
    private final int K, P, nTheta;
    private final boolean anyPerturbs, anyL2, anyFsam;
    /** The rules the engine was made with, and the schedule factors the rule table in cfg now holds them at. */
    private final RuleConfig[] baseRules;
    private final double[] lrFactorNow, rhoFactorNow;
    private final DeviceScope scope;
    private final StepKernels kernels;
    private final DeviceBuffer params, adamM, adamV, avg, grad, grad2, eps, saved, cfg, loss,
            partial, perturbNorm, gradNorm, stepCount;
    private final CpuBackend evaluator;
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
    /** The gradient program: the rollout kernels, the layer-wise path, the convolutional ODE program, or a task's own. */
    private final DeviceGradient program;
    private final NnEngine nnEngine;

    /** An engine on GPU `ordinal` that owns its device: closing the engine releases the GPU. */
    public static CudaTrainingEngine onGpu(int ordinal, OdeHybrid model, Sequences train, RuleConfig[] rules,
                                           float[] initialParams) {
        return onGpu(ordinal, model, train, rules, initialParams, NnEngine.KERNELS);
    }

    /** As {@link #onGpu(int, OdeHybrid, Sequences, RuleConfig[], float[])} with the corrector on the given engine. */
    public static CudaTrainingEngine onGpu(int ordinal, OdeHybrid model, Sequences train, RuleConfig[] rules,
                                           float[] initialParams, NnEngine engine) {
        return onGpu(ordinal, (Hybrid) model, train, rules, initialParams, engine);
    }

    /**
     * An engine on GPU `ordinal` for any hybrid {@link #supports} accepts, its networks on the given
     * engine, evaluation on the model's CPU backend (made by the engine's program for the model:
     * CpuOdeBackend for an ODE hybrid, the task's backend otherwise). Closing the engine releases the GPU.
     */
    public static CudaTrainingEngine onGpu(int ordinal, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                                           NnEngine engine) {
        return onGpu(ordinal, model, train, rules, initialParams, engine, null);
    }

    /**
     * As {@link #onGpu(int, Hybrid, Split, RuleConfig[], float[], NnEngine)} with evaluation on the given
     * CPU backend of the model (owned: the engine closes it, also when it fails to start); null: the
     * engine makes one.
     */
    public static CudaTrainingEngine onGpu(int ordinal, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                                           NnEngine engine, CpuBackend evaluator) {
        JCudaDevice device;
        try {
            device = JCudaDevice.open(ordinal);
        } catch (RuntimeException e) {
            if (evaluator != null) evaluator.close();
            throw e;
        }
        try {
            CudaTrainingEngine e = new CudaTrainingEngine(device, model, train, rules, initialParams, engine, evaluator);
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
        this(device, model, train, rules, initialParams, null, odeProgram(model, rules.length, rollout, null, null),
                NnEngine.KERNELS, null);
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
        this(device, (Hybrid) model, train, rules, initialParams, engine, null);
    }

    /**
     * An engine for any hybrid {@link #supports} accepts, with its networks on the given engine
     * (refusals are ConfigExceptions naming the reason) and evaluation on the given CPU backend of
     * the model (owned: closed with the engine, and when the engine fails to start); null: the
     * engine makes one (CpuOdeBackend for an ODE hybrid, the task's own otherwise).
     */
    public CudaTrainingEngine(Device device, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                              NnEngine engine, CpuBackend evaluator) {
        this(device, model, train, rules, initialParams, engine, evaluator, Programs.forModel(checkedOrClose(model, rules, initialParams,
                evaluator)));
    }

    private CudaTrainingEngine(Device device, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                               NnEngine engine, CpuBackend evaluator, Programs.Program program) {
        // the inputs are checked before a library handle is made, so that a refusal leaks none
        this(device, model, train, rules, initialParams, openLibrary(program, engine, device, rules.length, evaluator), engine,
                evaluator);
    }

    private CudaTrainingEngine(Device device, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                               Programs.Opened opened, NnEngine engine, CpuBackend evaluator) {
        this(device, model, train, rules, initialParams, opened.library(), opened.program(), engine, evaluator);
    }

    private static Hybrid checkedOrClose(Hybrid model, RuleConfig[] rules, float[] initialParams, CpuBackend evaluator) {
        try {
            supports(model).ifPresent(why -> {
                throw new IllegalArgumentException(why);
            });
            if (initialParams.length != rules.length * model.parameterCount()) {
                throw new IllegalArgumentException("expected " + rules.length + " x " + model.parameterCount() + " parameters, got "
                        + initialParams.length);
            }
            return model;
        } catch (RuntimeException e) {
            if (evaluator != null) evaluator.close();
            throw e;
        }
    }

    private static Programs.Opened openLibrary(Programs.Program program, NnEngine engine, Device device, int K,
                                                CpuBackend evaluator) {
        try {
            return program.open(engine, device, K);
        } catch (RuntimeException e) {
            if (evaluator != null) evaluator.close();
            throw e;
        }
    }

    /** Whether the engine can run the model with this corrector engine: empty, or the reason it cannot. */
    public static Optional<String> supports(OdeHybrid model, NnEngine engine) {
        return supports((Hybrid) model, engine);
    }

    /** Whether the engine can run the model with its networks on this engine: empty, or the reason it cannot. */
    public static Optional<String> supports(Hybrid model, NnEngine engine) {
        Optional<String> why = supports(model);
        if (why.isPresent()) return why;
        return Programs.forModel(model).refuses(engine);
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

    /** Whether some gradient program of this backend runs the model: empty when one does, else the reason in words. */
    public static Optional<String> supports(Hybrid model) {
        if (model instanceof OdeHybrid ode) return supports(ode);
        return Programs.supports(model);
    }

    /** The layer-wise path with the given dense layers (owned: closed with the engine); for tests with KernelDenseOps. */
    CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                       DenseOps dense) {
        this(device, model, train, rules, initialParams, dense,
                odeProgram(model, rules.length, StepKernels.Rollout.PER_THREAD, dense, null), NnEngine.KERNELS, null);
    }

    /** The convolutional path with the given convolutions (owned: closed with the engine); for tests. */
    CudaTrainingEngine(Device device, OdeHybrid model, Sequences train, RuleConfig[] rules, float[] initialParams,
                       ConvOps conv) {
        this(device, model, train, rules, initialParams, conv, odeProgram(model, rules.length, null, null, conv),
                NnEngine.KERNELS, null);
    }

    /** A task's program with the given convolutions (owned: closed with the engine); for tests. */
    CudaTrainingEngine(Device device, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams, ConvOps conv,
                       CpuBackend evaluator) {
        this(device, model, train, rules, initialParams, conv,
                Programs.forModel(checkedOrClose(model, rules, initialParams, evaluator)).program(conv, rules.length),
                NnEngine.KERNELS, evaluator);
    }

    /**
     * The gradient program of an ODE hybrid: the convolutional one when given its convolutions, the
     * layer-wise path when given dense layers, else the rollout kernels.
     */
    static Function<DeviceScope, DeviceGradient> odeProgram(OdeHybrid model, int K, StepKernels.Rollout rollout, DenseOps dense,
                                                            ConvOps conv) {
        if (conv != null) return s -> new ConvOdeGradient(s, model, K, conv);
        if (dense != null) return s -> new LayerwiseGradient(s, model, K, dense);
        return s -> new RolloutGradient(new StepKernels(s, model, K, rollout), model, K);
    }

    /** The convolutions of a convolutional corrector's engine; null for a model the MLP programs run. */
    static ConvOps convFor(NnEngine engine, Device device, OdeHybrid model) {
        if (ConvOdeGradient.supports(model).isPresent()) return null;
        return convolutions(engine, device);
    }

    /** The convolutions of an engine on the device; refusals are ConfigExceptions naming the reason. */
    static ConvOps convolutions(NnEngine engine, Device device) {
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
    static DenseOps denseFor(NnEngine engine, Device device, OdeHybrid model) {
        if (StepKernels.supports(model).isPresent()) return null;
        if (engine == NnEngine.KERNELS) return null;
        return denseLayers(engine, device);
    }

    /**
     * The dense layers of an engine on the device: KERNELS, the project's GEMM kernels; CUBLAS and
     * CUDNN on a {@link JCudaDevice} whose JCublas / JCudnn loads. Refusals are ConfigExceptions naming the reason.
     */
    static DenseOps denseLayers(NnEngine engine, Device device) {
        switch (engine) {
            case KERNELS:
                return new KernelDenseOps(device);
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

    /**
     * The engine: exactly one gradient program (made by programFor in the engine's scope, after the
     * library its networks run on, which the scope owns) and the rule kernels after it.
     */
    private CudaTrainingEngine(Device device, Hybrid model, Split train, RuleConfig[] rules, float[] initialParams,
                               AutoCloseable library, Function<DeviceScope, DeviceGradient> programFor, NnEngine nnEngine,
                               CpuBackend evaluator) {
        this.dev = device;
        this.nnEngine = nnEngine;
        this.model = model;
        this.K = rules.length;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        this.baseRules = rules.clone();
        this.lrFactorNow = new double[K];
        this.rhoFactorNow = new double[K];
        Arrays.fill(lrFactorNow, 1.0);
        Arrays.fill(rhoFactorNow, 1.0);
        anyPerturbs = Arrays.stream(rules).anyMatch(r -> r.method().perturbs());
        anyL2 = Arrays.stream(rules).anyMatch(r -> r.method() == Method.L2);
        anyFsam = Arrays.stream(rules).anyMatch(r -> r.method() == Method.FSAM);
        long n = (long) K * P;
        DeviceScope s;
        try {
            if (initialParams.length != K * P) {
                throw new IllegalArgumentException("expected " + K + " x " + P + " parameters, got " + initialParams.length);
            }
            s = new DeviceScope(device);
        } catch (RuntimeException e) {
            closeQuietly(e, library, evaluator);
            throw e;
        }
        if (library != null) s.own(library);
        try {
            program = programFor.apply(s);
            kernels = program instanceof RolloutGradient rg ? rg.kernels() : StepKernels.rulesOnly(s, K, P, nTheta);
            params = s.floats(n);
            adamM = s.floats(n);
            adamV = s.floats(n);
            avg = s.floats(n);
            grad = s.floats(n);
            grad2 = s.floats(n);
            eps = s.floats(n);
            saved = s.floats(n);
            cfg = s.doubles((long) K * StepKernels.CFG_N);
            loss = s.doubles(K);
            partial = s.doubles((long) K * kernels.normBlocks());
            perturbNorm = s.doubles(K);
            gradNorm = s.doubles(K);
            stepCount = s.ints(1);
            tally = new DeviceLossTally(s, kernels, K);
            device.upload(cfg, StepKernels.ruleTable(rules, nTheta));
            program.upload(s, train);
            trainCount = program.count();
            load(OptimizerState.fresh(initialParams));
        } catch (RuntimeException e) {
            closeQuietly(e, s, evaluator);
            throw e;
        }
        scope = s;
        cacheScope = new DeviceScope(device);
        this.evaluator = evaluator != null ? evaluator
                : Programs.cpu(model, Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    /** Closes what a failed start leaves, each whatever the others throw, adding their failures to e. */
    private static void closeQuietly(RuntimeException e, AutoCloseable... owned) {
        for (AutoCloseable c : owned) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception x) {
                e.addSuppressed(x);
            }
        }
    }

    @Override
    public String describe() {
        String on = program.networkEngine();
        return "cuda (" + dev.describe() + (on == null ? "" : ", corrector on " + on) + ")";
    }

    /** The corrector engine this engine was made with. */
    public NnEngine nnEngine() {
        return nnEngine;
    }

    /** Whether the gradients run through the layer-wise path (dense layers through a {@link DenseOps}). */
    public boolean layerwise() {
        return program instanceof LayerwiseGradient;
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

    /** Bytes of device memory a step of the nested hybrid's program ({@link NestedGradient}) needs for batch size B. */
    public static long nestedBatchBytes(hybridsam.model.NestedHybrid model, int K, int B, int frames) {
        return 4L * (NestedGradient.workspaceFloats(model, K, B, frames) + NestedGradient.gradientRowsFloats(model, K, B)
                + (long) K * B) + 8L * K * B;
    }

    /** Whether the gradients run through the convolutional program ({@link ConvOdeGradient}). */
    public boolean convolutional() {
        return program instanceof ConvOdeGradient;
    }

    /** Bytes of device memory a step of the convolutional path needs for batch size B. */
    public static long convolutionalBatchBytes(OdeHybrid model, int K, int B, int frames) {
        return 4L * (ConvOdeGradient.workspaceFloats(ConvOdeGradient.grid(model), K, B, frames) + 1 + (long) K * B) + 8L * K * B;
    }

    /** The gradient kernel this engine runs; null on the layer-wise and convolutional paths and for tasks' own programs. */
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
        DeviceBuffer b = cacheScope.ints((long) K * B);
        if (w == null) {
            w = new Workspace(B, cacheScope.floats(program.workspaceFloats(B)), cacheScope.floats(program.gradientRowsFloats(B)),
                    cacheScope.doubles((long) K * program.lossRows(B)));
            workspaces.add(w);
        }
        Workspace ws = w;
        if (program.warmsUpOutsideCapture()) {
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
        gradient(B, batch, w, grad);
        kernels.loss(w.sq(), program.lossRows(B), program.lossWeight(B), loss);
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
        program.gradient(params, batch, B, w.ws(), w.gs(), w.sq(), out);
    }

    private void checkBatch(int[] indices, int B) {
        if (B < 1 || indices.length < K * B) {
            throw new IllegalArgumentException("batch: expected " + K + " x " + B + " indices, got " + indices.length);
        }
        for (int i = 0; i < K * B; i++) {
            if (indices[i] < 0 || indices[i] >= trainCount) {
                throw new IllegalArgumentException("batch index " + indices[i] + " outside [0, " + trainCount + ")");
            }
        }
    }

    /**
     * Rewrites the rule table in device memory with each replica's learning rates and ρ times the
     * factors (nothing is copied when they are those the table holds). The captured graphs read the
     * table through its pointer when they run, so the next replay takes the new values; the copy
     * goes on the engine's stream, after the replays queued there, so no step in flight sees a
     * half-written table. Never called inside a capture (the trainer calls it between epochs).
     */
    @Override
    public void scheduleFactors(double[] lrFactor, double[] rhoFactor) {
        TrainingEngine.checkFactors(K, lrFactor, rhoFactor);
        if (Arrays.equals(lrFactor, lrFactorNow) && Arrays.equals(rhoFactor, rhoFactorNow)) return;
        RuleConfig[] now = new RuleConfig[K];
        for (int r = 0; r < K; r++) now[r] = baseRules[r].scaled(lrFactor[r], rhoFactor[r]);
        dev.upload(cfg, StepKernels.ruleTable(now, nTheta));
        System.arraycopy(lrFactor, 0, lrFactorNow, 0, K);
        System.arraycopy(rhoFactor, 0, rhoFactorNow, 0, K);
    }

    /** The rule table as the device holds it now (for tests: what the kernels read). */
    double[] ruleTableOnDevice() {
        double[] t = new double[K * StepKernels.CFG_N];
        dev.download(cfg, t);
        return t;
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
