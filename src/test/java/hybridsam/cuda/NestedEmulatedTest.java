package hybridsam.cuda;

import hybridsam.cpu.CpuNestedBackend;
import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.NestedHybrid;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nested hybrid's kernels and program (NestedGradient) on the emulated device: each kernel
 * against NestedReference, the whole gradient against NestedReference and CpuNestedBackend,
 * determinism, and the engine running it in captured steps.
 */
class NestedEmulatedTest extends EmulatedDeviceTests {

    /** The dense layers under test (a stand-in suite runs the same tests through cuBLAS). */
    KernelChecks.DenseFactory dense() {
        return KernelChecks.KERNEL_DENSE;
    }

    private static Stream<DynamicTest> asTests(List<KernelChecks.Check> checks, long seed) {
        return checks.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            System.out.println(c);
            assertTrue(c.passed(), () -> c + " (seed " + seed + ")");
        }));
    }

    @TestFactory
    Stream<DynamicTest> kernelsMatchReference() {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        List<KernelChecks.Check> out = new ArrayList<>();
        out.add(NestedChecks.gatherResidual(dev, 2, 5, 6, 7, 4, rng));
        out.add(NestedChecks.gatherResidual(dev, 1, 3, 1, 300, 3, rng));
        out.add(NestedChecks.rollout(dev, new PendulumModel(), Activation.TANH, 2, 67, 5, 2, new int[]{8, 8}, rng));
        out.add(NestedChecks.rollout(dev, new DuffingModel(), Activation.SOFTPLUS, 3, 5, 4, 1, new int[]{6, 5}, rng));
        return asTests(out, seed);
    }

    @TestFactory
    Stream<DynamicTest> gradientMatchesReference() {
        long seed = System.nanoTime();
        return asTests(NestedChecks.gradients(dev, dense(), new SplittableRandom(seed)), seed);
    }

    /** Loss within 2e-5 relative and gradient within 1e-4 of its norm of CpuNestedBackend's, K = 2 (skipped until that backend exists). */
    @Test
    void gradientMatchesCpuBackend() {
        SplittableRandom rng = new SplittableRandom(31);
        NestedHybrid m = NestedHybrid.mlp(KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 2, 16, 16), 6, 5, Activation.TANH);
        int K = 2, B = 5, T = 6, P = m.parameterCount();
        ImageSequences data = NestedChecks.randomImages(m, B + 3, T, rng);
        float[] p = NestedChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] gCpu = new float[K * P];
        double[] lCpu = new double[K];
        try (CpuNestedBackend cpu = new CpuNestedBackend(m, 1)) {
            cpu.lossAndGradient(K, p, data, batch, B, gCpu, lCpu);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("CpuNestedBackend not implemented on this branch: " + e.getMessage());
        }
        float[] g = new float[K * P];
        double[] l = new double[K];
        String[] what = new String[1];
        NestedChecks.deviceGradient(dev, dense(), m, p, data, batch, B, g, l, what);
        for (int r = 0; r < K; r++) {
            assertEquals(lCpu[r], l[r], 2e-5 * Math.abs(lCpu[r]), "loss of replica " + r);
            double diff = 0, norm = 0;
            for (int i = r * P; i < (r + 1) * P; i++) {
                diff += (g[i] - gCpu[i]) * (double) (g[i] - gCpu[i]);
                norm += gCpu[i] * (double) gCpu[i];
            }
            double rel = Math.sqrt(diff / norm);
            System.out.printf("nested vs CpuNestedBackend [%s] replica %d: loss rel %.2e, gradient rel %.2e%n",
                    what[0], r, Math.abs(l[r] - lCpu[r]) / lCpu[r], rel);
            assertTrue(rel < 1e-4, "gradient of replica " + r + " off by " + rel + " of its norm");
        }
    }

    @Test
    void gradientIsDeterministicAndFreesItsBuffers() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(4);
        NestedHybrid m = NestedChecks.hybrid(new PendulumModel(), Activation.TANH, 4, 3, 1, 8);
        int K = 2, B = 3, P = m.parameterCount();
        ImageSequences data = NestedChecks.randomImages(m, B + 1, 4, rng);
        float[] p = NestedChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[][] g = new float[2][K * P];
        double[][] l = new double[2][K];
        for (int run = 0; run < 2; run++) NestedChecks.deviceGradient(dev, dense(), m, p, data, batch, B, g[run], l[run], null);
        assertArrayEquals(g[0], g[1]);
        assertArrayEquals(l[0], l[1]);
        assertEquals(before, liveBuffers());
    }

    /** The engine takes the nested program by capability; its captured erm step gives the reference loss; one graph per batch size. */
    @Test
    void engineRunsTheProgramInCapturedSteps() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(9);
        NestedHybrid m = NestedChecks.hybrid(new PendulumModel(), Activation.TANH, 4, 5, 1, 8);
        assertTrue(CudaTrainingEngine.supports(m).isEmpty(), () -> CudaTrainingEngine.supports(m).orElse(""));
        for (NnEngine e : NnEngine.values()) assertTrue(CudaTrainingEngine.supports(m, e).isEmpty(), e.id());
        ImageSequences data = NestedChecks.randomImages(m, 7, 4, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.ERM, false, false, 0), KernelChecks.rule(Method.FSAM, false, false, 0)};
        int K = rules.length, B = 3, P = m.parameterCount();
        float[] p = NestedChecks.randomParams(m, K, rng);
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.KERNELS, LightEmulatedTest.unusedEvaluator(m))) {
            int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
            double[] lRef = NestedReference.lossAndGradient(m, NestedChecks.toDouble(p), data, batch, B, new double[K * P]);
            double[] l = e.step(batch, B);
            for (int r = 0; r < K; r++) assertEquals(lRef[r], l[r], 2e-5 * lRef[r], "replica " + r);
            for (int b : new int[]{2, 3}) e.advance(KernelChecks.randomBatch(K, b, data.count(), rng), b);
            assertEquals(2, e.drainLosses().steps());
            assertEquals(2, e.graphsCaptured());
            assertTrue(e.describe().contains("hs_gemm"), e.describe());
        }
        assertEquals(before, liveBuffers());
    }
}
