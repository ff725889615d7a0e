package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The nested program (the suite of {@link NestedEmulatedTest}) with its encoder and decoder through cuBLAS (JCublas2 over the stand-in libcublas.so.12), on JCudaDevice over the CPU stand-in. */
class NestedCublasStandInTest extends NestedEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }

    @Override
    KernelChecks.DenseFactory dense() {
        return GpuCheck.CUBLAS;
    }
}
