package hybridsam.cpu;

import hybridsam.io.ConfigException;
import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.train.TrainingEngine;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nested backend's numbers do not depend on what must not matter (threads, replicas run
 * together, how sequences are grouped into chunks), and its loss, MSE, predictions and metrics
 * agree with one another.
 */
class NestedBackendTest {
    private static final int H = 6, W = 6, FRAMES = 4;
    private final NestedHybrid m = NestedFixtures.nested(Activation.TANH, H, W, 8);
    private final ImageSequences data = NestedFixtures.images(45, FRAMES, H, W, 31);

    @Test
    void oneOrTwoThreadsAndReplicasTogetherOrAloneGiveTheSameBits() {
        int K = 3, B = 37, P = m.parameterCount();  // 37: more than one chunk, the last one part full
        assertTrue((B + CpuNestedBackend.chunkFor(B) - 1) / CpuNestedBackend.chunkFor(B) > 1);
        float[] p = NestedFixtures.params(m, K, 8);
        int[] batch = new int[K * B];
        for (int i = 0; i < batch.length; i++) batch[i] = (i * 11 + i / B) % data.count();
        float[] g1 = new float[p.length], g2 = new float[p.length];
        double[] l1 = new double[K], l2 = new double[K];
        try (CpuNestedBackend one = new CpuNestedBackend(m, 1); CpuNestedBackend two = new CpuNestedBackend(m, 2)) {
            one.lossAndGradient(K, p, data, batch, B, g1, l1);
            two.lossAndGradient(K, p, data, batch, B, g2, l2);
            assertArrayEquals(l1, l2, 0.0);
            assertArrayEquals(g1, g2, 0f);
            for (int r = 0; r < K; r++) {
                float[] pr = Arrays.copyOfRange(p, r * P, (r + 1) * P), gr = new float[P];
                double[] lr = new double[1];
                two.lossAndGradient(1, pr, data, Arrays.copyOfRange(batch, r * B, (r + 1) * B), B, gr, lr);
                assertEquals(l1[r], lr[0], 0.0, "replica " + r);
                assertArrayEquals(Arrays.copyOfRange(g1, r * P, (r + 1) * P), gr, 0f, "replica " + r);
            }
            assertEquals(one.meanSquaredError(p, P, data, true), two.meanSquaredError(p, P, data, true), 0.0);
            assertEquals(one.evaluate(p, 2 * P, data), two.evaluate(p, 2 * P, data));
        }
    }

    @Test
    void meanSquaredErrorIsTheLossOnTheWholeSplitAndPredictAgrees() {
        float[] p = NestedFixtures.params(m, 1, 9);
        int n = data.count(), T = data.frames(), px = H * W;
        try (CpuNestedBackend b = new CpuNestedBackend(m, 2)) {
            double[] l = new double[1];
            b.lossAndGradient(1, p, data, NestedFixtures.range(n), n, new float[p.length], l);
            double mse = b.meanSquaredError(p, 0, data, true);
            assertEquals(l[0], mse, 0.0, "same chunks, same order");

            float[] y = b.predict(p, 0, data, NestedFixtures.range(n), true);
            assertEquals(n * T * px, y.length);
            double sq = 0;
            for (int i = 0; i < y.length; i++) {
                assertTrue(y[i] >= 0 && y[i] <= 1, "a sigmoid image");
                float r = y[i] - data.images()[i];  // predict's layout is the data's: [n][T][H][W]
                sq += (double) r * r;
            }
            assertEquals(mse, sq / y.length, 1e-12 * mse);

            double sciOnly = b.meanSquaredError(p, 0, data, false);
            assertNotEquals(mse, sciOnly);
            float[] ySci = b.predict(p, 0, data, NestedFixtures.range(n), false);
            double sqSci = 0;
            for (int i = 0; i < ySci.length; i++) {
                float r = ySci[i] - data.images()[i];
                sqSci += (double) r * r;
            }
            assertEquals(sciOnly, sqSci / ySci.length, 1e-12 * sciOnly);

            TrainingEngine.Metrics e = b.evaluate(p, 0, data);
            assertEquals(mse, e.mse(), 0.0);
            assertEquals(sciOnly, e.scienceOnlyMse(), 0.0);
            assertTrue(e.networkShare() > 0 && e.networkShare() < 1, "share " + e.networkShare());
        }
    }

    /** A corrector whose output layer is zero adds exactly nothing: with or without it, the same images; its share is 0. */
    @Test
    void aSilentCorrectorIsTheScienceAlone() {
        float[] p = NestedFixtures.params(m, 1, 10);
        MlpShape c = m.ode().mlp();
        int last = c.layers() - 1;
        Arrays.fill(p, m.correctorOffset() + c.weightOffset(last), m.correctorOffset() + c.parameterCount(), 0f);
        try (CpuNestedBackend b = new CpuNestedBackend(m, 2)) {
            int[] all = NestedFixtures.range(data.count());
            assertArrayEquals(b.predict(p, 0, data, all, false), b.predict(p, 0, data, all, true), 0f);
            TrainingEngine.Metrics e = b.evaluate(p, 0, data);
            assertEquals(e.scienceOnlyMse(), e.mse(), 0.0);
            assertEquals(0.0, e.networkShare(), 0.0);
        }
    }

    /** A sequence's prediction and code are the same bits whichever chunk, column and company it is computed in. */
    @Test
    void predictionsDoNotDependOnChunking() {
        float[] p = NestedFixtures.params(m, 2, 11);
        int P = m.parameterCount(), T = data.frames(), px = H * W, D = m.stateDim();
        try (CpuNestedBackend b = new CpuNestedBackend(m, 2)) {
            int[] all = NestedFixtures.range(data.count());
            float[] y = b.predict(p, P, data, all, true);
            float[] z = b.encode(p, P, data, all);
            int[] some = {44, 3, 17, 3, 0};
            float[] ySome = b.predict(p, P, data, some, true);
            float[] zSome = b.encode(p, P, data, some);
            for (int i = 0; i < some.length; i++) {
                assertArrayEquals(Arrays.copyOfRange(y, some[i] * T * px, (some[i] + 1) * T * px),
                        Arrays.copyOfRange(ySome, i * T * px, (i + 1) * T * px), 0f, "sequence " + some[i]);
                assertArrayEquals(Arrays.copyOfRange(z, some[i] * D, (some[i] + 1) * D),
                        Arrays.copyOfRange(zSome, i * D, (i + 1) * D), 0f, "sequence " + some[i]);
            }
        }
    }

    /** The encoder reads the first frames only: changing a later frame moves no code, but the loss. */
    @Test
    void theEncoderReadsTheFirstFramesOnly() {
        float[] p = NestedFixtures.params(m, 1, 12);
        ImageSequences changed = new ImageSequences(data.images().clone(), data.count(), FRAMES, H, W, 0.2);
        int s = 5;
        for (int q = 0; q < H * W; q++) changed.images()[changed.frameOffset(s, NestedHybrid.ENCODER_FRAMES) + q] = 0.5f;
        try (CpuNestedBackend b = new CpuNestedBackend(m, 1)) {
            int[] all = NestedFixtures.range(data.count());
            assertArrayEquals(b.encode(p, 0, data, all), b.encode(p, 0, changed, all), 0f);
            assertNotEquals(b.meanSquaredError(p, 0, data, true), b.meanSquaredError(p, 0, changed, true));
            changed.images()[changed.frameOffset(s, NestedHybrid.ENCODER_FRAMES - 1)] += 0.5f;
            assertNotEquals(b.encode(p, 0, data, all)[s * 2], b.encode(p, 0, changed, all)[s * 2]);
        }
    }

    @Test
    void imagesOfAnotherSizeAreRefused() {
        float[] p = NestedFixtures.params(m, 1, 13);
        ImageSequences wide = NestedFixtures.images(3, FRAMES, H, W + 1, 1);
        try (CpuNestedBackend b = new CpuNestedBackend(m, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.meanSquaredError(p, 0, wide, true));
            assertTrue(e.getMessage().contains("6 x 7"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> b.predict(p, 0, wide, new int[]{0}, true));
        }
    }

    @Test
    void memoryBudgetRefusesWhatCannotFit() {
        long one = MemoryBudget.cpuBytes(m, 1, 64, 20, 2, "test");
        long many = MemoryBudget.cpuBytes(m, 64, 64, 20, 2, "test");
        assertTrue(one > 0 && many > one, one + " " + many);
        NestedHybrid full = NestedHybrid.mlp(m.ode(), 32, 32, Activation.TANH);
        // the full preset's estimate covers the workspace it will allocate
        long fullBytes = MemoryBudget.cpuBytes(full, 1, 64, 20, 2, "test");
        assertTrue(fullBytes > 2 * 4 * CpuNestedBackend.workspaceFloats(full, 20, 32, true), Long.toString(fullBytes));
        ConfigException e = assertThrows(ConfigException.class,
                () -> MemoryBudget.checkCpu(full, 1000, 64, 20, 2, "--replicas 1000"));
        assertTrue(e.getMessage().contains("--replicas 1000") && e.getMessage().contains("bytes"), e.getMessage());
        NestedHybrid huge = NestedHybrid.mlp(m.ode(), 2048, 2048, Activation.TANH);
        e = assertThrows(ConfigException.class, () -> MemoryBudget.cpuBytes(huge, 1, 64, 20, 2, "--image 2048"));
        assertTrue(e.getMessage().contains("--image 2048") && e.getMessage().contains("Java array"), e.getMessage());
    }
}
