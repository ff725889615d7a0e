package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The light-tunnel program (the suite of {@link LightEmulatedTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class LightStandInTest extends LightEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
