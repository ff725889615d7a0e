package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The layer-wise suite of {@link LayerwiseEmulatedTest} with its dense layers through cuBLAS (JCublas2 over the stand-in libcublas.so.12), on JCudaDevice over the CPU stand-in. */
class CublasStandInTest extends LayerwiseEmulatedTest {
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
