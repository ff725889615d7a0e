package hybridsam.cuda;

import java.util.function.Supplier;

/**
 * Whether the CUDA backend can run here, and why not when it cannot: the JCuda native library
 * (needs the NVIDIA driver's libcuda), cuInit, a device, kernels in the jar (absent when the
 * build machine had no nvcc), and a driver that can load them: one for the nvcc release or newer
 * always can (it JIT-compiles the PTX where the fatbin has no SASS for the device); an older
 * driver of the same CUDA major (or newer) can when the fatbin holds SASS for the device's
 * architecture, since only the PTX JIT needs the driver of the nvcc's minor release (CUDA minor
 * version compatibility); a driver of an older CUDA major cannot load the toolkit's fatbins.
 */
public final class CudaProbe {

    /** The answer: available, or the reason it is not; device and driver when known. */
    public record Verdict(boolean available, String reason, String device, int driverVersion) {
        static Verdict no(String reason) {
            return new Verdict(false, reason, null, 0);
        }

        static Verdict no(String reason, String device, int driver) {
            return new Verdict(false, reason, device, driver);
        }

        /** One line for `hybridsam devices` and the auto-device notice. */
        public String describe() {
            if (available) return "cuda: " + device + ", driver " + driverString(driverVersion);
            return "cuda unavailable: " + reason;
        }
    }

    /** The driver calls the probe makes; replaced in tests to simulate each failure. */
    public interface Driver {
        /** cuInit(0); throws LinkageError when the JCuda native library does not load. */
        int init();

        int driverVersion(int[] out);

        int deviceCount(int[] out);

        String deviceName(int ordinal);

        String errorName(int code);

        /** The device's compute capability as major*10+minor (90 for sm_90), or 0 when unknown. */
        int computeCapability(int ordinal);
    }

    private final Supplier<Driver> driver;
    private final Supplier<KernelImage> kernels;

    public CudaProbe(Supplier<Driver> driver, Supplier<KernelImage> kernels) {
        this.driver = driver;
        this.kernels = kernels;
    }

    /** The probe over JCuda and the kernels in this jar. */
    public static CudaProbe standard() {
        return new CudaProbe(JCudaDevice::driverCalls, () -> KernelImage.fromClasspath(CudaProbe.class.getClassLoader()));
    }

    public static String driverString(int v) {
        return v <= 0 ? "?" : (v / 1000) + "." + (v % 1000) / 10;
    }

    public Verdict probe() {
        Driver d;
        int rc;
        try {
            d = driver.get();
            rc = d.init();
        } catch (LinkageError e) {
            if (StandIn.requested()) return Verdict.no(e.getMessage());
            return Verdict.no("no NVIDIA driver: the JCuda native library did not load (" + firstCause(e.getMessage()) + ")");
        }
        if (rc != 0) return Verdict.no("cuInit failed: " + d.errorName(rc) + " (is the NVIDIA driver loaded and a GPU visible?)");
        int[] n = new int[1];
        rc = d.deviceCount(n);
        if (rc != 0 || n[0] == 0) return Verdict.no("no CUDA device" + (rc != 0 ? ": " + d.errorName(rc) : " is visible"));
        String name = d.deviceName(0);
        int[] v = new int[1];
        rc = d.driverVersion(v);
        if (rc != 0) return Verdict.no("cuDriverGetVersion failed: " + d.errorName(rc), name, 0);
        KernelImage image = kernels.get();
        if (image == null) {
            return Verdict.no("this jar has no CUDA kernels (it was built without nvcc); rebuild with the CUDA toolkit on the PATH",
                    name, v[0]);
        }
        if (v[0] >= image.minimumDriver()) return new Verdict(true, null, name, v[0]);
        // an older driver: enough only for SASS of the device's architecture, and only of the same CUDA major
        int cc = d.computeCapability(0);
        String arch = cc > 0 ? "sm_" + cc : "of unknown compute capability";
        String built = "the kernels were built with CUDA " + image.nvccRelease();
        if (!image.hasSassFor(cc)) {
            return Verdict.no("the NVIDIA driver supports CUDA " + driverString(v[0]) + " but " + built
                    + ", and the jar has no SASS for this device (" + arch + "; SASS for " + sassList(image)
                    + "), so the driver would have to JIT-compile the PTX, which needs a driver for CUDA "
                    + driverString(image.minimumDriver()) + " or newer; update the driver", name, v[0]);
        }
        if (v[0] / 1000 < image.nvccMajor()) {
            return Verdict.no("the NVIDIA driver supports CUDA " + driverString(v[0]) + " but " + built
                    + ": the jar has SASS for this device (" + arch + "), but a CUDA " + image.nvccMajor()
                    + " fatbin needs a driver for CUDA " + image.nvccMajor() + ".0 or newer; update the driver", name, v[0]);
        }
        return new Verdict(true, null, name, v[0]);  // SASS loads without the PTX JIT
    }

    private static String sassList(KernelImage image) {
        if (image.sassArchs().isEmpty()) return "no architecture";
        StringBuilder b = new StringBuilder();
        for (int a : image.sassArchs()) b.append(b.length() == 0 ? "" : ", ").append("sm_").append(a);
        return b.toString();
    }

    /**
     * JCuda's message holds the nested stack traces of every loading attempt; keep one line, the
     * one naming the missing library (libcuda.so.1 when no driver is installed) if there is one.
     */
    public static String firstCause(String message) {
        if (message == null || message.isBlank()) return "no details";
        String[] lines = message.strip().split("\\R");
        for (String l : lines) {
            int i = l.indexOf("cannot open shared object file");
            if (i >= 0) {
                int start = l.lastIndexOf(": ", Math.max(0, i - 3));
                String lib = start >= 0 ? l.substring(start + 2, i).replaceAll(":\\s*$", "") : "";
                return (lib.isEmpty() ? "a driver library" : lib) + ": cannot open shared object file";
            }
        }
        return lines[0].strip();
    }
}
