package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The wind-tunnel program (the suite of {@link WindEmulatedTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class WindStandInTest extends WindEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
