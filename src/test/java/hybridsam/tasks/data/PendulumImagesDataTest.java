package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.NdArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pendulum-images generator: reproducible bits, the bob where q puts it, the documented manifest. */
class PendulumImagesDataTest {
    static final PendulumImagesData.Settings TINY = new PendulumImagesData.Settings(16, 6, 3, 3, 5, 0.2, 0.01);

    @TempDir
    Path tmp;

    @Test
    void aSeedGivesTheSameBytesAndAnotherSeedOthers() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b"), c = tmp.resolve("c");
        DatasetStore.save(a, PendulumImagesData.generate("tiny", TINY, 7));
        DatasetStore.save(b, PendulumImagesData.generate("tiny", TINY, 7));
        DatasetStore.save(c, PendulumImagesData.generate("tiny", TINY, 8));
        for (String f : List.of("manifest.json", "train_images.npy", "valid_images.npy", "test_images.npy")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
            if (f.endsWith(".npy")) assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve(f)),
                    Files.readAllBytes(c.resolve(f))), f + " should differ between seeds");
        }
        // and it reloads bit-identically
        Dataset back = DatasetStore.load(a);
        Dataset fresh = PendulumImagesData.generate("tiny", TINY, 7);
        for (String k : fresh.arrays().keySet()) assertArrayEquals(fresh.arrays().get(k).data(), back.arrays().get(k).data(), k);
    }

    /** The brightest pixel of a noiseless render lies where x = cx + R sin q, y = cy + R cos q puts the bob. */
    @Test
    void theBobIsWhereTheAngleSays() {
        for (int side : new int[] {16, 32}) {
            double r = PendulumImagesData.RADIUS_FRACTION * side, c = (side - 1) / 2.0;
            assertEquals(side == 32 ? 12.0 : 6.0, r);
            double[] img = new double[side * side];
            for (double q : new double[] {0, 0.5, Math.PI / 2, 2.0, Math.PI, -1.0, -2.5}) {
                PendulumImagesData.render(q, side, side, img);
                int best = 0;
                for (int i = 1; i < img.length; i++) if (img[i] > img[best]) best = i;
                int bx = best % side, by = best / side;
                double ex = c + r * Math.sin(q), ey = c + r * Math.cos(q);
                assertTrue(Math.abs(bx - ex) <= 0.5 + 1e-9 && Math.abs(by - ey) <= 0.5 + 1e-9,
                        "side " + side + ", q " + q + ": brightest pixel (" + bx + ", " + by + "), bob at (" + ex + ", " + ey + ")");
                assertTrue(img[best] <= 1 && img[best] > 0.75, "peak " + img[best]);
            }
        }
        // hanging down at q = 0: below the centre (y grows downward), on the centre column
        double[] img = new double[32 * 32];
        PendulumImagesData.render(0, 32, 32, img);
        assertTrue(img[27 * 32 + 15] > 0.8 && img[4 * 32 + 15] < 1e-6, "bob at (15.5, 27.5), not at the top");
    }

    @Test
    void presetsAndManifestFollowTheLayout() {
        Dataset d = PendulumImagesData.generate("small", 3);
        Map<String, NdArray> arr = d.arrays();
        assertEquals(List.of("train_images", "valid_images", "test_images"), List.copyOf(arr.keySet()));
        assertArrayEquals(new int[] {64, 10, 16, 16}, arr.get("train_images").shape());
        assertArrayEquals(new int[] {32, 10, 16, 16}, arr.get("valid_images").shape());
        assertArrayEquals(new int[] {32, 10, 16, 16}, arr.get("test_images").shape());
        PendulumImagesData.Settings full = PendulumImagesData.Settings.full();
        assertEquals(List.of(32, 1000, 200, 500, 20), List.of(full.side(), full.nTrain(), full.nValid(), full.nTest(), full.frames()));

        Map<String, Object> m = d.manifest();
        assertEquals("pendulum-images", m.get("task"));
        assertEquals("small", m.get("preset"));
        assertEquals(3L, m.get("seed"));
        assertEquals(List.of("omega0_sq"), m.get("theta_names"));
        assertEquals(List.of(PendulumData.THETA_STAR[0]), m.get("theta_star"));
        @SuppressWarnings("unchecked") Map<String, Object> g = (Map<String, Object>) m.get("generator");
        assertEquals(0.2, g.get("frame_dt"));
        assertEquals(10, g.get("frames"));
        @SuppressWarnings("unchecked") Map<String, Object> cam = (Map<String, Object>) g.get("camera");
        assertEquals(1.5, cam.get("spot_sigma"));
        assertEquals(6.0, cam.get("radius"));
        assertEquals(0.01, cam.get("noise"));
        // θ_mn is pendulum's, on the clean train states: the pendulum task's own initial states for these sizes and seed
        PendulumImagesData.Settings s = PendulumImagesData.Settings.small();
        OdeSimulation sim = PendulumData.simulate(new OdeDataSettings(s.nTrain(), s.nValid(), s.nTest(), s.frames(), 0.2, 0), 3);
        assertEquals(List.of(PendulumData.thetaMinNorm(sim.clean().train())[0]), m.get("theta_mn"));
        double mn = (Double) ((List<?>) m.get("theta_mn")).get(0);
        assertTrue(Math.abs(mn / PendulumData.THETA_STAR[0] - 1) < 0.1, "theta_mn " + mn);
    }

    /** The images are the renders of the clean states plus noise of about σ = 0.01. */
    @Test
    void framesAreTheRenderedStatesPlusPixelNoise() {
        Dataset d = PendulumImagesData.generate("small", 0);
        PendulumImagesData.Settings s = PendulumImagesData.Settings.small();
        OdeSimulation sim = PendulumData.simulate(new OdeDataSettings(s.nTrain(), s.nValid(), s.nTest(), s.frames(), 0.2, 0), 0);
        float[] test = d.arrays().get("test_images").data();
        double[] img = new double[256];
        double sum = 0, sq = 0;
        int n = 0;
        for (int seq = 0; seq < s.nTest(); seq++) {
            for (int t = 0; t < s.frames(); t++) {
                PendulumImagesData.render(sim.clean().test()[seq][t][0], 16, 16, img);
                for (int p = 0; p < 256; p++) {
                    double e = test[(seq * s.frames() + t) * 256 + p] - img[p];
                    sum += e;
                    sq += e * e;
                    n++;
                }
            }
        }
        double mean = sum / n, sd = Math.sqrt(sq / n - mean * mean);
        assertEquals(0, mean, 1e-3);
        assertEquals(0.01, sd, 5e-4);
    }
}
