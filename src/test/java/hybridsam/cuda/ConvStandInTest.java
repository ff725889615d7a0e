package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The convolutional path (the suite of {@link ConvEmulatedTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class ConvStandInTest extends ConvEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
