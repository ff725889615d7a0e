package hybridsam.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Full training steps of every rule, replicas, the loss tally and the graph cache (the suite of {@link EmulatedTrainingEngineTest}) through JCudaDevice, JCuda's real JNI library and the CPU stand-in for libcuda. */
class TrainingEngineStandInTest extends EmulatedTrainingEngineTest {
    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }
}
