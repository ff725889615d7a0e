package hybridsam.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe's answers, with each failure simulated through an injected driver and kernel image. */
class CudaProbeTest {
    static final KernelImage IMAGE = new KernelImage(Map.of("ode", new byte[]{1}), 13000, "13.0");

    static CudaProbe.Driver driver(int initRc, int devices, int version) {
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

    @Test
    void driverTooOld() {
        CudaProbe.Verdict v = new CudaProbe(() -> driver(0, 1, 12080), () -> IMAGE).probe();
        assertFalse(v.available());
        assertTrue(v.reason().contains("supports CUDA 12.8"), v.reason());
        assertTrue(v.reason().contains("need a driver for CUDA 13.0"), v.reason());
        assertEquals("NVIDIA H200", v.device());
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
