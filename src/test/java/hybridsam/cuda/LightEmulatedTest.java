package hybridsam.cuda;

import hybridsam.cpu.CpuBackend;
import hybridsam.io.ConfigException;
import hybridsam.model.Hybrid;
import hybridsam.model.Split;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import hybridsam.train.TrainingEngine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The light-tunnel program on the emulated device: the whole gradient against LightReference,
 * against a finite difference of the device's own loss, determinism, and the engine running it
 * through its captured step (chosen by capability, one graph per batch size, nothing leaked).
 */
class LightEmulatedTest extends EmulatedDeviceTests {

    ConvChecks.ConvFactory conv() {
        return ConvChecks.KERNELS;
    }

    @TestFactory
    Stream<DynamicTest> gradientMatchesReference() {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        return Stream.of(
                LightChecks.gradient(dev, conv(), 2, 3, 7, 6, new int[]{4, 3}, rng),
                LightChecks.gradient(dev, conv(), 1, 2, 5, 9, new int[]{3}, rng))
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    /** Central differences of the device's own loss along random directions in θ, in φ and in both. */
    @Test
    void gradientMatchesFiniteDifferenceOfDeviceLoss() {
        SplittableRandom rng = new SplittableRandom(17);
        LightHybrid m = LightChecks.hybrid(6, 7, new int[]{4, 3});
        int K = 2, B = 3, P = m.parameterCount();
        LightHybrid.Samples data = LightChecks.randomSamples(m, B + 2, rng);
        float[] p = LightChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] g = new float[K * P];
        double[] l = new double[K];
        LightChecks.deviceGradient(dev, conv(), m, p, data, batch, B, g, l);
        for (int trial = 0; trial < 3; trial++) {
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
                LightChecks.deviceGradient(dev, conv(), m, q, data, batch, B, new float[K * P], ls[side]);
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
        SplittableRandom rng = new SplittableRandom(4);
        LightHybrid m = LightChecks.hybrid(5, 5, new int[]{3});
        int K = 2, B = 2, P = m.parameterCount();
        LightHybrid.Samples data = LightChecks.randomSamples(m, B + 1, rng);
        float[] p = LightChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[][] g = new float[2][K * P];
        double[][] l = new double[2][K];
        for (int run = 0; run < 2; run++) LightChecks.deviceGradient(dev, conv(), m, p, data, batch, B, g[run], l[run]);
        assertArrayEquals(g[0], g[1]);
        assertArrayEquals(l[0], l[1]);
        assertEquals(before, liveBuffers());
    }

    /** An evaluator the engine tests never call (evaluation is the CPU backend's, tested there). */
    static CpuBackend unusedEvaluator(Hybrid m) {
        return new CpuBackend() {
            @Override
            public Hybrid model() {
                return m;
            }

            @Override
            public int threads() {
                return 1;
            }

            @Override
            public double meanSquaredError(float[] params, int pOff, Split data, boolean useNet) {
                throw new UnsupportedOperationException();
            }

            @Override
            public TrainingEngine.Metrics evaluate(float[] params, int pOff, Split data) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void lossAndGradient(int K, float[] params, Split data, int[] batch, int B, float[] grads, double[] losses) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * The engine takes the light-tunnel program by capability; its captured erm step gives the
     * reference loss at the starting parameters, and one graph per batch size; nothing leaks.
     */
    @Test
    void engineRunsTheProgramInCapturedSteps() {
        int before = liveBuffers();
        SplittableRandom rng = new SplittableRandom(9);
        LightHybrid m = LightChecks.hybrid(5, 6, new int[]{3});
        assertTrue(CudaTrainingEngine.supports(m).isEmpty());
        assertTrue(CudaTrainingEngine.supports(m, NnEngine.KERNELS).isEmpty());
        assertEquals("cublas has no convolutions; use --nn-engine kernels or cudnn",
                CudaTrainingEngine.supports(m, NnEngine.CUBLAS).orElseThrow());
        LightHybrid.Samples data = LightChecks.randomSamples(m, 7, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.ERM, false, false, 0), KernelChecks.rule(Method.FSAM, false, false, 0)};
        int K = rules.length, B = 3, P = m.parameterCount();
        float[] p = LightChecks.randomParams(m, K, rng);
        assertThrows(ConfigException.class, () -> new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.CUBLAS, unusedEvaluator(m)));
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p, NnEngine.KERNELS, unusedEvaluator(m))) {
            assertNull(e.rollout());
            int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
            double[] lRef = LightReference.lossAndGradient(m, ConvChecks.toDouble(p), data.inputs(), data.images(), batch, B,
                    new double[K * P]);
            double[] l = e.step(batch, B);
            for (int r = 0; r < K; r++) assertEquals(lRef[r], l[r], 1e-4 * lRef[r], "replica " + r);
            for (int b : new int[]{2, 3}) e.advance(KernelChecks.randomBatch(K, b, data.count(), rng), b);
            assertEquals(2, e.drainLosses().steps());
            assertEquals(2, e.graphsCaptured());
            assertTrue(e.describe().contains("hs_conv3"), e.describe());
        }
        assertEquals(before, liveBuffers());
    }

    /** Other hybrids are refused with a reason. */
    @Test
    void otherHybridsAreRefusedWithAReason() {
        Hybrid other = new Hybrid() {
            @Override
            public hybridsam.model.ThetaSpec thetaSpec() {
                return hybridsam.model.ThetaSpec.linear(List.of("a"), new double[]{0}, new double[]{1});
            }

            @Override
            public int parameterCount() {
                return 1;
            }

            @Override
            public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
            }

            @Override
            public java.util.Map<String, Object> describe() {
                return java.util.Map.of();
            }
        };
        assertTrue(CudaTrainingEngine.supports(other).orElseThrow().contains("no gradient program"));
    }
}
