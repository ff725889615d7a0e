package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.data.LightTunnelData;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The light-tunnel simulator: reproducible bits, the documented layout and truth. */
class LightTunnelDataTest {
    static final LightTunnelData.Settings TINY = new LightTunnelData.Settings(16, 16, 24, 8, 8);

    @Test
    void aSeedGivesTheSameBitsWithOneThreadOrMany() throws Exception {
        Dataset a = LightTunnelData.generate("tiny", TINY, 11);
        ForkJoinPool one = new ForkJoinPool(1);
        Dataset b;
        try {
            b = one.submit(() -> LightTunnelData.generate("tiny", TINY, 11)).get();
        } finally {
            one.shutdown();
        }
        assertEquals(a.arrays().keySet(), b.arrays().keySet());
        for (String k : a.arrays().keySet()) assertArrayEquals(a.arrays().get(k).data(), b.arrays().get(k).data(), k);
        assertEquals(a.manifest().get("theta_mn"), b.manifest().get("theta_mn"));
        Dataset c = LightTunnelData.generate("tiny", TINY, 12);
        assertNotEquals(a.arrays().get("train_inputs"), c.arrays().get("train_inputs"));
    }

    @Test
    void arraysAndManifestFollowTheLayout() {
        Dataset d = LightTunnelData.generate("small", 5);
        Map<String, NdArray> arr = d.arrays();
        assertArrayEquals(new int[] {256, 5}, arr.get("train_inputs").shape());
        assertArrayEquals(new int[] {256, 3, 16, 16}, arr.get("train_images").shape());
        assertArrayEquals(new int[] {64, 3, 16, 16}, arr.get("valid_images").shape());
        assertArrayEquals(new int[] {64, 5}, arr.get("test_inputs").shape());
        float[] in = arr.get("train_inputs").data();
        for (int i = 0; i < in.length; i += 5) {
            for (int k = 0; k < 3; k++) {
                assertTrue(in[i + k] >= 0 && in[i + k] <= 255 && in[i + k] == Math.rint(in[i + k]));
            }
            for (int k = 3; k < 5; k++) assertTrue(in[i + k] >= -180 && in[i + k] < 180);
        }
        for (float v : arr.get("train_images").data()) assertTrue(v >= 0 && v <= 1);
        Map<String, Object> m = d.manifest();
        assertEquals("light-tunnel", m.get("task"));
        assertEquals("small", m.get("preset"));
        assertEquals(5L, m.get("seed"));
        assertEquals(LightTunnelModel.THETA_NAMES, m.get("theta_names"));
        assertEquals(9, ((List<?>) m.get("theta_star")).size());
        assertEquals(9, ((List<?>) m.get("theta_mn")).size());
        assertTrue(m.get("generator").toString().contains("2.65625"), "w is recorded");
        assertEquals(LightTunnelTask.INSTANCE.name(), m.get("task"));
    }

    @Test
    void theCleanTruthAtTheCentreIsF2WithTheLeakageFloor() {
        float[] mask = LightTunnelModel.hexagonMask(64, 64);
        float[] in = {100, 150, 60, 70, 0};  // 70 degrees apart: Malus's factor 0.117
        double[] clean = LightTunnelData.cleanImage(64, 64, mask, in, 0);
        double m = LightTunnelModel.malus(70, 0);
        double[] a = new double[3];
        LightTunnelModel.preClip(LightTunnelModel.S_STAR, 0, in, 0, a);
        double[] tc = LightTunnelData.TC;
        for (int c = 0; c < 3; c++) {
            double noMalus = a[c] / m;
            double expect = noMalus * (tc[c] + (1 - tc[c]) * m);
            // centre pixel (31.5 px from both edges... 0.5/64 off the centre): vignetting and blur are negligible there
            assertEquals(expect, clean[c * 4096 + 32 * 64 + 32], 2e-3 * expect, "channel " + c);
            assertTrue(expect > a[c] * 1.05, "the floor raises the colour above F2");
        }
        assertEquals(0.0, clean[0], 1e-12, "corner stays black");
    }

    @Test
    void savedAndLoadedDataGiveTheSameSplits(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Dataset d = LightTunnelData.generate("tiny", TINY, 3);
        hybridsam.io.DatasetStore.save(dir, d);
        Dataset back = hybridsam.io.DatasetStore.load(dir);
        ComposedTask.Splits s = LightTunnelTask.INSTANCE.splits(back, dir);
        LightTunnelSplit t = (LightTunnelSplit) s.train();
        assertEquals(24, t.count());
        assertEquals(16, t.height());
        assertArrayEquals(d.arrays().get("train_images").data(), t.images());
        assertEquals(List.of(24L, 3L, 16L, 16L), s.shapes().get("train_images"));
        assertEquals(List.of(8L, 5L), s.shapes().get("test_inputs"));
        back.arrays().remove("valid_images");
        hybridsam.io.DataException e = org.junit.jupiter.api.Assertions.assertThrows(hybridsam.io.DataException.class,
                () -> LightTunnelTask.INSTANCE.splits(back, dir));
        assertTrue(e.getMessage().contains(dir.resolve("valid_images.npy").toString()), e.getMessage());
    }

    @Test
    void thetaMnIsReported() {
        Dataset d = LightTunnelData.generate("small", 1);
        @SuppressWarnings("unchecked")
        List<Double> mn = (List<Double>) d.manifest().get("theta_mn");
        double[] t = mn.stream().mapToDouble(Double::doubleValue).toArray();
        double cos = LightTunnelModel.cosine(t, LightTunnelModel.S_STAR);
        System.out.printf("light-tunnel small seed 1: theta_mn = %s, cosine(theta_mn, S*) = %.5f%n",
                java.util.Arrays.toString(t), cos);
        assertTrue(cos > 0.9, "theta_mn is near S* in direction: " + cos);
    }
}
