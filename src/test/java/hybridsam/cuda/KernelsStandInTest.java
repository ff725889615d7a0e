package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Every kernel against the Java reference (the suite of {@link EmulatedKernelsTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class KernelsStandInTest extends EmulatedKernelsTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
