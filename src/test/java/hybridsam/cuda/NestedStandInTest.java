package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The nested program (the suite of {@link NestedEmulatedTest}, dense layers on the project's GEMM kernels) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class NestedStandInTest extends NestedEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
