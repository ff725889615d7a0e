package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The convolutional path (the suite of {@link ConvEmulatedTest}) with cuDNN's convolutions (CudnnConvOps) on the CPU stand-ins for libcuda and libcudnn. */
class ConvCudnnStandInTest extends ConvEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }

    @Override
    ConvChecks.ConvFactory conv() {
        return d -> new CudnnConvOps((JCudaDevice) d);
    }
}
