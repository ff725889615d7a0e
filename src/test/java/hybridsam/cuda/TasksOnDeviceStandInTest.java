package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The tasks' hybrids on the device (the suite of {@link TasksOnDeviceEmulatedTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class TasksOnDeviceStandInTest extends TasksOnDeviceEmulatedTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
