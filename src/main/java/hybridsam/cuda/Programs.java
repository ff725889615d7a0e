package hybridsam.cuda;

import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.CpuNestedBackend;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.ConvShape;
import hybridsam.model.Hybrid;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;

import java.util.Optional;
import java.util.function.Function;

/**
 * Which {@link DeviceGradient} runs which hybrid, chosen by what the model is made of, with the
 * library its networks run on (cuBLAS or cuDNN layers, cuDNN or the project's convolutions) and
 * the CPU backend that evaluates it.
 */
final class Programs {
    private Programs() {
    }

    /** A program's library, opened on a device (owned by the engine; null for none), and the program over it. */
    record Opened(AutoCloseable library, Function<DeviceScope, DeviceGradient> program) {
    }

    /** The gradient program for one model. */
    interface Program {
        /** Empty when the program runs the model's networks on this engine, else the reason. */
        Optional<String> refuses(NnEngine engine);

        /** The engine's library on the device and the program over it; refusals are ConfigExceptions naming the reason. */
        Opened open(NnEngine engine, Device device, int K);

        /** The program over the given convolutions (for tests: a program whose networks are convolutional). */
        default Function<DeviceScope, DeviceGradient> program(ConvOps conv, int K) {
            throw new IllegalArgumentException("this program has no convolutions to run");
        }
    }

    /** Whether a program runs a hybrid that is not an ODE hybrid: empty, or the reason. */
    static Optional<String> supports(Hybrid model) {
        Optional<Hybrid> task = onDevice(model);
        if (task.isEmpty()) return Optional.of(translationRefused(model));
        if (task.get() != model) return supports(task.get());
        if (model instanceof LightHybrid || model instanceof WindHybrid) return Optional.empty();
        if (model instanceof NestedHybrid nested) return NestedGradient.supports(nested);
        return Optional.of("the CUDA backend has no gradient program for " + model.getClass().getSimpleName());
    }

    /**
     * The model a program runs for a task's hybrid (the model itself when it is not a task's):
     * empty when the task's hybrid has a shape the programs do not take.
     */
    private static Optional<Hybrid> onDevice(Hybrid model) {
        try {
            Hybrid d = TaskModels.onDevice(model);
            return Optional.of(d == null ? model : d);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String translationRefused(Hybrid model) {
        try {
            TaskModels.onDevice(model);
            return "";
        } catch (IllegalArgumentException e) {
            return "the CUDA backend cannot run this " + model.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The program of a model that {@link CudaTrainingEngine#supports(Hybrid)} accepts. */
    static Program forModel(Hybrid model) {
        Optional<Hybrid> task = onDevice(model);
        if (task.isPresent() && task.get() != model) return forModel(task.get());
        if (model instanceof OdeHybrid ode) return ode(ode);
        if (model instanceof LightHybrid light) return convolutional(light, (s, K, conv) -> new LightTunnelGradient(s, light, K, conv));
        if (model instanceof WindHybrid wind) {
            return ownKernels("the wind-tunnel program runs its networks inside its own kernel", K -> s -> new WindTunnelGradient(s, wind, K));
        }
        if (model instanceof NestedHybrid nested) return nested(nested);
        throw new IllegalArgumentException(supports(model).orElse("no gradient program for " + model));
    }

    /** The CPU backend that evaluates the model for an engine that was given none. */
    static CpuBackend cpu(Hybrid model, int threads) {
        CpuBackend task = TaskModels.cpu(model, threads);
        if (task != null) return task;
        if (model instanceof OdeHybrid ode) return new CpuOdeBackend(ode, threads);
        if (model instanceof NestedHybrid nested) return new CpuNestedBackend(nested, threads);
        throw new IllegalArgumentException("no CPU backend known for " + model.getClass().getSimpleName() + "; pass one");
    }

    /** Makes a program over convolutions. */
    @FunctionalInterface
    interface OverConvolutions {
        DeviceGradient make(DeviceScope scope, int K, ConvOps conv);
    }

    /**
     * A program whose networks are convolutional: on the project's kernels (KERNELS) or cuDNN
     * (CUDNN, on a real GPU whose JCudnn loads); CUBLAS is refused.
     */
    private static Program convolutional(Hybrid model, OverConvolutions make) {
        return new Program() {
            @Override
            public Optional<String> refuses(NnEngine engine) {
                if (engine == NnEngine.CUBLAS) return Optional.of("cublas has no convolutions; use --nn-engine kernels or cudnn");
                return Optional.empty();
            }

            @Override
            public Opened open(NnEngine engine, Device device, int K) {
                ConvOps conv = CudaTrainingEngine.convolutions(engine, device);
                return new Opened(conv, program(conv, K));
            }

            @Override
            public Function<DeviceScope, DeviceGradient> program(ConvOps conv, int K) {
                return s -> make.make(s, K, conv);
            }
        };
    }

    /** A program whose networks run inside its own kernels: KERNELS only. */
    private static Program ownKernels(String why, java.util.function.IntFunction<Function<DeviceScope, DeviceGradient>> make) {
        return new Program() {
            @Override
            public Optional<String> refuses(NnEngine engine) {
                return engine == NnEngine.KERNELS ? Optional.empty() : Optional.of(why + "; use --nn-engine kernels");
            }

            @Override
            public Opened open(NnEngine engine, Device device, int K) {
                refuses(engine).ifPresent(w -> {
                    throw new hybridsam.io.ConfigException("--nn-engine " + engine.id() + ": " + w);
                });
                return new Opened(null, make.apply(K));
            }
        };
    }

    /**
     * The nested hybrid ({@link NestedGradient}): encoder and decoder as dense layers on any engine
     * (the project's GEMM kernels, cuBLAS, cuDNN's grouped 1x1 convolutions), the ODE in the
     * project's rollout kernels.
     */
    private static Program nested(NestedHybrid model) {
        return new Program() {
            @Override
            public Optional<String> refuses(NnEngine engine) {
                return Optional.empty();
            }

            @Override
            public Opened open(NnEngine engine, Device device, int K) {
                DenseOps dense = CudaTrainingEngine.denseLayers(engine, device);
                return new Opened(dense, s -> new NestedGradient(s, model, K, dense));
            }
        };
    }

    private static Program ode(OdeHybrid model) {
        return new Program() {
            @Override
            public Optional<String> refuses(NnEngine engine) {
                if (model.corrector() instanceof ConvShape && engine == NnEngine.CUBLAS) {
                    return Optional.of("cublas has no convolutions; use --nn-engine kernels or cudnn");
                }
                return Optional.empty();
            }

            @Override
            public Opened open(NnEngine engine, Device device, int K) {
                DenseOps dense = CudaTrainingEngine.denseFor(engine, device, model);
                ConvOps conv = CudaTrainingEngine.convFor(engine, device, model);
                return new Opened(dense != null ? dense : conv,
                        CudaTrainingEngine.odeProgram(model, K, StepKernels.defaultRollout(model), dense, conv));
            }

            @Override
            public Function<DeviceScope, DeviceGradient> program(ConvOps conv, int K) {
                return CudaTrainingEngine.odeProgram(model, K, null, null, conv);
            }
        };
    }
}
