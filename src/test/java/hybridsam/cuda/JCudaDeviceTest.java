package hybridsam.cuda;

import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same comparisons on a real GPU through JCuda; skipped where the probe says no. */
class JCudaDeviceTest {
    static JCudaDevice dev;

    @BeforeAll
    static void open() {
        CudaProbe.Verdict v = CudaProbe.standard().probe();
        Assumptions.assumeTrue(v.available(), () -> "GPU tests skipped: " + v.reason());
        dev = JCudaDevice.open(0);
    }

    @AfterAll
    static void close() {
        if (dev != null) dev.close();
    }

    @TestFactory
    Stream<DynamicTest> kernelsMatchJavaReference() {
        long seed = System.nanoTime();
        return KernelChecks.all(dev, seed, !StandIn.active()).stream().map(c -> DynamicTest.dynamicTest(c.name(),
                () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    @Test
    void everyRuleMatchesCpuEngine() {
        for (Method m : Method.values()) {
            RuleConfig[] rules = {KernelChecks.rule(m, false, false, 0), KernelChecks.rule(m, true, true, 0)};
            KernelChecks.Check c = KernelChecks.engine(dev, new PendulumModel(), rules, 37, 12, new int[]{16, 16}, 4, 11);
            assertTrue(c.passed(), c::toString);
        }
    }
}
