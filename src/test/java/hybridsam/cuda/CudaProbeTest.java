package hybridsam.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe's answers, with each failure simulated through an injected driver and kernel image. */
class CudaProbeTest {
    static final Set<Integer> SASS = Set.of(80, 86, 89, 90);
    static final KernelImage IMAGE = new KernelImage(Map.of("ode", new byte[]{1}), 13000, "13.0", SASS);

    static CudaProbe.Driver driver(int initRc, int devices, int version) {
        return driver(initRc, devices, version, 90);
    }

    static CudaProbe.Driver driver(int initRc, int devices, int version, int computeCapability) {
        return new CudaProbe.Driver() {
            public int init() {
                return initRc;
            }

            public int driverVersion(int[] out) {
                out[0] = version;
                return 0;
            }

            public int deviceCount(int[] out) {
                out[0] = devices;
                return 0;
            }

            public String deviceName(int ordinal) {
                return "NVIDIA H200";
            }

            public String errorName(int code) {
                return "CUDA_ERROR_NO_DEVICE";
            }

            public int computeCapability(int ordinal) {
                return computeCapability;
            }
        };
    }

    @Test
    void missingDriverLibrary() {
        CudaProbe.Verdict v = new CudaProbe(() -> {
            throw new UnsatisfiedLinkError("Error while loading native library JCudaDriver-12.6.0-linux-x86_64\nmore");
        }, () -> IMAGE).probe();
        assertFalse(v.available());
        assertTrue(v.reason().startsWith("no NVIDIA driver"), v.reason());
        assertTrue(v.reason().contains("JCudaDriver-12.6.0"), v.reason());
        assertFalse(v.reason().contains("more"));
    }

    @Test
    void initFailure() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(100, 0, 13000), () -> IMAGE).probe();
        assertTrue(v.reason().startsWith("cuInit failed: CUDA_ERROR_NO_DEVICE"), v.reason());
    }

    @Test
    void noDevice() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 0, 13000), () -> IMAGE).probe();
        assertEquals("no CUDA device is visible", v.reason());
    }

    /** Driver 12.8, kernels from nvcc 13.0: SASS for the device's sm_90 is there, but a CUDA 12 driver cannot load a CUDA 13 fatbin. */
    @Test
    void driverOfAnOlderMajorIsRefusedEvenWithSass() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 12080, 90), () -> IMAGE).probe();
        assertFalse(v.available());
        assertTrue(v.reason().contains("supports CUDA 12.8"), v.reason());
        assertTrue(v.reason().contains("built with CUDA 13.0"), v.reason());
        assertTrue(v.reason().contains("has SASS for this device (sm_90)"), v.reason());
        assertTrue(v.reason().contains("needs a driver for CUDA 13.0 or newer"), v.reason());
        assertFalse(v.reason().contains("JIT"), v.reason());
        assertEquals("NVIDIA H200", v.device());
        assertEquals(12080, v.driverVersion());
    }

    /** Driver 12.8 on an sm_75 device: no SASS, and the PTX JIT needs the CUDA 13.0 driver. */
    @Test
    void driverTooOldForThePtxJit() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 12080, 75), () -> IMAGE).probe();
        assertFalse(v.available());
        assertTrue(v.reason().contains("no SASS for this device (sm_75; SASS for sm_80, sm_86, sm_89, sm_90)"), v.reason());
        assertTrue(v.reason().contains("JIT-compile the PTX, which needs a driver for CUDA 13.0 or newer"), v.reason());
    }

    /** Driver 13.0 and kernels from nvcc 13.0: the driver is new enough for everything. */
    @Test
    void driverEqualToTheMinimum() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000, 75), () -> IMAGE).probe();
        assertTrue(v.available(), v::reason);
    }

    static final KernelImage NVCC_13_2 = new KernelImage(Map.of("ode", new byte[]{1}), 13020, "13.2", SASS);

    /** Driver 13.0, kernels from nvcc 13.2, device sm_90 with SASS in the jar: loads without the PTX JIT. */
    @Test
    void olderMinorDriverRunsTheSass() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000, 90), () -> NVCC_13_2).probe();
        assertTrue(v.available(), v::reason);
        assertEquals("cuda: NVIDIA H200, driver 13.0", v.describe());
    }

    /** The same on sm_87: sm_86 SASS runs on any 8.x device with minor >= 6. */
    @Test
    void olderMinorDriverRunsSassOfAnOlderMinorArch() {
        assertTrue(new CudaProbe(() -> driver(0, 1, 13000, 87), () -> NVCC_13_2).probe().available());
        // sm_100 has a newer major than any SASS in the jar: PTX only
        assertFalse(new CudaProbe(() -> driver(0, 1, 13000, 100), () -> NVCC_13_2).probe().available());
    }

    /** The same on sm_75 (PTX only): the PTX JIT needs the 13.2 driver. */
    @Test
    void olderMinorDriverCannotJitThePtx() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000, 75), () -> NVCC_13_2).probe();
        assertFalse(v.available());
        assertTrue(v.reason().contains("supports CUDA 13.0 but the kernels were built with CUDA 13.2"), v.reason());
        assertTrue(v.reason().contains("no SASS for this device (sm_75"), v.reason());
        assertTrue(v.reason().contains("JIT-compile the PTX, which needs a driver for CUDA 13.2 or newer"), v.reason());
    }

    /** A jar whose kernels.properties predates sass.archs: only the PTX rule applies. */
    @Test
    void imageWithoutSassListFallsBackToThePtxRule() {
        KernelImage old = new KernelImage(Map.of("ode", new byte[]{1}), 13020, "13.2", Set.of());
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000, 90), () -> old).probe();
        assertFalse(v.available());
        assertTrue(v.reason().contains("SASS for no architecture"), v.reason());
        assertEquals(Set.of(80, 86, 89, 90), KernelImage.parseArchs("80,86, 89,90"));
        assertEquals(Set.of(), KernelImage.parseArchs(""));
        assertEquals(13, NVCC_13_2.nvccMajor());
    }

    @Test
    void kernelsMissingFromJar() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000), () -> null).probe();
        assertTrue(v.reason().contains("built without nvcc"), v.reason());
    }

    @Test
    void allPresent() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 13000), () -> IMAGE).probe();
        assertTrue(v.available());
        assertEquals("cuda: NVIDIA H200, driver 13.0", v.describe());
    }

    /** A jar built with nvcc records which SASS its fatbins hold (a subset of the architectures build.sh asks for). */
    @Test
    void builtImageRecordsItsSass() {
        KernelImage image = KernelImage.fromClasspath(CudaProbeTest.class.getClassLoader());
        org.junit.jupiter.api.Assumptions.assumeTrue(image != null, "built without nvcc");
        assertFalse(image.sassArchs().isEmpty());
        assertTrue(SASS.containsAll(image.sassArchs()), image.sassArchs()::toString);
        assertEquals(image.minimumDriver() / 1000, image.nvccMajor());
    }

    @Test
    void realProbeAnswersWithAReason() {
        CudaProbe.Verdict v = CudaProbe.standard().probe();
        assertNotNull(v);
        if (!v.available()) assertNotNull(v.reason());
    }

    @Test
    void outOfMemoryMessageNamesSizeAndHint() {
        String m = new DeviceOutOfMemoryException(3L << 30, 1L << 30, 2L << 30).getMessage();
        assertTrue(m.contains("3,221,225,472 bytes"), m);
        assertTrue(m.contains("--batch") && m.contains("--replicas"), m);
    }
}
