package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The layer-wise gradient path with the project's GEMM kernels (the suite of {@link LayerwiseEmulatedTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class LayerwiseStandInTest extends LayerwiseEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
