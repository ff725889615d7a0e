package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The layer-wise suite of {@link LayerwiseEmulatedTest} with its dense layers through cuDNN (JCudnn over the stand-in libcudnn.so.9), on JCudaDevice over the CPU stand-in. */
class CudnnStandInTest extends LayerwiseEmulatedTest {
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
        return GpuCheck.CUDNN;
    }
}
