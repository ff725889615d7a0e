package hybridsam.cli;

import hybridsam.io.DatasetStore;
import hybridsam.tasks.PendulumImagesTask;
import hybridsam.tasks.data.PendulumImagesData;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * pendulum-images through the command line: generate, train (θ measures, the predictions figure),
 * several replicas (a figure each), --rk4-step, resume, evaluate, and a folder holding a file the
 * run would write.
 */
class CliPendulumImagesTest {
    @TempDir
    Path tmp;

    /** A tiny data set (8 × 8 images, 8 / 4 / 4 sequences of 5 frames) written as a user's --data folder. */
    private Path tinyData() throws IOException {
        Path d = tmp.resolve("tiny-data");
        DatasetStore.save(d, PendulumImagesData.generate("tiny", new PendulumImagesData.Settings(8, 8, 4, 4, 5, 0.2, 0.01), 0));
        return d;
    }

    private static Cli.Result trainOn(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--task", "pendulum-images", "--data", data.toString(),
                "--batch", "4", "--threads", "2", "--quiet", "--out", out.toString()));
        if (!List.of(extra).contains("--epochs")) a.addAll(List.of("--epochs", "2"));
        a.addAll(List.of(extra));
        return Cli.run(a.toArray(String[]::new));
    }

    private static BufferedImage png(Path f) throws IOException {
        assertTrue(Files.isRegularFile(f), f + " missing");
        BufferedImage img = ImageIO.read(f.toFile());
        assertTrue(img != null, f + " does not decode");
        return img;
    }

    /** The figure's size for n sequences of T frames of side s (PendulumImagesTask.figure's layout). */
    private static int[] figureSize(int n, int T, int side) {
        int k = Math.max(1, Math.round(64f / side)), g = 2, bg = 6, f = side * k;
        return new int[] {T * f + (T + 1) * g, 3 * n * f + (3 * n + 1) * g + (n - 1) * (bg - g)};
    }

    @Test
    void smallPresetTrainsReportsThetaAndDrawsPredictions() throws IOException {
        Path out = tmp.resolve("run");
        Cli.Result r = Cli.train(out, "--task", "pendulum-images", "--epochs", "2").expect(Main.OK);
        assertTrue(r.out().contains("theta error") && r.out().contains("theta_mn error"), r.out());
        assertTrue(r.out().contains("figure") && r.out().contains(out.resolve("predictions.png").toString()), r.out());
        Map<String, Object> res = Cli.results(out);
        Map<String, Object> model = Cli.map(res, "model");
        assertEquals("nested", model.get("form"));
        assertEquals(List.of("omega0_sq"), Cli.list(model, "theta_names"));
        assertEquals(0.1, Cli.number(model, "rk4_step"));
        Map<String, Object> data = Cli.map(res, "data");
        assertEquals(0.2, Cli.number(data, "frame_dt"));
        assertEquals(List.of(64L, 10L, 16L, 16L), Cli.map(data, "shapes").get("train_images"));
        Map<String, Object> fin = Cli.map(res, "final");
        assertEquals(1, Cli.theta(fin).size());
        assertTrue(Cli.number(fin, "theta_error") >= 0 && Cli.number(fin, "theta_mn_error") >= 0, fin.toString());
        assertTrue(Cli.number(fin, "test_mse") > 0, fin.toString());
        BufferedImage img = png(out.resolve("predictions.png"));
        int[] size = figureSize(PendulumImagesTask.FIGURE_SEQUENCES, 10, 16);
        assertEquals(size[0], img.getWidth());
        assertEquals(size[1], img.getHeight());

        // plot redraws the figure from the checkpoint (hybridsam's own, marked file), the same bytes;
        // a file of that name it did not write is refused and left as it was
        assertTrue(hybridsam.io.PngMark.isOwn(out.resolve("predictions.png")), "the figure carries hybridsam's mark");
        byte[] drawn = Files.readAllBytes(out.resolve("predictions.png"));
        Files.delete(out.resolve("predictions.png"));
        Cli.Result p = Cli.run("plot", out.toString()).expect(Main.OK);
        assertTrue(p.out().contains(out.resolve("predictions.png").toString()), p.out());
        org.junit.jupiter.api.Assertions.assertArrayEquals(drawn, Files.readAllBytes(out.resolve("predictions.png")));
        Cli.run("plot", out.toString()).expect(Main.OK); // its own file is replaced
        Files.write(out.resolve("predictions.png"), new byte[] {1, 2, 3});
        Cli.Result refused = Cli.run("plot", out.toString()).expect(Main.BAD_INPUT);
        assertTrue(refused.err().contains("predictions.png") && refused.err().contains("not written by"), refused.err());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(out.resolve("predictions.png")));
        Files.write(out.resolve("predictions.png"), drawn);

        // evaluate takes the run through the same composed path
        Cli.Result ev = Cli.run("evaluate", "--run", out.toString(), "--json").expect(Main.OK);
        @SuppressWarnings("unchecked") Map<String, Object> e = (Map<String, Object>) Cli.list(
                hybridsam.io.Json.object(hybridsam.io.Json.parse(ev.out()), "evaluate"), "replicas").get(0);
        assertEquals(Cli.number(fin, "test_mse"), Cli.number(e, "test_mse"), 1e-12 * Cli.number(fin, "test_mse"));
        assertEquals(Cli.number(fin, "theta_error"), Cli.number(e, "theta_error"));
    }

    @Test
    void generateWritesTheImageLayout() {
        Path out = tmp.resolve("gen");
        Cli.run("generate", "--task", "pendulum-images", "--preset", "small", "--out", out.toString()).expect(Main.OK);
        Map<String, Object> m = Cli.json(out.resolve("manifest.json"));
        assertEquals("pendulum-images", m.get("task"));
        assertTrue(Files.isRegularFile(out.resolve("train_images.npy")) && Files.isRegularFile(out.resolve("test_images.npy")));
    }

    @Test
    void replicasDrawOneFigureEach() throws IOException {
        Path data = tinyData(), out = tmp.resolve("k2");
        Cli.Result r = trainOn(data, out, "--replicas", "2", "--method", "erm,fsam").expect(Main.OK);
        for (int k = 0; k < 2; k++) {
            Path f = out.resolve("predictions-replica-" + k + ".png");
            assertTrue(r.out().contains(f.toString()), r.out());
            BufferedImage img = png(f);
            int[] size = figureSize(4, 5, 8);
            assertEquals(size[0], img.getWidth());
            assertEquals(size[1], img.getHeight());
        }
        assertFalse(Files.exists(out.resolve("predictions.png")));
        assertFalse(Files.readAllBytes(out.resolve("predictions-replica-0.png")).length == 0);
    }

    @Test
    void rk4StepIsTakenHereAndStillRefusedWhereUnused() throws IOException {
        Path data = tinyData(), out = tmp.resolve("h");
        trainOn(data, out, "--rk4-step", "0.05", "--epochs", "1").expect(Main.OK);
        Map<String, Object> model = Cli.map(Cli.results(out), "model");
        assertEquals(0.05, Cli.number(model, "rk4_step"));
        assertEquals(4L, model.get("steps_per_frame"));

        Cli.Result bad = trainOn(data, tmp.resolve("h2"), "--rk4-step", "0.3").expect(Main.BAD_INPUT);
        assertTrue(bad.err().contains("frame_dt") && bad.err().contains("manifest.json"), bad.err());
        assertFalse(Files.exists(tmp.resolve("h2")));
        Cli.Result wind = Cli.train(tmp.resolve("w"), "--task", "wind-tunnel", "--rk4-step", "0.05").expect(Main.BAD_INPUT);
        assertTrue(wind.err().contains("--rk4-step has no effect on wind-tunnel"), wind.err());
    }

    /** A run stopped after epoch 1 resumes to the same end, figure included, as one that was not stopped. */
    @Test
    void resumeFinishesAndDrawsAsAnUninterruptedRun() throws IOException {
        Path data = tinyData(), whole = tmp.resolve("whole"), cut = tmp.resolve("cut");
        trainOn(data, whole).expect(Main.OK);
        trainOn(data, cut, "--epochs", "1").expect(Main.OK);
        // make it the run of 2 epochs that stopped after its first: its record says 2, its results and figure are not there
        Path config = cut.resolve("config.json");
        Map<String, Object> c = Cli.json(config);
        List<Object> args = new ArrayList<>(Cli.list(c, "args"));
        args.set(args.indexOf("--epochs") + 1, "2");
        c.put("args", args);
        Files.writeString(config, hybridsam.io.Json.write(c) + "\n");
        Files.delete(cut.resolve("results.json"));
        Files.delete(cut.resolve("predictions.png"));
        Cli.Result r = Cli.run("train", "--resume", cut.toString()).expect(Main.OK);
        assertTrue(r.out().contains(cut.resolve("predictions.png").toString()), r.out());
        Map<String, Object> a = Cli.map(Cli.results(whole), "final");
        Map<String, Object> b = Cli.map(Cli.results(cut), "final");
        Cli.assertBitIdentical(a.get("theta"), b.get("theta"), "final.theta");
        Cli.assertBitIdentical(a.get("test_mse"), b.get("test_mse"), "final.test_mse");
        assertArrayEquals(Files.readAllBytes(whole.resolve("predictions.png")), Files.readAllBytes(cut.resolve("predictions.png")));
    }

    /** A file named as a figure of the run, which the tool did not write, is never replaced: refused before training. */
    @Test
    void aFolderHoldingAFigureNameIsRefused() throws IOException {
        Path data = tinyData(), out = tmp.resolve("mine");
        Files.createDirectories(out);
        Path mine = Files.writeString(out.resolve("predictions.png"), "my own picture");
        Cli.Result r = trainOn(data, out).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("predictions.png") && r.err().contains("choose another --out"), r.err());
        assertEquals("my own picture", Files.readString(mine));
        try (var s = Files.list(out)) {
            assertEquals(List.of("predictions.png"), s.map(p -> p.getFileName().toString()).toList());
        }
    }
}
