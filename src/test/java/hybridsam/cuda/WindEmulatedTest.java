package hybridsam.cuda;

import hybridsam.io.ConfigException;
import hybridsam.model.Activation;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wind-tunnel program on the emulated device: the loss against WindReference, the gradient
 * against finite differences of the device's own loss (θ, each network, all), determinism, and the
 * engine running it in captured steps.
 */
class WindEmulatedTest extends EmulatedDeviceTests {

    @TestFactory
    Stream<DynamicTest> lossMatchesReference() {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        return Stream.of(
                WindChecks.loss(dev, 2, 3, 6, new int[]{5, 4}, Activation.TANH, rng),
                WindChecks.loss(dev, 1, 2, 4, new int[]{6}, Activation.LEAKY_RELU, rng))
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    /** Central differences of the device's loss in float64 steps along directions in θ, the fan net, the pressure net, and all. */
    @Test
    void gradientMatchesFiniteDifferenceOfDeviceLoss() {
        SplittableRandom rng = new SplittableRandom(23);
        WindHybrid m = WindChecks.hybrid(new int[]{5, 4}, Activation.TANH, 4);
        int K = 2, B = 3, P = m.parameterCount();
        WindHybrid.Samples data = WindChecks.randomSamples(B + 2, 5, rng);
        float[] p = WindChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] g = new float[K * P];
        double[] l = new double[K];
        WindChecks.deviceGradient(dev, m, p, data, batch, B, g, l);
        int[][] ranges = {{0, m.fanOffset()}, {m.fanOffset(), m.pressureOffset()}, {m.pressureOffset(), P}, {0, P}};
        for (int trial = 0; trial < ranges.length; trial++) {
            double[] dir = new double[K * P];
            double norm = 0;
            for (int r = 0; r < K; r++) {
                for (int i = ranges[trial][0]; i < ranges[trial][1]; i++) dir[r * P + i] = rng.nextGaussian();
            }
            for (double d : dir) norm += d * d;
            norm = Math.sqrt(norm);
            double eps = 1e-2;
            double[][] ls = new double[2][K];
            for (int side = 0; side < 2; side++) {
                float[] q = p.clone();
                for (int i = 0; i < q.length; i++) q[i] += (float) ((side == 0 ? eps : -eps) * dir[i] / norm);
                ls[side] = WindReference.loss(m, ConvChecks.toDouble(q), data, batch, B);
            }
            for (int r = 0; r < K; r++) {
                double fd = (ls[0][r] - ls[1][r]) / (2 * eps), an = 0;
                for (int i = 0; i < P; i++) an += g[r * P + i] * dir[r * P + i] / norm;
                assertEquals(fd, an, 0.02 * Math.abs(fd) + 1e-6, "trial " + trial + " replica " + r);
            }
        }
    }

    @Test
    void gradientIsDeterministicAndFreesItsBuffers() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(6);
        WindHybrid m = WindChecks.hybrid(new int[]{4}, Activation.TANH, 4);
        int K = 2, B = 2, P = m.parameterCount();
        WindHybrid.Samples data = WindChecks.randomSamples(B + 1, 4, rng);
        float[] p = WindChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[][] g = new float[2][K * P];
        double[][] l = new double[2][K];
        for (int run = 0; run < 2; run++) WindChecks.deviceGradient(dev, m, p, data, batch, B, g[run], l[run]);
        assertArrayEquals(g[0], g[1]);
        assertArrayEquals(l[0], l[1]);
        assertEquals(before, liveBuffers());
    }

    @Test
    void engineRunsTheProgramInCapturedSteps() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(8);
        WindHybrid m = WindChecks.hybrid(new int[]{4, 4}, Activation.TANH, 4);
        assertTrue(CudaTrainingEngine.supports(m).isEmpty());
        assertTrue(CudaTrainingEngine.supports(m, NnEngine.KERNELS).isEmpty());
        assertTrue(CudaTrainingEngine.supports(m, NnEngine.CUDNN).orElseThrow().contains("own kernel"));
        WindHybrid.Samples data = WindChecks.randomSamples(6, 4, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.SAM, false, false, 0), KernelChecks.rule(Method.ERM, false, false, 0)};
        int K = rules.length, B = 3;
        float[] p = WindChecks.randomParams(m, K, rng);
        assertThrows(ConfigException.class, () -> new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.CUBLAS,
                LightEmulatedTest.unusedEvaluator(m)));
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.KERNELS, LightEmulatedTest.unusedEvaluator(m))) {
            int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
            double[] lRef = WindReference.loss(m, ConvChecks.toDouble(p), data, batch, B);
            double[] l = e.step(batch, B);
            for (int r = 0; r < K; r++) assertEquals(lRef[r], l[r], 1e-4 * lRef[r], "replica " + r);
            for (int b : new int[]{2, 3}) e.advance(KernelChecks.randomBatch(K, b, data.count(), rng), b);
            assertEquals(2, e.drainLosses().steps());
            assertEquals(2, e.graphsCaptured());
        }
        assertEquals(before, liveBuffers());
    }
}
