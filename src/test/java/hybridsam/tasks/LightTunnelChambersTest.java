package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.data.ChambersLightTunnel;
import hybridsam.tasks.data.LightTunnelData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reader of the chambers' camera datasets, on a fixture written from the simulator in their
 * layout: {@code <root>/<dataset>/<experiment>/<experiment>.csv} and {@code images_<size>/} JPEGs.
 */
class LightTunnelChambersTest {
    /** The camera datasets' column order (lt_camera_test_v1/variables.csv), abridged at the sensors. */
    static final String HEADER = "timestamp,config,counter,flag,intervention,red,green,blue,osr_c,v_c,current,pol_1,pol_2,"
            + "ir_1,vis_1,camera,aperture,iso,shutter_speed,image_file,image_timestamp,brightness_value";
    static final int N = 10;
    static final Dataset SIM = LightTunnelData.generate("fixture", new LightTunnelData.Settings(32, 32, 6, 2, 2), 21);

    /** Sample i of the simulation (train, then valid, then test): inputs and image [3][32][32]. */
    static float[] simInputs(int i) {
        return slice(i, "_inputs", 5);
    }

    static float[] simImage(int i) {
        return slice(i, "_images", 3 * 32 * 32);
    }

    private static float[] slice(int i, String suffix, int size) {
        String split = i < 6 ? "train" : i < 8 ? "valid" : "test";
        int j = i < 6 ? i : i < 8 ? i - 6 : i - 8;
        float[] all = SIM.arrays().get(split + suffix).data();
        float[] out = new float[size];
        System.arraycopy(all, j * size, out, 0, size);
        return out;
    }

    static void writeJpeg(float[] img, int side, Path file) throws IOException {
        BufferedImage b = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        int cells = side * side;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int p = y * side + x;
                int r = Math.round(img[p] * 255), g = Math.round(img[cells + p] * 255), bl = Math.round(img[2 * cells + p] * 255);
                b.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        }
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(b, "jpg", file.toFile()));
    }

    /** Writes root/lt_fixture_v1/walk/walk.csv with images_32 (and an images_8 the reader must pass over for side 16). */
    static Path fixture(Path root) throws IOException {
        Path exp = root.resolve("lt_fixture_v1").resolve("walk");
        List<String> lines = new ArrayList<>();
        lines.add(HEADER);
        for (int i = 0; i < N; i++) {
            float[] in = simInputs(i);
            String name = "IMG_" + i + ".jpg";
            lines.add(String.format(java.util.Locale.ROOT, "%d,standard,%d,0,1,%d,%d,%d,1,0.1,0.5,%s,%s,0.1,0.2,1,8.0,500,0.005,%s,%d,4.5",
                    1700000000 + i, i, (int) in[0], (int) in[1], (int) in[2], Float.toString(in[3]), Float.toString(in[4]),
                    name, 1700000000 + i));
            writeJpeg(simImage(i), 32, exp.resolve("images_32").resolve(name));
            writeJpeg(new float[3 * 64], 8, exp.resolve("images_8").resolve(name));
        }
        Files.write(exp.resolve("walk.csv"), lines);
        return exp;
    }

    /** A 32-px simulated image averaged 2 × 2 onto 16 px. */
    static float[] halve(float[] img) {
        float[] out = new float[3 * 256];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 16; y++) {
                for (int x = 0; x < 16; x++) {
                    int b = c * 1024 + 2 * y * 32 + 2 * x;
                    out[c * 256 + y * 16 + x] = (img[b] + img[b + 1] + img[b + 32] + img[b + 33]) / 4;
                }
            }
        }
        return out;
    }

    @Test
    void readsTheLayoutFromRootDatasetOrExperimentAlike(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        assertTrue(LightTunnelTask.INSTANCE.isPublishedLayout(root));
        assertTrue(LightTunnelTask.INSTANCE.isPublishedLayout(exp));
        assertTrue(!LightTunnelTask.INSTANCE.isPublishedLayout(exp.resolve("images_32")));
        Dataset a = ChambersLightTunnel.read(root, 3, 16);
        Dataset b = ChambersLightTunnel.read(root.resolve("lt_fixture_v1"), 3, 16);
        Dataset c = ChambersLightTunnel.read(exp, 3, 16);
        for (String k : a.arrays().keySet()) {
            assertArrayEquals(a.arrays().get(k).data(), b.arrays().get(k).data(), k);
            assertArrayEquals(a.arrays().get(k).data(), c.arrays().get(k).data(), k);
        }
        Map<String, Object> m = a.manifest();
        assertEquals("causal-chambers", m.get("format"));
        assertEquals("light-tunnel", m.get("task"));
        List<?> sources = (List<?>) m.get("source_files");
        assertEquals(N + 1, sources.size());
        assertEquals("lt_fixture_v1/walk/walk.csv", sources.get(0));
        assertTrue(sources.contains("lt_fixture_v1/walk/images_32/IMG_3.jpg"), sources.toString());
        assertEquals(List.of("aperture 8.0, iso 500, shutter_speed 0.005"), m.get("camera_settings"));
        assertArrayEquals(new int[] {6, 5}, a.arrays().get("train_inputs").shape());
        assertArrayEquals(new int[] {2, 3, 16, 16}, a.arrays().get("valid_images").shape());
        assertArrayEquals(new int[] {2, 3, 16, 16}, a.arrays().get("test_images").shape());
        // the task's splits accept what the reader gives
        ComposedTask.Splits s = LightTunnelTask.INSTANCE.splits(a, root);
        assertEquals(6, s.train().count());
        // the manifest is JSON the store writes and reads back
        Path saved = root.resolve("saved");
        hybridsam.io.DatasetStore.save(saved, a);
        Dataset back = hybridsam.io.DatasetStore.load(saved);
        assertEquals(sources, back.manifest().get("source_files"));
        assertArrayEquals(a.arrays().get("test_images").data(), back.arrays().get("test_images").data());
    }

    @Test
    void imagesMatchTheSimulationsWithinJpegLoss(@TempDir Path root) throws IOException {
        fixture(root);
        Dataset d = ChambersLightTunnel.read(root, 3, 16);
        double worst = 0, sumAbs = 0;
        int values = 0, matched = 0;
        for (String split : new String[] {"train", "valid", "test"}) {
            NdArray in = d.arrays().get(split + "_inputs"), im = d.arrays().get(split + "_images");
            for (int j = 0; j < in.dim(0); j++) {
                // find the simulated sample by its inputs
                for (int i = 0; i < N; i++) {
                    float[] s = simInputs(i);
                    boolean same = true;
                    for (int k = 0; k < 5; k++) same &= s[k] == in.data()[j * 5 + k];
                    if (!same) continue;
                    matched++;
                    float[] want = halve(simImage(i));
                    for (int v = 0; v < want.length; v++) {
                        double e = Math.abs(want[v] - im.data()[j * 768 + v]);
                        worst = Math.max(worst, e);
                        sumAbs += e;
                        values++;
                    }
                }
            }
        }
        assertEquals(N, matched, "every row's inputs come back exactly");
        double mean = sumAbs / values;
        System.out.printf("chambers reader on a JPEG fixture (32 px -> 16 px): mean |error| %.4f, max %.4f%n", mean, worst);
        assertTrue(mean < 0.02, "mean error " + mean);
        assertTrue(worst < 0.25, "max error " + worst);
    }

    static String message(Path dir) {
        return assertThrows(DataException.class, () -> ChambersLightTunnel.read(dir, 1, 16)).getMessage();
    }

    @Test
    void aMissingColumnNamesTheFileLineAndColumn(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        Path csv = exp.resolve("walk.csv");
        List<String> lines = new ArrayList<>(Files.readAllLines(csv));
        lines.set(0, lines.get(0).replace("pol_2", "pol_two"));
        Files.write(csv, lines);
        String msg = message(root);
        assertTrue(msg.contains(csv.toString()) && msg.contains("line 1") && msg.contains("\"pol_2\""), msg);
    }

    @Test
    void aNonNumericCellNamesTheFileLineAndColumn(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        Path csv = exp.resolve("walk.csv");
        List<String> lines = new ArrayList<>(Files.readAllLines(csv));
        String[] cells = lines.get(3).split(",", -1);
        cells[6] = "bright";  // green
        lines.set(3, String.join(",", cells));
        Files.write(csv, lines);
        String msg = message(exp);
        assertTrue(msg.contains(csv.toString()) && msg.contains("line 4") && msg.contains("\"green\"")
                && msg.contains("bright"), msg);
    }

    @Test
    void aMissingImageNamesTheImageAndTheRow(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        Files.delete(exp.resolve("images_32").resolve("IMG_4.jpg"));
        String msg = message(root);
        assertTrue(msg.contains("IMG_4.jpg") && msg.contains("missing") && msg.contains("line 6")
                && msg.contains("walk.csv"), msg);
    }

    @Test
    void anUnreadableImageNamesTheImageAndTheRow(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        Files.write(exp.resolve("images_32").resolve("IMG_2.jpg"), new byte[] {1, 2, 3, 4, 5});
        String msg = message(root);
        assertTrue(msg.contains("IMG_2.jpg") && msg.contains("unreadable") && msg.contains("line 4"), msg);
    }

    @Test
    void imagesOfAnotherSizeAreNamed(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        writeJpeg(new float[3 * 30 * 30], 30, exp.resolve("images_32").resolve("IMG_7.jpg"));
        String msg = message(root);
        assertTrue(msg.contains("IMG_7.jpg") && msg.contains("30 x 30") && msg.contains("IMG_0.jpg"), msg);
    }

    @Test
    void nothingFoundSaysWhatWasExpected(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("empty").resolve("deeper"));
        String msg = message(root);
        assertTrue(msg.contains(root.toString()) && msg.contains("no light-tunnel camera experiment"), msg);
        assertTrue(!LightTunnelTask.INSTANCE.isPublishedLayout(root));
    }

    @Test
    void aCsvWithoutRowsIsNamed(@TempDir Path root) throws IOException {
        Path exp = root.resolve("solo");
        Files.createDirectories(exp);
        Files.write(exp.resolve("solo.csv"), List.of(HEADER));
        String msg = message(exp);
        assertTrue(msg.contains("solo.csv") && msg.contains("no data rows"), msg);
    }

    @Test
    void anExperimentWithoutImageFoldersIsNamed(@TempDir Path root) throws IOException {
        Path exp = fixture(root);
        for (String f : new String[] {"images_32", "images_8"}) {
            try (var s = Files.list(exp.resolve(f))) {
                for (Path p : s.toList()) Files.delete(p);
            }
            Files.delete(exp.resolve(f));
        }
        String msg = message(root);
        assertTrue(msg.contains(exp.toString()) && msg.contains("no images_<size> folder"), msg);
    }
}
