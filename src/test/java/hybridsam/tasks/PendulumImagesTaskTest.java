package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.NestedHybrid;
import hybridsam.tasks.data.PendulumImagesData;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pendulum-images task: registration, its splits' checks (each naming the file), the model, the figure's layout. */
class PendulumImagesTaskTest {
    static final Path DIR = Path.of("/data/imgs");
    static final PendulumImagesTask TASK = PendulumImagesTask.INSTANCE;

    private static Dataset tiny() {
        return PendulumImagesData.generate("tiny", new PendulumImagesData.Settings(8, 3, 2, 2, 5, 0.2, 0.01), 1);
    }

    /** A generated tiny data set, changed by edit (arrays and manifest are fresh copies). */
    private static Dataset edited(Consumer<Dataset> edit) {
        Dataset d = tiny();
        Dataset copy = new Dataset(new LinkedHashMap<>(d.manifest()), new LinkedHashMap<>(d.arrays()));
        edit.accept(copy);
        return copy;
    }

    private static String refused(Dataset d) {
        return assertThrows(DataException.class, () -> TASK.splits(d, DIR)).getMessage();
    }

    @Test
    void isRegisteredAndNoLongerPlanned() {
        assertSame(TASK, Tasks.byName("pendulum-images"));
        assertTrue(Tasks.ALL.contains(TASK));
        assertTrue(Tasks.PLANNED.isEmpty());
        assertEquals(List.of("omega0_sq"), TASK.theta().names());
        assertArrayEquals(Tasks.PENDULUM.thetaStar(), TASK.thetaStar());
        assertTrue(TASK.usesRk4Step());
        assertEquals(0.1, TASK.defaults().rk4Step());
    }

    @Test
    void splitsCarryTheImagesAndTheFrameSpacing() {
        ComposedTask.Splits s = TASK.splits(tiny(), DIR);
        ImageSequences train = (ImageSequences) s.train();
        assertEquals(List.of(3, 5, 8, 8, 0.2), List.of(train.count(), train.frames(), train.height(), train.width(), train.frameDt()));
        assertEquals(List.of(2L, 5L, 8L, 8L), s.shapes().get("test_images"));
        NestedHybrid m = (NestedHybrid) TASK.model(s, new int[] {16}, Activation.TANH, 0.05);
        assertEquals(4, m.ode().stepsPerFrame());
        assertEquals("2-16-2 tanh", m.ode().corrector().describe());
        assertEquals(List.of(8, 8), List.of(m.height(), m.width()));
        assertThrows(DataException.class, () -> TASK.model(s, new int[] {16}, Activation.TANH, 0.3));
    }

    @Test
    void badArraysAreRefusedNamingTheFile() {
        String m = refused(edited(d -> d.arrays().remove("valid_images")));
        assertTrue(m.startsWith(DIR.resolve("valid_images.npy").toString()) && m.contains("missing"), m);

        m = refused(edited(d -> d.arrays().put("train_images", new NdArray(new float[3 * 5 * 64], 3, 5, 64))));
        assertTrue(m.startsWith(DIR.resolve("train_images.npy").toString()) && m.contains("[3, 5, 64]")
                && m.contains("[sequences >= 1, frames, height, width]"), m);

        m = refused(edited(d -> d.arrays().put("test_images", new NdArray(new float[2 * 3 * 64], 2, 3, 8, 8))));
        assertTrue(m.startsWith(DIR.resolve("test_images.npy").toString()) && m.contains("3 frames")
                && m.contains("at least 4"), m);

        m = refused(edited(d -> d.arrays().put("valid_images", new NdArray(new float[2 * 5 * 72], 2, 5, 8, 9))));
        assertTrue(m.startsWith(DIR.resolve("valid_images.npy").toString()) && m.contains("8 x 9")
                && m.contains("train_images.npy") && m.contains("8 x 8"), m);

        m = refused(edited(d -> {
            float[] x = d.arrays().get("test_images").data().clone();
            x[70] = Float.NaN;
            d.arrays().put("test_images", new NdArray(x, 2, 5, 8, 8));
        }));
        assertTrue(m.startsWith(DIR.resolve("test_images.npy").toString()) && m.contains("NaN") && m.contains("[0, 1, 0, 6]"), m);

        m = refused(edited(d -> d.arrays().put("train_images", new NdArray(new float[4 * 129 * 129], 1, 4, 129, 129))));
        assertTrue(m.startsWith(DIR.resolve("train_images.npy").toString()) && m.contains("129 x 129")
                && m.contains(String.valueOf(PendulumImagesTask.MAX_PIXELS)), m);
    }

    @Test
    void frameSpacingComesFromTheManifest() {
        // a user's own manifest: frame_dt at the top level, no generator, no theta_star
        Dataset own = edited(d -> {
            d.manifest().clear();
            d.manifest().put("frame_dt", 0.5);
        });
        assertEquals(0.5, ((ImageSequences) TASK.splits(own, DIR).train()).frameDt());
        String m = refused(edited(d -> d.manifest().remove("generator")));
        assertTrue(m.startsWith(DIR.resolve("manifest.json").toString()) && m.contains("frame_dt"), m);
        Dataset negative = edited(d -> {
            d.manifest().remove("generator");
            d.manifest().put("frame_dt", -0.2);
        });
        m = refused(negative);
        assertTrue(m.contains("manifest.json") && m.contains("frame_dt -0.2"), m);
    }

    /** Per sequence three rows (truth, hybrid, science alone) of T upscaled frames, separated by grey lines. */
    @Test
    void theFigureHasThreeRowsPerSequenceAndAColumnPerFrame() {
        ComposedTask.Splits s = TASK.splits(tiny(), DIR);
        ImageSequences test = (ImageSequences) s.test();
        int n = 2, T = 5, k = PendulumImagesTask.scale(8, 8);
        assertEquals(8, k);
        assertEquals(4, PendulumImagesTask.scale(16, 16));
        assertEquals(2, PendulumImagesTask.scale(32, 32));
        assertEquals(1, PendulumImagesTask.scale(128, 128));
        float[] hybrid = new float[n * T * 64], science = new float[n * T * 64];
        java.util.Arrays.fill(hybrid, 1f);
        PendulumImagesTask.Figure f = PendulumImagesTask.figure(test, new int[] {0, 1}, hybrid, science);
        int g = PendulumImagesTask.FIGURE_GAP, bg = PendulumImagesTask.FIGURE_BLOCK_GAP;
        assertEquals(T * 64 + (T + 1) * g, f.width());
        assertEquals(6 * 64 + 7 * g + (bg - g), f.height());
        // frame (sequence 1, t 2, row y 3, x 5) of the truth, at its upscaled place
        int top = g + 3 * (64 + g) + (bg - g), left = g + 2 * (64 + g);
        assertEquals(test.images()[test.frameOffset(1, 2) + 3 * 8 + 5], f.pixels()[(top + 3 * k + 1) * f.width() + left + 5 * k + 7]);
        // the hybrid row is all ones, the science row all zeros, the separators grey
        assertEquals(1f, f.pixels()[(top + 64 + g + 10) * f.width() + left + 10]);
        assertEquals(0f, f.pixels()[(top + 2 * (64 + g) + 10) * f.width() + left + 10]);
        assertEquals(PendulumImagesTask.FIGURE_SEPARATOR, f.pixels()[(top - 1) * f.width() + left + 10]);
        assertEquals(PendulumImagesTask.FIGURE_SEPARATOR, f.pixels()[(top + 10) * f.width() + left - 1]);
        assertEquals(List.of("predictions.png"), TASK.figureFiles(1));
        assertEquals(List.of("predictions-replica-0.png", "predictions-replica-1.png"), TASK.figureFiles(2));
    }

    /** A figure that cannot be written is an UncheckedIOException naming the file and why (the CLI's exit 4). */
    @Test
    void aFigureThatCannotBeWrittenSaysWhy(@org.junit.jupiter.api.io.TempDir Path tmp) throws java.io.IOException {
        ComposedTask.Splits s = TASK.splits(tiny(), DIR);
        NestedHybrid m = (NestedHybrid) TASK.model(s, new int[] {4}, Activation.TANH, 0.1);
        float[] params = new float[m.parameterCount()];
        m.initializeNetworks(params, 0, new java.util.SplittableRandom(1));
        Path file = java.nio.file.Files.writeString(tmp.resolve("plain"), "x");
        try (var cpu = TASK.cpu(m, 1)) {
            List<Path> written = TASK.writeFigures(m, cpu, params, 1, s, tmp.resolve("ok"), false);
            assertEquals(List.of(tmp.resolve("ok").resolve("predictions.png")), written);
            var e = assertThrows(java.io.UncheckedIOException.class, () -> TASK.writeFigures(m, cpu, params, 1, s, file, false));
            assertTrue(e.getMessage().contains(file.resolve("predictions.png").toString())
                    && e.getMessage().contains("is a file, not a folder"), e.getMessage());
            e = assertThrows(java.io.UncheckedIOException.class, () -> TASK.writeFigures(m, cpu, params, 1, s, tmp.resolve("ok"), false));
            assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        }
    }

    @Test
    void checkDataKnowsTheTask() {
        Map<String, Object> m = new LinkedHashMap<>(tiny().manifest());
        Tasks.checkData(TASK, m, "x/manifest.json");
        m.put("task", "pendulum");
        String msg = assertThrows(DataException.class, () -> Tasks.checkData(TASK, m, "x/manifest.json")).getMessage();
        assertTrue(msg.contains("for pendulum, not pendulum-images"), msg);
    }
}
