package hybridsam.cli;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cuda.CudaProbe;
import hybridsam.cuda.KernelImage;
import hybridsam.cuda.NnEngines;
import hybridsam.cuda.StandIn;

import java.io.PrintStream;
import java.util.Locale;

/** What `hybridsam devices` prints: each backend, and why any is unavailable. */
final class Devices {
    private Devices() {
    }

    static void print(PrintStream out) {
        out.printf(Locale.ROOT, "cpu   available: %d threads, %d-bit vectors (Vector API), Java %s%n",
                Runtime.getRuntime().availableProcessors(), CpuOdeBackend.vectorLength() * 32, System.getProperty("java.version"));
        CudaProbe.Verdict v = CudaProbe.standard().probe();
        if (v.available() && StandIn.active()) {
            out.println("cuda  available: " + StandIn.describe());
            out.println("      --device auto does not pick it; --device cuda trains through it");
        } else if (v.available()) {
            out.printf(Locale.ROOT, "cuda  available: %s, driver for CUDA %s%n", v.device(), CudaProbe.driverString(v.driverVersion()));
        } else {
            out.println("cuda  unavailable: " + v.reason());
            if (v.device() != null) {
                out.printf(Locale.ROOT, "      (GPU %s, driver for CUDA %s)%n", v.device(), CudaProbe.driverString(v.driverVersion()));
            }
        }
        KernelImage k = KernelImage.fromClasspath(Devices.class.getClassLoader());
        out.println("      kernels in this jar: " + (k == null ? "none (built without nvcc)"
                : "built with CUDA " + k.nvccRelease() + ", SASS for " + (k.sassArchs().isEmpty() ? "no architecture"
                        : k.sassArchs().stream().map(a -> "sm_" + a).collect(java.util.stream.Collectors.joining(", ")))
                        + " (needs a driver for CUDA " + k.nvccMajor() + ".0 or newer), PTX for the rest (needs one for CUDA "
                        + CudaProbe.driverString(k.minimumDriver()) + " or newer)"));
        for (NnEngines.Availability a : NnEngines.standard().probe()) out.println("      --nn-engine " + a.describe());
    }
}
