package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.tasks.PendulumModel;
import hybridsam.io.ConfigException;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The corrector engines' probe (injected loaders), the refusal messages and auto's choice. */
class NnEnginesTest {
    /** What JCuda's loader throws when the library behind JCublas2 is missing (shape of LibUtils' message). */
    static final String CUBLAS_MISSING = "Error while loading native library \"JCublas2-12.6.0-linux-x86_64\"\n"
            + "Stack trace from the attempt to load the library as a file:\n"
            + "java.lang.UnsatisfiedLinkError: /tmp/libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot open shared "
            + "object file: No such file or directory\n\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)";
    static final String CUDNN_MISSING = "Error while loading native library \"JCudnn-12.6.0-linux-x86_64\"\n"
            + "java.lang.UnsatisfiedLinkError: /tmp/libJCudnn-12.6.0-linux-x86_64.so: libcudnn.so.9: cannot open shared "
            + "object file: No such file or directory";

    static NnEngines engines(boolean cublas, boolean cudnn) {
        Map<NnEngine, NnEngines.Loader> m = new EnumMap<>(NnEngine.class);
        m.put(NnEngine.KERNELS, () -> "own kernels");
        m.put(NnEngine.CUBLAS, () -> {
            if (!cublas) throw new UnsatisfiedLinkError(CUBLAS_MISSING);
            return "cuBLAS 12.6";
        });
        m.put(NnEngine.CUDNN, () -> {
            if (!cudnn) throw new UnsatisfiedLinkError(CUDNN_MISSING);
            return "cuDNN 9";
        });
        return new NnEngines(m);
    }

    @Test
    void refusalsNameTheMissingLibrary() {
        List<NnEngines.Availability> p = engines(false, false).probe();
        assertEquals(3, p.size());
        assertTrue(p.get(0).loaded());
        NnEngines.Availability cublas = p.get(1), cudnn = p.get(2);
        assertFalse(cublas.loaded());
        assertTrue(cublas.detail().contains("libcublas.so.12: cannot open shared object file"), cublas.detail());
        assertTrue(cublas.detail().contains("CUDA 12") && cublas.detail().contains("CUDA 13"), cublas.detail());
        assertFalse(cublas.detail().contains("\n"), "one line");
        assertFalse(cudnn.loaded());
        assertTrue(cudnn.detail().contains("libcudnn.so.9"), cudnn.detail());
        assertTrue(cudnn.describe().startsWith("cudnn: not available: "), cudnn.describe());
        assertEquals("kernels: loaded (own kernels)", p.get(0).describe());
    }

    @Test
    void otherLinkageErrorsAndExceptionsAreReasonsToo() {
        Map<NnEngine, NnEngines.Loader> m = new EnumMap<>(NnEngine.class);
        m.put(NnEngine.CUBLAS, () -> {
            throw new NoClassDefFoundError("jcuda/jcublas/JCublas2");
        });
        m.put(NnEngine.CUDNN, () -> {
            throw new IllegalStateException("no cuDNN here");
        });
        NnEngines e = new NnEngines(m);
        NnEngines.Availability c = e.probe(NnEngine.CUBLAS);
        assertFalse(c.loaded());
        assertTrue(c.detail().contains("jcuda/jcublas/JCublas2") && c.detail().contains("libcublas.so.12"), c.detail());
        assertEquals("no cuDNN here", e.probe(NnEngine.CUDNN).detail());
        assertFalse(e.probe(NnEngine.KERNELS).loaded(), "no loader, not loaded");
    }

    @Test
    void autoPicksCudnnThenCublasThenKernels() {
        assertEquals(NnEngine.CUDNN, NnEngines.select("auto", engines(true, true).probe()));
        assertEquals(NnEngine.CUBLAS, NnEngines.select("auto", engines(true, false).probe()));
        assertEquals(NnEngine.CUDNN, NnEngines.select("AUTO", engines(false, true).probe()));
        assertEquals(NnEngine.KERNELS, NnEngines.select("auto", engines(false, false).probe()));
        assertEquals(NnEngine.KERNELS, NnEngines.select(null, engines(false, false).probe()));
        List<NnEngines.Availability> none = List.of(new NnEngines.Availability(NnEngine.KERNELS, false, "x"));
        assertThrows(ConfigException.class, () -> NnEngines.select("auto", none));
    }

    @Test
    void askingForAnEngineThatDidNotLoadIsAConfigError() {
        var probed = engines(false, false).probe();
        ConfigException e = assertThrows(ConfigException.class, () -> NnEngines.select("cublas", probed));
        assertTrue(e.getMessage().startsWith("--nn-engine cublas: not available: "), e.getMessage());
        assertTrue(e.getMessage().contains("libcublas.so.12"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> NnEngines.select("cudnn", probed));
        assertTrue(e.getMessage().contains("libcudnn.so.9"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> NnEngines.select("cuda", probed));
        assertTrue(e.getMessage().contains("kernels, cublas, cudnn or auto"), e.getMessage());
        assertEquals(NnEngine.KERNELS, NnEngines.select(" Kernels ", probed));
        assertEquals(NnEngine.CUBLAS, NnEngines.select("cublas", engines(true, false).probe()));
    }

    /** The real probe on this machine: kernels always; cuBLAS either loads or says why (CI machines have no CUDA 12). */
    @Test
    void standardProbeAnswersForEveryEngine() {
        List<NnEngines.Availability> p = NnEngines.standard().probe();
        p.forEach(a -> System.out.println("nn engine probe: " + a.describe()));
        assertTrue(p.get(0).loaded());
        NnEngines.Availability cublas = p.get(1);
        if (!cublas.loaded()) assertTrue(cublas.detail().contains("libcublas.so.12"), cublas.detail());
        NnEngines.Availability cudnn = p.get(2);
        if (!cudnn.loaded()) assertTrue(cudnn.detail().contains("libcudnn.so.9"), cudnn.detail());
    }

    /** The engine refuses CUBLAS and CUDNN off a real GPU with ConfigExceptions. */
    @Test
    void engineRefusesUnavailableEngines() {
        String why = EmulatedDevice.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "emulated CUDA device skipped: " + why);
        var m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 1, 4);
        var rng = new SplittableRandom(1);
        var data = KernelChecks.randomSequences(4, 3, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.ERM, false, false, 0)};
        float[] p = KernelChecks.randomParams(m, 1, rng);
        try (EmulatedDevice dev = EmulatedDevice.open()) {
            for (NnEngine e : new NnEngine[]{NnEngine.CUBLAS, NnEngine.CUDNN}) {
                ConfigException x = assertThrows(ConfigException.class, () -> new CudaTrainingEngine(dev, m, data, rules, p, e));
                assertTrue(x.getMessage().startsWith("--nn-engine " + e.id() + ": "), x.getMessage());
            }
            assertEquals(0, dev.liveBuffers());
            try (CudaTrainingEngine k = new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.KERNELS)) {
                assertFalse(k.layerwise());
                assertEquals(NnEngine.KERNELS, k.nnEngine());
            }
        }
    }
}
