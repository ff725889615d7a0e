package hybridsam.cuda;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** What every stand-in suite (*StandInTest) starts with, in this package and others. */
public final class StandInSuites {
    private StandInSuites() {
    }

    /**
     * Skips a stand-in suite where the stand-in is not loaded (no g++ to build it, or a real GPU
     * in use); in CI (CI=true) a stand-in that was asked for and did not load fails instead, so
     * that the GPU call layer cannot drop out of CI unnoticed.
     */
    public static void assume() {
        CudaProbe.Verdict v = CudaProbe.standard().probe();  // loads the stand-in when it is requested
        boolean ok = v.available() && StandIn.active();
        String why = v.available() ? "a real GPU is in use" : v.reason();
        if (!ok && StandIn.requested() && "true".equals(System.getenv("CI"))) {
            Assertions.fail("the CUDA stand-in did not load in CI: " + why);
        }
        Assumptions.assumeTrue(ok, () -> "CUDA stand-in suite skipped: " + why);
    }
}
