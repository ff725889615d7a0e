package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/** Opens the emulated device once per test class; skips the class where the library was not built. */
abstract class EmulatedDeviceTests {
    static EmulatedDevice dev;

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
}
