package hybridsam.cpu;

import hybridsam.io.ConfigException;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.tasks.PendulumModel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryBudgetTest {
    private static OdeHybrid model(int spf, int... hidden) {
        int[] w = new int[hidden.length + 2];
        w[0] = 2;
        w[w.length - 1] = 2;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        return new OdeHybrid(new PendulumModel(), new MlpShape(w, Activation.TANH), 0.1, spf);
    }

    @Test
    void theDefaultRunFits() {
        assertDoesNotThrow(() -> MemoryBudget.checkCpu(model(2, 64, 64), 1, 64, 50, 2, "test"));
        long one = MemoryBudget.cpuBytes(model(2, 64, 64), 1, 64, 50, 2, "test");
        long many = MemoryBudget.cpuBytes(model(2, 64, 64), 64, 64, 50, 2, "test");
        assertTrue(one > 1 << 20 && many > one, one + " " + many);
    }

    @Test
    void manyReplicasOfAWideNetworkAreRefusedWithTheBytes() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> MemoryBudget.checkCpu(model(2, 4096, 4096), 64, 64, 50, 2, "--replicas 64 --hidden 4096,4096"));
        assertTrue(e.getMessage().contains("--replicas 64") && e.getMessage().contains("bytes") && e.getMessage().contains("-Xmx"),
                e.getMessage());
    }

    @Test
    void anArraySizeThatOverflowsIsRefusedNotWrapped() {
        // 49 frames x 100000 steps per frame x 4 stages x 4096 units x 64 samples overflows an int
        ConfigException e = assertThrows(ConfigException.class,
                () -> MemoryBudget.cpuBytes(model(100000, 4096), 1, 64, 50, 1, "--rk4-step 2e-6"));
        assertTrue(e.getMessage().contains("--rk4-step 2e-6") && e.getMessage().contains("Java array"), e.getMessage());
    }
}
