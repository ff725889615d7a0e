package hybridsam.cli;

import static hybridsam.cli.Cli.list;
import static hybridsam.cli.Cli.map;
import static hybridsam.cli.Cli.number;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.NdArray;
import hybridsam.io.Npy;
import hybridsam.train.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line end to end on the small presets: train, evaluate, generate, devices, help. */
class CliEndToEndTest {
    @TempDir
    Path tmp;

    private static final List<String> HYPERPARAMETERS = List.of("method", "rho", "sigma", "lambda", "eta", "l2",
            "perturb", "theta_grad", "lr_theta", "lr_nn", "clip", "weight_decay");

    /** Checks everything results.json must hold; returns it. */
    private static Map<String, Object> checkRun(Path dir, String task, String method, int epochs, int nTheta) {
        for (String f : List.of("config.json", Checkpoint.FILE, "results.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), () -> f + " missing in " + dir);
        }
        Map<String, Object> config = Cli.json(dir.resolve("config.json"));
        assertEquals(task, config.get("task"));
        Map<String, Object> r = Cli.results(dir);
        assertEquals(task, r.get("task"));
        assertEquals((long) epochs, r.get("epochs"));
        assertEquals((long) epochs, r.get("epochs_run"));
        assertEquals(64L, r.get("batch_size"));
        Map<String, Object> hp = map(r, "hyperparameters");
        for (String k : HYPERPARAMETERS) assertTrue(hp.containsKey(k), "hyperparameter " + k + " missing: " + hp);
        assertEquals(method, hp.get("method"));
        assertEquals(0.01, number(hp, "lr_theta"));
        assertEquals(0.001, number(hp, "lr_nn"));
        assertEquals(5.0, number(hp, "clip"));
        assertEquals(0.9, number(hp, "lambda"));
        @SuppressWarnings("unchecked") Map<String, Object> configured = (Map<String, Object>) list(config, "replicas").get(0);
        assertEquals(hp, map(configured, "hyperparameters"), "config.json and results.json disagree on the settings");

        List<Object> history = list(r, "history");
        assertEquals(epochs, history.size());
        for (int e = 0; e < epochs; e++) {
            @SuppressWarnings("unchecked") Map<String, Object> h = (Map<String, Object>) history.get(e);
            assertEquals((long) (e + 1), h.get("epoch"));
            assertTrue(Double.isFinite(number(h, "train_loss")) && number(h, "train_loss") > 0, h::toString);
            assertTrue(Double.isFinite(number(h, "valid_mse")) && number(h, "valid_mse") > 0, h::toString);
            assertEquals(nTheta, Cli.theta(h).size());
            assertTrue(number(h, "theta_error") >= 0);
        }
        Map<String, Object> fin = map(r, "final");
        assertEquals(nTheta, Cli.theta(fin).size());
        for (String k : List.of("theta_error", "test_mse", "test_mse_science_only", "valid_mse")) {
            assertTrue(Double.isFinite(number(fin, k)) && number(fin, k) >= 0, k + " in " + fin);
        }
        double share = number(fin, "network_share");
        assertTrue(share >= 0 && share <= 1, "network_share " + share);
        // final θ is the best epoch's θ
        long best = (Long) r.get("best_epoch");
        assertTrue(best >= 1 && best <= epochs);
        @SuppressWarnings("unchecked") Map<String, Object> bestRec = (Map<String, Object>) history.get((int) best - 1);
        assertEquals(bestRec.get("theta"), fin.get("theta"));
        assertEquals(bestRec.get("valid_mse"), fin.get("valid_mse"));
        assertTrue(number(r, "wall_seconds") > 0);
        assertTrue(number(r, "steps_per_second") > 0);
        assertEquals((long) epochs, r.get("steps"), "64 training sequences in one batch of 64 = one step per epoch");
        Checkpoint c = Checkpoint.read(dir);
        assertEquals(epochs, c.epochsDone());
        return r;
    }

    @Test
    void trainPendulumFsamThenEvaluate() {
        Path run = tmp.resolve("pend");
        Cli.Result res = Cli.train(run, "--task", "pendulum", "--epochs", "2").expect(Main.OK);
        Map<String, Object> r = checkRun(run, "pendulum", "fsam", 2, 1);
        assertTrue(res.out().contains("theta error"), res.out());
        double thetaError = number(map(r, "final"), "theta_error");
        assertTrue(res.out().contains(String.format(Locale.ROOT, "%.4f", thetaError)), res.out());
        assertTrue(res.err().contains("training pendulum with fsam"), res.err());

        // evaluate reloads the best parameters and reproduces the final test MSE exactly
        Cli.Result ev = Cli.run("evaluate", "--run", run.toString()).expect(Main.OK);
        Matcher m = Pattern.compile("(?m)^test_mse\\s+(\\S+)$").matcher(ev.out());
        assertTrue(m.find(), ev.out());
        assertEquals(number(map(r, "final"), "test_mse"), Double.parseDouble(m.group(1)), 0.0, ev.out());

        Cli.Result evJson = Cli.run("evaluate", "--run", run.toString(), "--json", "--split", "valid").expect(Main.OK);
        @SuppressWarnings("unchecked") Map<String, Object> ev0 = (Map<String, Object>) hybridsam.io.Json.parse(evJson.out().trim());
        assertEquals("valid", ev0.get("split"));
        assertEquals("hybridsam-evaluation", ev0.get("schema"));
        @SuppressWarnings("unchecked") Map<String, Object> ej = (Map<String, Object>) list(ev0, "replicas").get(0);
        // the field names of results.json's final: valid_mse as there, theta by name
        assertEquals(number(map(r, "final"), "valid_mse"), number(ej, "valid_mse"), 0.0);
        assertTrue(ej.get("theta") instanceof Map, "theta by component name: " + ej);
        assertEquals(map(r, "final").get("theta"), ej.get("theta"));
    }

    @Test
    void trainDuffingErm() {
        Path run = tmp.resolve("duff");
        Cli.Result res = Cli.train(run, "--task", "duffing", "--method", "erm", "--epochs", "2").expect(Main.OK);
        Map<String, Object> r = checkRun(run, "duffing", "erm", 2, 2);
        assertEquals(2L, r.get("gradient_evaluations"), "erm takes one gradient per step");
        assertTrue(res.out().contains("theta error"), res.out());
        assertTrue(res.out().contains("alpha") && res.out().contains("beta"), res.out());
    }

    @Test
    void generateWritesDataThatLoadBack() throws IOException {
        Path out = tmp.resolve("gen").resolve("duffing");
        Cli.Result res = Cli.run("generate", "--task", "duffing", "--preset", "small", "--out", out.toString())
                .expect(Main.OK);
        assertTrue(res.out().contains(out.toAbsolutePath().toString()), res.out());
        assertTrue(Files.isRegularFile(out.resolve(DatasetStore.MANIFEST)));
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(3, s.filter(p -> p.toString().endsWith(".npy")).count());
        }
        Dataset d = DatasetStore.load(out);
        int[][] shapes = {{64, 25, 2}, {32, 25, 2}, {32, 25, 2}};
        String[] names = {"train_obs", "valid_obs", "test_obs"};
        for (int i = 0; i < 3; i++) {
            NdArray a = d.arrays().get(names[i]);
            assertNotNull(a, names[i]);
            assertArrayEquals(shapes[i], a.shape(), names[i]);
            assertEquals(a, Npy.read(out.resolve(names[i] + ".npy")));
        }
        assertEquals("duffing", d.manifest().get("task"));
        // the same seed regenerates identical arrays: compare with the shared cache's copy
        Dataset cached = DatasetStore.load(Cli.duffingData());
        for (String n : names) assertEquals(cached.arrays().get(n), d.arrays().get(n), n);
        // a second generate leaves the existing data alone
        var before = Cli.snapshot(out);
        Cli.Result again = Cli.run("generate", "--task", "duffing", "--preset", "small", "--out", out.toString())
                .expect(Main.OK);
        assertTrue(again.out().contains("already there"), again.out());
        assertEquals(before, Cli.snapshot(out));
        // no staging folders left next to it
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertEquals(List.of(out), s.toList());
        }
    }

    @Test
    void devicesListsCpuAndWhyCudaIsMissing() {
        // in the stand-in JVM (a -Dtest run reaches it too) cuda is there: CliStandInTest covers that case
        org.junit.jupiter.api.Assumptions.assumeFalse(hybridsam.cuda.StandIn.requested(), "the CUDA stand-in is switched on");
        Cli.Result res = Cli.run("devices").expect(Main.OK);
        assertTrue(res.out().contains("cpu") && res.out().contains("available"), res.out());
        Matcher m = Pattern.compile("(?m)^cuda\\s+unavailable: (.+)$").matcher(res.out());
        assertTrue(m.find(), res.out());
        assertFalse(m.group(1).isBlank(), "a reason why cuda is unavailable");
        // one line per backend; the details under cuda are indented
        assertEquals(2, res.out().lines().filter(l -> !l.startsWith(" ")).count(), () -> "one line per backend:\n" + res.out());
        assertFalse(res.out().contains("\tat "), "no stack trace");
        assertEquals("libcuda.so.1: cannot open shared object file", hybridsam.cuda.CudaProbe.firstCause(
                "Error while loading native library \"JCudaDriver\"\nStack trace:\n\tat x.y(Z.java:1)\n"
                        + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver.so: libcuda.so.1: cannot open shared object file: No such file"));
        assertEquals("first line", hybridsam.cuda.CudaProbe.firstCause("first line\n\tat a.b(C.java:2)"));
        Cli.run("devices", "--verbose").expect(Main.BAD_INPUT);
    }

    @Test
    void helpTexts() {
        Cli.Result main = Cli.run("--help").expect(Main.OK);
        for (String c : List.of("train", "generate", "evaluate", "devices")) assertTrue(main.out().contains(c), main.out());
        Cli.Result train = Cli.run("train", "--help").expect(Main.OK);
        for (String opt : List.of("--task", "--method", "--preset", "--seed", "--epochs", "--rho", "--sigma", "--lambda",
                "--eta", "--lr-theta", "--lr-nn", "--clip", "--batch", "--data", "--out", "--resume", "--threads")) {
            assertTrue(train.out().contains(opt), () -> "train --help lacks " + opt);
        }
        // every option train accepts is documented
        for (String opt : RunSetup.VALUED) assertTrue(train.out().contains(opt), () -> "train --help lacks " + opt);
        for (String c : List.of("generate", "evaluate", "devices")) {
            Cli.Result h = Cli.run(c, "--help").expect(Main.OK);
            assertTrue(h.out().contains("usage: hybridsam " + c), h.out());
        }
        Cli.Result none = Cli.run();
        assertEquals(Main.BAD_INPUT, none.status());
        assertTrue(none.out().contains("usage"), none.out());
        Cli.Result unknown = Cli.run("fly").expect(Main.BAD_INPUT);
        assertTrue(unknown.err().contains("'fly'"), unknown.err());
    }
}
