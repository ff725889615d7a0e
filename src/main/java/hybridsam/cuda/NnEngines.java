package hybridsam.cuda;

import hybridsam.io.ConfigException;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Which corrector engines load here, and the choice of --nn-engine. Each engine has a loader
 * that tries its native library; a LinkageError (UnsatisfiedLinkError, NoClassDefFoundError)
 * becomes a reason that names the missing library. The loaders are injected in tests.
 */
public final class NnEngines {

    /** One engine's answer: loaded (with what, e.g. a library version) or the reason it did not load. */
    public record Availability(NnEngine engine, boolean loaded, String detail) {
        /** One line for `hybridsam devices`. */
        public String describe() {
            return engine.id() + ": " + (loaded ? "loaded" + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")")
                    : "not available: " + detail);
        }
    }

    /** Tries to load an engine's native library; returns what loaded (a version, or "") or throws. */
    @FunctionalInterface
    public interface Loader {
        String load() throws Exception;
    }

    /**
     * The order `auto` tries: cuDNN, then cuBLAS, then the project's kernels, i.e. the vendor
     * libraries wherever they load and the kernels (which run everywhere the CUDA backend does)
     * last. No GPU run has compared them yet: GpuCheck's table times every loaded engine, and
     * this order should follow what it shows.
     */
    public static final List<NnEngine> AUTO_ORDER = List.of(NnEngine.CUDNN, NnEngine.CUBLAS, NnEngine.KERNELS);

    private final Map<NnEngine, Loader> loaders;

    public NnEngines(Map<NnEngine, Loader> loaders) {
        this.loaders = new EnumMap<>(loaders);
    }

    /**
     * The real loaders: kernels always (they are the CUDA backend's own); cuBLAS by initialising
     * JCublas2 (its native library links libcublas.so.12); cuDNN by initialising JCudnn (the
     * 12.6.0 natives, which link cuDNN 9's libcudnn.so.9) and asking its version.
     */
    public static NnEngines standard() {
        Map<NnEngine, Loader> m = new EnumMap<>(NnEngine.class);
        m.put(NnEngine.KERNELS, () -> "the project's CUDA kernels");
        m.put(NnEngine.CUBLAS, () -> {
            StandIn.loadIfRequested();
            jcuda.jcublas.JCublas2.initialize();
            return "JCublas2, libcublas.so.12" + (StandIn.active() ? " (the CPU stand-in)" : "");
        });
        m.put(NnEngine.CUDNN, () -> {
            StandIn.loadIfRequested();
            jcuda.jcudnn.JCudnn.initialize();
            long v = jcuda.jcudnn.JCudnn.cudnnGetVersion();
            if (v < 90000) throw new IllegalStateException("cuDNN " + v + " loaded, but the JCudnn natives here are for cuDNN 9");
            return "JCudnn, cuDNN " + v / 10000 + "." + (v / 100) % 100 + "." + v % 100 + (StandIn.active() ? " (libcudnn.so.9, the CPU stand-in)" : " (libcudnn.so.9)");
        });
        return new NnEngines(m);
    }

    /** Every engine's availability, in {@link NnEngine} order. */
    public List<Availability> probe() {
        List<Availability> out = new ArrayList<>();
        for (NnEngine e : NnEngine.values()) out.add(probe(e));
        return out;
    }

    public Availability probe(NnEngine e) {
        Loader l = loaders.get(e);
        if (l == null) return new Availability(e, false, "no loader for " + e.id());
        try {
            String what = l.load();
            return new Availability(e, true, what == null ? "" : what);
        } catch (LinkageError err) {
            return new Availability(e, false, explain(e, err));
        } catch (Exception ex) {
            return new Availability(e, false, ex.getMessage() == null ? ex.toString() : ex.getMessage());
        }
    }

    /** The reason an engine's native library did not load, naming the library it needs. */
    static String explain(NnEngine e, LinkageError err) {
        // the stand-in was asked for and did not load: its own message says why, no CUDA 12 hint applies
        if (StandIn.requested() && err.getMessage() != null && err.getMessage().startsWith(StandIn.ENV)) return err.getMessage();
        String cause = CudaProbe.firstCause(err.getMessage());
        String msg = err.getMessage() == null ? "" : err.getMessage();
        switch (e) {
            case CUBLAS:
                return "the JCublas native library did not load (" + cause + "); JCublas " + "needs CUDA 12's libcublas.so.12"
                        + (msg.contains("libcublas") ? "" : " and the NVIDIA driver")
                        + ", which CUDA 13 machines do not have (their libcublas.so.13 does not satisfy it)";
            case CUDNN:
                return "the JCudnn native library did not load (" + cause + "); the cuDNN corrector needs cuDNN 9's libcudnn.so.9";
            default:
                return "the native library did not load (" + cause + ")";
        }
    }

    /**
     * The engine for an --nn-engine value: kernels, cublas, cudnn, or auto (the first loaded
     * engine of {@link #AUTO_ORDER}). Throws ConfigException for an unknown value or an engine
     * that did not load, with the reason.
     */
    public static NnEngine select(String option, List<Availability> probed) {
        return select(option, probed, e -> true);
    }

    /** As {@link #select(String, List)}, auto skipping the engines that cannot run the model (usable false). */
    public static NnEngine select(String option, List<Availability> probed, java.util.function.Predicate<NnEngine> usable) {
        String o = option == null ? "auto" : option.strip();
        if (o.equalsIgnoreCase("auto")) {
            for (NnEngine e : AUTO_ORDER) {
                if (!usable.test(e)) continue;
                for (Availability a : probed) if (a.engine() == e && a.loaded()) return e;
            }
            throw new ConfigException("--nn-engine auto: no corrector engine loaded");
        }
        NnEngine e;
        try {
            e = NnEngine.parse(o);
        } catch (IllegalArgumentException x) {
            throw new ConfigException("--nn-engine: " + x.getMessage());
        }
        for (Availability a : probed) {
            if (a.engine() == e) {
                if (a.loaded()) return e;
                throw new ConfigException("--nn-engine " + e.id() + ": not available: " + a.detail());
            }
        }
        throw new ConfigException("--nn-engine " + e.id() + ": not probed");
    }

    /** {@link #select} over the real loaders. */
    public static NnEngine select(String option) {
        return select(option, standard().probe());
    }

    /** {@link #select} over the real loaders, auto choosing among the engines that can run the model. */
    public static NnEngine select(String option, hybridsam.model.OdeHybrid model) {
        return select(option, standard().probe(), e -> CudaTrainingEngine.supports(model, e).isEmpty());
    }

    /** {@link #select} over the real loaders, auto choosing among the engines that can run the model's networks. */
    public static NnEngine select(String option, hybridsam.model.Hybrid model) {
        return select(option, standard().probe(), e -> CudaTrainingEngine.supports(model, e).isEmpty());
    }
}
