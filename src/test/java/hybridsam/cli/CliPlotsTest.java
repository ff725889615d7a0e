package hybridsam.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plots of a run (loss.png, theta.png): written by train when it finishes (one run, replicas,
 * a θ of two components, a θ known up to scale, a resume), not with --no-plots, by hybridsam plot for a
 * finished run; decoded as PNG of the expected size. Refused: a results.json that is missing or
 * garbled (named), a foreign file of a plot's name (before training); a plot that cannot be drawn
 * is skipped by train, which still succeeds.
 */
class CliPlotsTest {
    @TempDir
    Path tmp;

    private static BufferedImage png(Path f) throws IOException {
        assertTrue(Files.isRegularFile(f), f + " missing");
        BufferedImage img = ImageIO.read(f.toFile());
        assertTrue(img != null, f + " does not decode as an image");
        return img;
    }

    private static void assertSize(Path f, int width, int height) throws IOException {
        BufferedImage img = png(f);
        assertEquals(width, img.getWidth(), f + ": width");
        assertEquals(height, img.getHeight(), f + ": height");
        assertTrue(hybridsam.io.PngMark.isOwn(f), f + " carries hybridsam's mark");
    }

    private static void assertPlots(Cli.Result r, Path run, int thetaCharts) throws IOException {
        for (String name : Plots.FILES) {
            assertTrue(r.out().contains("figure          " + run.resolve(name)), r.out());
        }
        assertSize(run.resolve(Plots.LOSS), Plots.WIDTH, Plots.HEIGHT);
        assertSize(run.resolve(Plots.THETA), Plots.WIDTH, thetaCharts * Plots.HEIGHT);
    }

    @Test
    void oneRunAndReplicasDrawTheirPlotsAndPlotRedrawsThem() throws IOException {
        Path one = tmp.resolve("one");
        assertPlots(Cli.train(one, "--task", "pendulum", "--epochs", "2").expect(Main.OK), one, 1);

        Path three = tmp.resolve("three");
        Cli.Result r = Cli.train(three, "--task", "pendulum", "--epochs", "2", "--replicas", "3", "--method", "erm,fsam,fsam",
                "--rho", "0.05,0.05,0.1").expect(Main.OK);
        assertPlots(r, three, 1);
        Map<String, Object> res = Cli.results(three);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> entries = (List<Map<String, Object>>) (List<?>) Cli.list(res, "replicas");
        // the legend names what differs: the method, and ρ where the method uses it (erm's ρ is not shown)
        assertEquals(List.of("erm", "fsam \u03c1=0.05", "fsam \u03c1=0.1"), Plots.labels(entries));

        // plot redraws a finished run's plots, the same pictures (its own files are replaced), by --run DIR or DIR
        byte[] loss = Files.readAllBytes(three.resolve(Plots.LOSS)), theta = Files.readAllBytes(three.resolve(Plots.THETA));
        Cli.Result p = Cli.run("plot", "--run", three.toString()).expect(Main.OK);
        assertTrue(p.out().contains(three.resolve(Plots.LOSS).toString()) && p.out().contains(three.resolve(Plots.THETA).toString()), p.out());
        assertArrayEquals(loss, Files.readAllBytes(three.resolve(Plots.LOSS)));
        assertArrayEquals(theta, Files.readAllBytes(three.resolve(Plots.THETA)));
        Cli.run("plot", one.toString()).expect(Main.OK);
        assertSize(one.resolve(Plots.LOSS), Plots.WIDTH, Plots.HEIGHT);
    }

    @Test
    void noPlotsWritesNoneAndPlotDrawsThemLater() throws IOException {
        Path run = tmp.resolve("quiet");
        Cli.Result r = Cli.train(run, "--task", "duffing", "--epochs", "2", "--no-plots").expect(Main.OK);
        assertFalse(r.out().contains("figure"), r.out());
        for (String name : Plots.FILES) assertFalse(Files.exists(run.resolve(name)), name);
        Cli.run("plot", "--run", run.toString()).expect(Main.OK);
        // duffing's θ has two components: two charts, stacked
        assertSize(run.resolve(Plots.LOSS), Plots.WIDTH, Plots.HEIGHT);
        assertSize(run.resolve(Plots.THETA), Plots.WIDTH, 2 * Plots.HEIGHT);
        // the plots need results.json alone (a folder someone copied it into, without the run's other files)
        Path copy = Files.createDirectories(tmp.resolve("results-only"));
        Files.copy(run.resolve("results.json"), copy.resolve("results.json"));
        Cli.run("plot", copy.toString()).expect(Main.OK);
        assertSize(copy.resolve(Plots.THETA), Plots.WIDTH, 2 * Plots.HEIGHT);
    }

    @Test
    void lightTunnelPlotsTheCosineInOneChart() throws IOException {
        Path run = tmp.resolve("lt");
        Cli.Result r = Cli.train(run, "--task", "light-tunnel", "--epochs", "2", "--method", "erm").expect(Main.OK);
        assertEquals(9, Cli.theta(Cli.map(Cli.results(run), "final")).size());
        assertPlots(r, run, 1);
    }

    /** A resumed run that finishes draws its plots (over the ones it drew before, which are its own). */
    @Test
    void aResumeThatFinishesDrawsThePlots() throws IOException {
        Path cut = tmp.resolve("cut");
        Cli.train(cut, "--task", "pendulum", "--epochs", "1").expect(Main.OK);
        byte[] before = Files.readAllBytes(cut.resolve(Plots.LOSS));
        // make it the run of 2 epochs that stopped after its first
        Path config = cut.resolve("config.json");
        Map<String, Object> c = Cli.json(config);
        List<Object> args = new java.util.ArrayList<>(Cli.list(c, "args"));
        args.set(args.indexOf("--epochs") + 1, "2");
        c.put("args", args);
        Files.writeString(config, hybridsam.io.Json.write(c) + "\n");
        Files.delete(cut.resolve("results.json"));
        Cli.Result r = Cli.run("train", "--resume", cut.toString()).expect(Main.OK);
        assertPlots(r, cut, 1);
        assertFalse(java.util.Arrays.equals(before, Files.readAllBytes(cut.resolve(Plots.LOSS))), "two epochs drawn, not one");
    }

    @Test
    void aBadOrMissingResultsJsonIsRefusedByName() throws IOException {
        Path run = tmp.resolve("run");
        Cli.train(run, "--task", "pendulum", "--epochs", "2", "--no-plots").expect(Main.OK);
        Path results = run.resolve("results.json");
        String good = Files.readString(results);

        Files.writeString(results, good.substring(0, good.length() / 2));
        Cli.Result r = Cli.run("plot", "--run", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(results.toString()) && r.err().contains("malformed JSON"), r.err());

        Files.writeString(results, good.replace("\"history\"", "\"historie\""));
        r = Cli.run("plot", "--run", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(results.toString()) && r.err().contains("\"history\""), r.err());

        Files.writeString(results, good.replace("\"train_loss\": ", "\"train_loss\": \"x\", \"was\": "));
        r = Cli.run("plot", "--run", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(results.toString()) && r.err().contains("history[0]") && r.err().contains("train_loss"), r.err());

        Files.delete(results);
        r = Cli.run("plot", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(results.toString()) && r.err().contains("not found"), r.err());
        r = Cli.run("plot", tmp.resolve("nowhere").toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("nowhere"), r.err());
        Cli.run("plot").expect(Main.BAD_INPUT);
        for (String name : Plots.FILES) assertFalse(Files.exists(run.resolve(name)), name);

        // a folder plot cannot write into (here its lock cannot be taken: .lock is a folder) is exit 4, with the reason
        Files.writeString(results, good);
        Files.delete(run.resolve(hybridsam.io.RunLock.FILE));
        Files.createDirectory(run.resolve(hybridsam.io.RunLock.FILE));
        r = Cli.run("plot", "--run", run.toString()).expect(Main.CANNOT_WRITE);
        assertTrue(r.err().contains("cannot write " + run), r.err());
        for (String name : Plots.FILES) assertFalse(Files.exists(run.resolve(name)), name);
    }

    @Test
    void aForeignFileOfAPlotsNameIsRefusedBeforeTrainingAndByPlot() throws IOException {
        Path out = tmp.resolve("mine");
        Files.createDirectories(out);
        Path mine = Files.writeString(out.resolve(Plots.LOSS), "my own picture");
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--epochs", "2").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(Plots.LOSS) && r.err().contains("choose another --out"), r.err());
        assertEquals("my own picture", Files.readString(mine));
        try (var s = Files.list(out)) {
            assertEquals(List.of(Plots.LOSS), s.map(p -> p.getFileName().toString()).toList(), "nothing else written");
        }
        // with --no-plots the file is none of the run's business
        Cli.train(out, "--task", "pendulum", "--epochs", "2", "--no-plots").expect(Main.OK);
        assertEquals("my own picture", Files.readString(mine));
        // plot refuses it too, and writes nothing
        r = Cli.run("plot", "--run", out.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(Plots.LOSS) && r.err().contains("did not write"), r.err());
        assertEquals("my own picture", Files.readString(mine));
        assertFalse(Files.exists(out.resolve(Plots.THETA)));
        // a PNG of its own name that hybridsam did not write is refused the same way
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        assertTrue(javax.imageio.ImageIO.write(img, "png", out.resolve(Plots.THETA).toFile()));
        assertFalse(hybridsam.io.PngMark.isOwn(out.resolve(Plots.THETA)));
        Files.delete(mine);
        r = Cli.run("plot", "--run", out.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(Plots.THETA), r.err());
    }

    @Test
    void aPlotThatCannotBeDrawnIsSkippedAndTheRunSucceeds() throws IOException {
        Path run = tmp.resolve("nofonts");
        Plots.beforeDrawing = () -> {
            throw new InternalError("simulated: no usable fonts");
        };
        try {
            Cli.Result r = Cli.train(run, "--task", "pendulum", "--epochs", "2").expect(Main.OK);
            assertTrue(r.err().contains("plots skipped") && r.err().contains("simulated: no usable fonts"), r.err());
            assertTrue(r.out().contains("test MSE"), r.out());
            assertTrue(Files.isRegularFile(run.resolve("results.json")));
            for (String name : Plots.FILES) assertFalse(Files.exists(run.resolve(name)), name);
            // plot, whose only job it is, fails with the reason
            Cli.Result p = Cli.run("plot", "--run", run.toString()).expect(Main.FAILED);
            assertTrue(p.err().contains("cannot draw") && p.err().contains("simulated: no usable fonts"), p.err());
        } finally {
            Plots.beforeDrawing = null;
        }
        Cli.run("plot", "--run", run.toString()).expect(Main.OK);
        assertSize(run.resolve(Plots.LOSS), Plots.WIDTH, Plots.HEIGHT);
    }
}
