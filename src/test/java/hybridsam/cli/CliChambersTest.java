package hybridsam.cli;

import hybridsam.tasks.ChambersFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Causal Chambers tasks through the command line: the small presets train and report their
 * θ measure, a folder in the chambers' published layout trains with --data (recognised, or named
 * with --data-format), resumes only on unchanged files, and evaluates.
 */
class CliChambersTest {
    @TempDir
    Path tmp;

    private static Cli.Result train(Path out, String task, String... extra) {
        List<String> a = new ArrayList<>(List.of("--task", task, "--epochs", "2"));
        a.addAll(List.of(extra));
        return Cli.train(out, a.toArray(String[]::new));
    }

    @Test
    void windTunnelSmallPresetReportsThetaError() {
        Path out = tmp.resolve("wt");
        Cli.Result r = train(out, "wind-tunnel", "--method", "fsam").expect(Main.OK);
        assertTrue(r.out().contains("theta error"), r.out());
        Map<String, Object> res = Cli.results(out);
        Map<String, Object> model = Cli.map(res, "model");
        assertEquals(List.of("torque_per_inertia", "drag_per_inertia"), Cli.list(model, "theta_names"));
        assertEquals("ode-with-inputs+readout", model.get("form"));
        Map<String, Object> fin = Cli.map(res, "final");
        assertTrue(Cli.number(fin, "theta_error") > 0 && Cli.number(fin, "theta_mn_error") > 0, fin.toString());
        assertTrue(Cli.number(fin, "test_mse") < Cli.number(fin, "test_mse_science_only"), fin.toString());
        // θ starts away from θ* (the box is centred on it), at (2, 1/2) × θ*
        Map<String, Object> first = (Map<String, Object>) Cli.list(res, "history").get(0);
        assertTrue(Cli.number(first, "theta_error") > 0.1, first.toString());
    }

    @Test
    void lightTunnelReportsTheCosineInsteadOfTheRelativeError() throws IOException {
        Path out = tmp.resolve("lt");
        Cli.Result r = train(out, "light-tunnel", "--method", "erm").expect(Main.OK);
        assertTrue(r.out().contains("theta cosine") && !r.out().contains("theta error"), r.out());
        Map<String, Object> res = Cli.results(out);
        assertEquals("output-additive", Cli.map(res, "model").get("form"));
        Map<String, Object> fin = Cli.map(res, "final");
        assertEquals(9, Cli.theta(fin).size());
        double cos = Cli.number(fin, "theta_cosine");
        assertTrue(cos > 0 && cos <= 1, fin.toString());
        assertFalse(fin.containsKey("theta_error"), fin.toString());

        // a folder in the chambers' camera-data layout (CSV + JPEG images), recognised; then evaluated
        Path data = ChambersFixtures.lightTunnel(tmp.resolve("download"));
        Path run = tmp.resolve("lt-real");
        Cli.run("train", "--task", "light-tunnel", "--data", data.toString(), "--epochs", "1", "--batch", "2",
                "--threads", "2", "--quiet", "--out", run.toString()).expect(Main.OK);
        Map<String, Object> dm = Cli.map(Cli.results(run), "data");
        assertEquals("causal-chambers", dm.get("format"));
        assertTrue(Cli.map(dm, "files").keySet().stream().anyMatch(f -> f.endsWith(".jpg")), dm.toString());
        Cli.Result ev = Cli.run("evaluate", "--run", run.toString(), "--json").expect(Main.OK);
        assertTrue(ev.out().contains("\"theta_cosine\"") && !ev.out().contains("\"theta_error\""), ev.out());

        // the images at another size: the network follows the images' shape
        Path small = tmp.resolve("lt-16");
        Cli.run("train", "--task", "light-tunnel", "--data", data.toString(), "--image-size", "16", "--epochs", "1",
                "--batch", "2", "--threads", "2", "--quiet", "--out", small.toString()).expect(Main.OK);
        Map<String, Object> shapes = Cli.map(Cli.map(Cli.results(small), "data"), "shapes");
        assertEquals(List.of(6L, 3L, 16L, 16L), shapes.get("train_images"), shapes.toString());
        Cli.Result wrong = Cli.run("train", "--task", "light-tunnel", "--preset", "small", "--image-size", "16",
                "--out", tmp.resolve("x").toString()).expect(Main.BAD_INPUT);
        assertTrue(wrong.err().contains("--image-size") && wrong.err().contains("no effect"), wrong.err());
    }

    /** Sizes that cannot fit are refused before allocation, with the bytes or values, as for the ODE tasks. */
    @Test
    void runsTooLargeForMemoryAreRefusedFirst() {
        Cli.Result r = train(tmp.resolve("huge"), "light-tunnel", "--replicas", "4096", "--hidden", "512,512").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("more than a Java array holds") && r.err().contains("--replicas 4096"), r.err());
        r = train(tmp.resolve("wide"), "wind-tunnel", "--replicas", "400", "--hidden", "512,512").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("training would need about") && r.err().contains("bytes"), r.err());
        assertFalse(Files.exists(tmp.resolve("huge")) || Files.exists(tmp.resolve("wide")));
    }

    @Test
    void anOptionTheTaskIgnoresIsRefused() {
        Cli.Result r = train(tmp.resolve("x"), "wind-tunnel", "--rk4-step", "0.05").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--rk4-step has no effect on wind-tunnel"), r.err());
        r = train(tmp.resolve("y"), "wind-tunnel", "--data-format", "causal-chambers").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("give it with --data DIR"), r.err());
        r = Cli.train(tmp.resolve("z"), "--task", "pendulum", "--data-format", "causal-chambers").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("is for wind-tunnel and light-tunnel"), r.err());
        assertFalse(Files.exists(tmp.resolve("x")) || Files.exists(tmp.resolve("y")) || Files.exists(tmp.resolve("z")));
    }

    @Test
    void chambersFolderTrainsResumesOnlyUnchangedAndEvaluates() throws IOException {
        Path data = ChambersFixtures.windTunnel(tmp.resolve("download"), 5);
        // recognised without --data-format (no manifest.json, the chambers' CSV files)
        Path a = tmp.resolve("a");
        Cli.run("train", "--task", "wind-tunnel", "--data", data.toString(), "--epochs", "1", "--batch", "2",
                "--threads", "2", "--quiet", "--out", a.toString()).expect(Main.OK);
        Map<String, Object> res = Cli.results(a);
        Map<String, Object> dm = Cli.map(res, "data");
        assertEquals("causal-chambers", dm.get("format"));
        assertTrue(Cli.map(dm, "files").keySet().stream().anyMatch(f -> f.endsWith("load_out_1_osr_downwind_4.csv")), dm.toString());
        assertEquals(8L, (long) dm.get("train") + (long) dm.get("valid") + (long) dm.get("test"));

        // named explicitly, with another split seed: the same files, split otherwise
        Path b = tmp.resolve("b");
        Cli.run("train", "--task", "wind-tunnel", "--data", data.toString(), "--data-format", "causal-chambers",
                "--data-seed", "3", "--epochs", "2", "--batch", "2", "--threads", "2", "--quiet", "--out", b.toString()).expect(Main.OK);
        // the .npy layout is not there
        Cli.Result npy = Cli.run("train", "--task", "wind-tunnel", "--data", data.toString(), "--data-format", "npy",
                "--epochs", "1", "--threads", "2", "--quiet", "--out", tmp.resolve("c").toString()).expect(Main.BAD_INPUT);
        assertTrue(npy.err().contains("manifest.json"), npy.err());

        // a resume (its results removed, as after a kill) goes on while the files are unchanged ...
        Path config = b.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\"--epochs\",(\\s*)\"2\"", "\"--epochs\",$1\"3\""));
        Files.delete(b.resolve("results.json"));
        Cli.run("train", "--resume", b.toString()).expect(Main.OK);
        assertEquals(3, Cli.list(Cli.results(b), "history").size());
        // ... and is refused, naming the file, once one changed
        Files.writeString(config, Files.readString(config).replaceFirst("\"--epochs\",(\\s*)\"3\"", "\"--epochs\",$1\"4\""));
        Files.delete(b.resolve("results.json"));
        Path csv = data.resolve("wt_intake_impulse_v1").resolve("load_out_1_osr_downwind_4.csv");
        Files.writeString(csv, Files.readString(csv).replaceFirst("standard", "standard "));
        Cli.Result changed = Cli.run("train", "--resume", b.toString()).expect(Main.BAD_INPUT);
        assertTrue(changed.err().contains("data changed") && changed.err().contains("load_out_1_osr_downwind_4.csv"), changed.err());

        Cli.Result ev = Cli.run("evaluate", "--run", a.toString(), "--json").expect(Main.OK);
        assertTrue(ev.out().contains("\"theta_error\"") && ev.out().contains("\"test_mse_science_only\""), ev.out());
    }
}
