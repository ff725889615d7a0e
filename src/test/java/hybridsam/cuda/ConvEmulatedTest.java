package hybridsam.cuda;

import hybridsam.model.Sequences;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The convolutional path on the emulated device: the grid kernels and the whole reaction-diffusion
 * gradient against GridReference (ConvChecks, also part of EmulatedKernelsTest's plan), the
 * device gradient against a finite difference of the device loss, and determinism.
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
                ConvChecks.gradient(dev, conv(), 2, 3, 4, 1, 6, 5, new int[]{2, 4, 3, 2}, rng)), seed);
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
