package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import hybridsam.io.DataException;
import hybridsam.train.Checkpoint;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `train --resume DIR` after a hard kill ends exactly as an uninterrupted run. */
class CliResumeTest {
    @TempDir
    Path tmp;

    private static final int EPOCHS = 6;

    private static List<String> options(Path out, String... extra) {
        List<String> o = new ArrayList<>(List.of("train", "--task", "duffing", "--preset", "small", "--epochs", String.valueOf(EPOCHS),
                "--batch", "4", "--threads", "2", "--quiet", "--cache", Cli.cache().toString(), "--out", out.toString()));
        o.addAll(List.of(extra));
        return o;
    }

    private static int epochsDone(Path dir) {
        if (!Files.exists(dir.resolve(Checkpoint.FILE))) return 0;
        try {
            return Checkpoint.read(dir).epochsDone();
        } catch (DataException e) {
            return 0; // cannot happen with atomic writes, but never fail the poll on it
        }
    }

    @Test
    void resumeAfterKillEndsBitIdenticalToUninterruptedRun() throws Exception {
        killResumeAndCompare();
    }

    /**
     * The same with learning-rate and rho schedules: their factors depend on the epoch and the
     * planned epochs only, so the resumed epochs get those of the uninterrupted run.
     */
    @Test
    void resumeAfterKillWithSchedulesEndsBitIdenticalToUninterruptedRun() throws Exception {
        killResumeAndCompare("--method", "fsam", "--lr-schedule", "cosine", "--rho-schedule", "warmup");
    }

    /** Run A uninterrupted, run B killed after two epochs and resumed: B must end bit for bit as A. */
    private void killResumeAndCompare(String... extra) throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Cli.run(options(a, extra).toArray(String[]::new)).expect(Main.OK);
        Map<String, Object> ra = Cli.results(a);

        // Run B in a child JVM and kill it hard once two epochs are checkpointed.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", testClassPath(), Main.class.getName()));
        cmd.addAll(options(b, extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile()).start();
        int killedAfter;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (epochsDone(b) < 2 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            killedAfter = epochsDone(b);
        } finally {
            p.destroyForcibly();
        }
        String log = Files.readString(tmp.resolve("child.log"));
        assertTrue(killedAfter >= 2, () -> "the child never checkpointed two epochs:\n" + log);

        if (Files.exists(b.resolve("results.json"))) {
            // The child outran the poll and finished: resuming a finished run must be refused.
            assertEquals(EPOCHS, killedAfter);
            Cli.Result r = Cli.run("train", "--resume", b.toString()).expect(Main.BAD_INPUT);
            assertTrue(r.err().contains("results.json"), r.err());
            System.err.println("CliResumeTest: the child finished before it could be killed; checked refusal only");
            return;
        }
        assertTrue(killedAfter < EPOCHS, "no results.json, so the run was interrupted");

        @SuppressWarnings("unchecked")
        List<Object> recorded = (List<Object>) ((List<Object>) Checkpoint.read(b).bookkeeping().get("history")).get(0);
        Cli.Result res = Cli.run("train", "--resume", b.toString()).expect(Main.OK);
        assertTrue(res.err().contains("resuming after epoch " + killedAfter), res.err());
        Map<String, Object> rb = Cli.results(b);
        // the epochs the child finished are kept exactly as it recorded them
        List<Object> named = new java.util.ArrayList<>();
        List<String> names = List.of("alpha", "beta");
        for (Object e : recorded) {
            @SuppressWarnings("unchecked") Map<String, Object> m = new java.util.LinkedHashMap<>((Map<String, Object>) e);
            Map<String, Object> theta = new java.util.LinkedHashMap<>();
            List<?> values = (List<?>) m.get("theta");
            for (int i = 0; i < names.size(); i++) theta.put(names.get(i), values.get(i));
            m.put("theta", theta);
            named.add(m);
        }
        assertEquals(names, Cli.list(Cli.map(rb, "model"), "theta_names"));
        Cli.assertBitIdentical(named, Cli.list(rb, "history").subList(0, killedAfter), "history");
        assertEquals(ra.get("steps"), rb.get("steps"), "steps are counted across the interruption");
        assertEquals(EPOCHS, Checkpoint.read(b).epochsDone());
        // a resumed run in another JVM ends bit for bit as the uninterrupted one
        Cli.assertBitIdentical(ra.get("history"), rb.get("history"), "history");
        Cli.assertBitIdentical(ra.get("final"), rb.get("final"), "final");
    }

    /**
     * The same interruption inside one JVM, where the numbers are reproducible: run B stops after
     * two epochs (a run of --epochs 2 leaves exactly the checkpoint an interrupted 6-epoch run
     * leaves after its second epoch, since nothing depends on the total), its settings are
     * switched to 6 epochs and its results removed, and --resume must end bit for bit like A.
     */
    @Test
    void resumeInProcessEndsBitIdenticalToUninterruptedRun() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Cli.train(a, "--task", "duffing", "--epochs", "6", "--batch", "16", "--method", "fsam").expect(Main.OK);
        Cli.train(b, "--task", "duffing", "--epochs", "2", "--batch", "16", "--method", "fsam").expect(Main.OK);
        assertEquals(2, Checkpoint.read(b).epochsDone());
        Path config = b.resolve("config.json");
        String text = Files.readString(config);
        String edited = text.replaceFirst("\"--epochs\",(\\s*)\"2\"", "\"--epochs\",$1\"6\"");
        assertTrue(!edited.equals(text), "config.json's args should hold --epochs 2:\n" + text);
        Files.writeString(config, edited);
        Files.delete(b.resolve("results.json"));

        Cli.Result res = Cli.run("train", "--resume", b.toString()).expect(Main.OK);
        assertTrue(res.err().contains("resuming after epoch 2"), res.err());
        Map<String, Object> ra = Cli.results(a), rb = Cli.results(b);
        assertEquals(6, Cli.list(rb, "history").size());
        Cli.assertBitIdentical(ra.get("history"), rb.get("history"), "history");
        Cli.assertBitIdentical(ra.get("final"), rb.get("final"), "final");
        Cli.assertBitIdentical(ra.get("last_epoch"), rb.get("last_epoch"), "last_epoch");
        assertEquals(ra.get("best_epoch"), rb.get("best_epoch"));
        assertEquals(ra.get("steps"), rb.get("steps"));
    }

    @Test
    void resumeRefusesFinishedRunsOtherOptionsAndNonRuns() throws IOException {
        Path a = tmp.resolve("done");
        Cli.train(a, "--task", "duffing", "--epochs", "1").expect(Main.OK);
        var before = Cli.snapshot(a);
        Cli.Result finished = Cli.run("train", "--resume", a.toString()).expect(Main.BAD_INPUT);
        assertTrue(finished.err().contains(a.toString()) && finished.err().contains("results.json"), finished.err());
        Cli.Result extra = Cli.run("train", "--resume", a.toString(), "--epochs", "5").expect(Main.BAD_INPUT);
        assertTrue(extra.err().contains("--resume"), extra.err());
        assertEquals(before, Cli.snapshot(a), "a refused resume leaves the run untouched");

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli.Result notRun = Cli.run("train", "--resume", empty.toString()).expect(Main.BAD_INPUT);
        assertTrue(notRun.err().contains("config.json"), notRun.err());
        assertFalse(Files.exists(empty.resolve("results.json")));
    }

    /** The test JVM's class path (surefire may hide it behind a manifest-only jar). */
    private static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) cp = System.getProperty("java.class.path");
        for (String e : cp.split(File.pathSeparator)) {
            if (e.endsWith("classes") || e.endsWith("classes" + File.separator)) return cp;
        }
        fail("cannot find the project's classes on the class path: " + cp);
        return cp;
    }
}
