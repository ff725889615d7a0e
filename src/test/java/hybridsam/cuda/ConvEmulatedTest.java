package hybridsam.cuda;

import hybridsam.io.ConfigException;
import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.PendulumModel;
import hybridsam.tasks.ReactionDiffusionModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The convolutional path on the emulated device: the grid kernels and the whole reaction-diffusion
 * gradient against GridReference and the CPU backend (ConvChecks, also part of
 * EmulatedKernelsTest's plan), the device gradient against a finite difference of the device
 * loss, determinism, and captured training steps through CudaTrainingEngine against the CPU engine.
 */
class ConvEmulatedTest extends EmulatedDeviceTests {

    ConvChecks.ConvFactory conv() {
        return ConvChecks.KERNELS;
    }

    private static Stream<DynamicTest> asTests(List<KernelChecks.Check> checks, long seed) {
        return checks.stream().map(c -> DynamicTest.dynamicTest(c.name(),
                () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    @TestFactory
    Stream<DynamicTest> convolutionsMatchReference() {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        return asTests(List.of(
                ConvChecks.convLayer(dev, conv(), 2, 3, 2, 5, 6, 5, rng),
                ConvChecks.convLayer(dev, conv(), 3, 2, 16, 3, 5, 6, rng),
                ConvChecks.gradient(dev, conv(), 2, 3, 4, 1, 6, 5, new int[]{2, 4, 3, 2}, rng),
                ConvChecks.gradientVsCpu(dev, conv(), 2, 3, 4, 6, 5, new int[]{2, 4, 3, 2}, rng)), seed);
    }

    /** One captured step after another of erm and of fsam (with erm beside it) through CudaTrainingEngine against CpuTrainingEngine. */
    @TestFactory
    Stream<DynamicTest> engineStepsMatchCpuEngine() {
        long seed = System.nanoTime();
        return asTests(List.of(
                ConvChecks.engine(dev, conv(), new RuleConfig[]{KernelChecks.rule(Method.ERM, false, false, 0)},
                        3, 4, 6, 5, new int[]{2, 4, 3, 2}, 2, seed),
                ConvChecks.engine(dev, conv(), new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 1e-2),
                        KernelChecks.rule(Method.ERM, false, false, 0)}, 3, 3, 5, 6, new int[]{2, 3, 2}, 2, seed + 1)), seed);
    }

    /** The engine takes the convolutional path for a conv corrector, captures one graph per batch size and frees everything. */
    @Test
    void engineCapturesOneGraphPerBatchSizeAndFreesItsBuffers() {
        int before = liveBuffers();
        OdeHybrid model = ConvChecks.reactionDiffusion(4, 3, new int[]{2, 3, 2});
        SplittableRandom rng = new SplittableRandom(3);
        GridHybrid m = ConvOdeGradient.grid(model);
        Sequences data = ConvChecks.randomSequences(m, 6, 3, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 0), KernelChecks.rule(Method.SAM, true, true, 0)};
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, model, data, rules, ConvChecks.randomParams(m, 2, rng),
                conv().open(dev))) {
            assertTrue(e.convolutional());
            assertFalse(e.layerwise());
            for (int B : new int[]{3, 2, 3}) e.advance(KernelChecks.randomBatch(2, B, 6, rng), B);
            assertEquals(3, e.drainLosses().steps());
            assertEquals(2, e.graphsCaptured());
        }
        assertEquals(before, liveBuffers());
    }

    /** Which program runs which model, and the reasons for what none runs. */
    @Test
    void programsAreChosenByCapability() {
        OdeHybrid rd = ConvChecks.reactionDiffusion(4, 3, new int[]{2, 3, 2});
        OdeHybrid pend = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 1, 8);
        assertTrue(ConvOdeGradient.supports(rd).isEmpty());
        assertTrue(StepKernels.supports(rd).orElseThrow().contains("MLP correctors"));
        assertTrue(StepKernels.supports(pend).isEmpty());
        assertTrue(ConvOdeGradient.supports(pend).orElseThrow().contains("convolutional correctors"));
        assertTrue(CudaTrainingEngine.supports(rd).isEmpty() && CudaTrainingEngine.supports(pend).isEmpty());
        OdeHybrid otherGrid = new OdeHybrid(ReactionDiffusionModel.onUnitSquare(4, 3),
                new ConvShape(new int[]{2, 3, 2}, 3, 4, Activation.LEAKY_RELU), 0.1, 1);  // transposed grid: same state size
        assertTrue(CudaTrainingEngine.supports(otherGrid).orElseThrow().contains("differs"));
        SplittableRandom rng = new SplittableRandom(1);
        GridHybrid m = ConvOdeGradient.grid(rd);
        Sequences data = ConvChecks.randomSequences(m, 4, 3, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.ERM, false, false, 0)};
        float[] p = ConvChecks.randomParams(m, 1, rng);
        ConfigException e = assertThrows(ConfigException.class, () -> new CudaTrainingEngine(dev, rd, data, rules, p, NnEngine.CUBLAS));
        assertEquals("--nn-engine cublas: cublas has no convolutions; use --nn-engine kernels or cudnn", e.getMessage());
        try (CudaTrainingEngine k = new CudaTrainingEngine(dev, rd, data, rules, p, NnEngine.KERNELS)) {
            assertTrue(k.convolutional());
            assertNull(k.rollout());
        }
    }

    /**
     * The device's gradient against central differences of the device's own loss along random
     * directions (float32 loss: a step of 1e-2 along a unit direction, 2% of the derivative).
     */
    @Test
    void gradientMatchesFiniteDifferenceOfDeviceLoss() {
        SplittableRandom rng = new SplittableRandom(21);
        GridHybrid m = ConvChecks.hybrid(6, 5, 1, new int[]{2, 4, 3, 2});
        int K = 2, B = 3, frames = 4, P = m.parameterCount();
        Sequences data = ConvChecks.randomSequences(m, B + 2, frames, rng);
        float[] p = ConvChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] g = new float[K * P];
        double[] l = new double[K];
        ConvChecks.deviceGradient(dev, conv(), m, p, data, batch, B, g, l);
        for (int trial = 0; trial < 3; trial++) {
            // a direction in θ alone, in φ alone, and in both
            double[] dir = new double[K * P];
            double norm = 0;
            for (int r = 0; r < K; r++) {
                for (int i = 0; i < P; i++) {
                    boolean on = trial == 2 || (trial == 0) == (i < m.thetaCount());
                    dir[r * P + i] = on ? rng.nextGaussian() : 0;
                }
            }
            for (double d : dir) norm += d * d;
            norm = Math.sqrt(norm);
            double eps = 1e-2;
            double[][] ls = new double[2][K];
            for (int side = 0; side < 2; side++) {
                float[] q = p.clone();
                for (int i = 0; i < q.length; i++) q[i] += (float) ((side == 0 ? eps : -eps) * dir[i] / norm);
                ConvChecks.deviceGradient(dev, conv(), m, q, data, batch, B, new float[K * P], ls[side]);
            }
            for (int r = 0; r < K; r++) {
                double fd = (ls[0][r] - ls[1][r]) / (2 * eps), an = 0;
                for (int i = 0; i < P; i++) an += g[r * P + i] * dir[r * P + i] / norm;
                assertEquals(fd, an, 0.02 * Math.abs(fd) + 1e-6, "trial " + trial + " replica " + r);
            }
        }
    }

    /** Two runs give the same bits (fixed-order sums, no atomics), and nothing leaks. */
    @Test
    void gradientIsDeterministicAndFreesItsBuffers() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(5);
        GridHybrid m = ConvChecks.hybrid(5, 7, 1, new int[]{2, 6, 2});
        int K = 2, B = 3, frames = 3, P = m.parameterCount();
        Sequences data = ConvChecks.randomSequences(m, B + 1, frames, rng);
        float[] p = ConvChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[][] g = new float[2][K * P];
        double[][] l = new double[2][K];
        for (int run = 0; run < 2; run++) ConvChecks.deviceGradient(dev, conv(), m, p, data, batch, B, g[run], l[run]);
        assertArrayEquals(g[0], g[1]);
        assertArrayEquals(l[0], l[1]);
        assertEquals(before, liveBuffers());
    }
}
