package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * Opens the emulated device once per test class; skips the class where the library was not built.
 * The stand-in suites (*StandInTest) extend the same test classes and hide {@link #open} and
 * {@link #close} with a JCudaDevice over the CPU stand-ins, so one suite runs on both.
 */
abstract class EmulatedDeviceTests {
    static Device dev;

    @BeforeAll
    static void open() {
        String why = EmulatedDevice.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "emulated CUDA device skipped: " + why);
        dev = EmulatedDevice.open();
    }

    @AfterAll
    static void close() {
        if (dev != null) dev.close();
        dev = null;
    }

    /** Device buffers not freed yet, on either device (for leak checks). */
    static int liveBuffers() {
        return dev instanceof EmulatedDevice e ? e.liveBuffers() : StandIn.liveAllocations();
    }

    /** The stand-in suites' device: JCudaDevice over the CPU stand-ins; skipped where they are not loaded. */
    static void openStandIn() {
        StandInSuites.assume();
        dev = JCudaDevice.open(0);
        StandIn.clearReport();
    }

    /** Closes the stand-in device and fails when the stand-in reported a fault or a refusal nobody expected. */
    static void closeStandIn() {
        String report = StandIn.active() ? StandIn.lastReport() : "";
        try {
            if (dev != null) dev.close();
        } finally {
            dev = null;
        }
        org.junit.jupiter.api.Assertions.assertEquals("", report, "the CUDA stand-in reported");
    }
}
