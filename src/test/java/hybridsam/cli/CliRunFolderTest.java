package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.DatasetStore;
import hybridsam.io.RunLock;
import hybridsam.io.RunLockTest;
import hybridsam.train.Checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the tool does with the folders it writes: generate never deletes what it did not write, a
 * run folder is locked for the run's life, a run that died before its first checkpoint can be
 * continued, and output that cannot be written is exit status 4 with the reason.
 */
class CliRunFolderTest {
    @TempDir
    Path tmp;

    private static Cli.Result generate(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("generate", "--task", "duffing", "--preset", "small", "--out", out.toString()));
        a.addAll(List.of(extra));
        return Cli.run(a.toArray(String[]::new));
    }

    // ---------------------------------------------------------------- generate

    @Test
    void generateRefusesAFolderWithSomeoneElsesFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(dir.resolve("notes.txt"), "my notes");
        Files.createDirectories(dir.resolve("photos"));
        Files.writeString(dir.resolve("photos").resolve("a.jpg"), "jpeg");
        var before = Cli.snapshot(dir);
        Cli.Result r = generate(dir).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(dir.toString()), r.err());
        assertTrue(r.err().contains("notes.txt") && r.err().contains("photos"), "names what is there: " + r.err());
        assertEquals("", r.out());
        assertEquals(before, Cli.snapshot(dir), "nothing deleted or changed");
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList(), "no staging folder left");
        }
    }

    @Test
    void generateRefusesAFinishedRun() {
        Path run = tmp.resolve("run");
        Cli.train(run, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.OK);
        var before = Cli.snapshot(run);
        Cli.Result r = generate(run).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(run.toString()) && r.err().contains("config.json"), r.err());
        assertEquals(before, Cli.snapshot(run));
    }

    @Test
    void generateIntoAnEmptyFolderAndOverACompleteDataSet() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        generate(dir).expect(Main.OK);
        assertTrue(Files.isRegularFile(dir.resolve(DatasetStore.MANIFEST)));
        var before = Cli.snapshot(dir);
        Cli.Result again = generate(dir).expect(Main.OK);
        assertTrue(again.out().contains("already there"), again.out());
        assertEquals(before, Cli.snapshot(dir));
        // a data set of other settings is not "already there": refused, left alone
        Cli.Result other = generate(dir, "--seed", "3").expect(Main.BAD_INPUT);
        assertTrue(other.err().contains(dir.toString()) && other.err().contains("seed"), other.err());
        assertEquals(before, Cli.snapshot(dir));
        // a damaged one (an array file missing) is refused, not reported as there
        Files.delete(dir.resolve("valid_obs.npy"));
        var damaged = Cli.snapshot(dir);
        Cli.Result broken = generate(dir).expect(Main.BAD_INPUT);
        assertTrue(broken.err().contains("valid_obs.npy"), broken.err());
        assertEquals(damaged, Cli.snapshot(dir));
    }

    /** In a child JVM whose working folder is a scratch folder: an empty --out must never mean ".". */
    @Test
    void generateRefusesAnEmptyOutValue() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Files.writeString(work.resolve("keep.txt"), "precious");
        for (List<String> out : List.of(List.of("--out", ""), List.of("--out="))) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules", "jdk.incubator.vector", "-cp", RunLockTest.testClassPath(), Main.class.getName(),
                    "generate", "--task", "duffing", "--preset", "small"));
            cmd.addAll(out);
            Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("child.log").toFile()).start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            String log = Files.readString(tmp.resolve("child.log"));
            assertEquals(Main.BAD_INPUT, p.exitValue(), log);
            assertTrue(log.contains("--out") && log.contains("empty"), log);
            assertEquals("precious", Files.readString(work.resolve("keep.txt")));
            try (var s = Files.list(work)) {
                assertEquals(List.of(work.resolve("keep.txt")), s.toList());
            }
        }
    }

    // ---------------------------------------------------------------- cannot write

    @Test
    void outputUnderARegularFileIsCannotWriteWithTheReason() throws IOException {
        Path file = Files.writeString(tmp.resolve("plain.txt"), "not a folder");
        Path out = file.resolve("sub");
        for (Cli.Result r : List.of(Cli.train(out, "--task", "duffing", "--epochs", "1"), generate(out))) {
            r.expect(Main.CANNOT_WRITE);
            assertTrue(r.err().contains(out.toString()), r.err());
            assertTrue(r.err().contains(file + " is a file, not a folder"), r.err());
        }
        assertEquals("not a folder", Files.readString(file));
    }

    @Test
    void standardOutputThatCannotBeWrittenIsCannotWrite() {
        Path run = tmp.resolve("run");
        Cli.train(run, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.OK);
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int status = new Main(new PrintStream(full, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8))
                .run("evaluate", "--run", run.toString(), "--json");
        String err = e.toString(StandardCharsets.UTF_8);
        assertEquals(Main.CANNOT_WRITE, status, err);
        assertTrue(err.contains("standard output"), err);
    }

    // ---------------------------------------------------------------- locking

    @Test
    void aLockedRunFolderIsRefusedAndAcceptedOnceReleased() throws IOException {
        Path run = tmp.resolve("run");
        try (RunLock held = RunLock.acquire(run)) {
            Cli.Result r = Cli.train(run, "--task", "duffing", "--epochs", "1").expect(Main.BAD_INPUT);
            assertTrue(r.err().contains(run + " is in use by another hybridsam run (pid " + ProcessHandle.current().pid()
                    + ", started at "), r.err());
            assertFalse(Files.exists(run.resolve("config.json")));
        }
        Cli.train(run, "--task", "duffing", "--epochs", "1").expect(Main.OK);
        assertTrue(Files.exists(run.resolve("results.json")));
    }

    @Test
    void aLockedRunIsNotResumed() throws IOException {
        Path run = preCheckpointRun(tmp.resolve("run"));
        var before = Cli.snapshot(run);
        try (RunLock held = RunLock.acquire(run)) {
            Cli.Result r = Cli.run("train", "--resume", run.toString()).expect(Main.BAD_INPUT);
            assertTrue(r.err().contains("is in use by another hybridsam run"), r.err());
        }
        assertEquals(before, Cli.snapshot(run));
    }

    @Test
    void aLockHeldByAnotherJvmIsRefusedAndItsStaleFileTakenOverAfterACrash() throws Exception {
        Path run = tmp.resolve("run");
        Process child = RunLockTest.startHolder(run);
        try {
            Cli.Result r = Cli.train(run, "--task", "duffing", "--epochs", "1").expect(Main.BAD_INPUT);
            assertTrue(r.err().contains("is in use by another hybridsam run (pid " + child.pid() + ", started at "), r.err());
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertTrue(Files.exists(run.resolve(RunLock.FILE)), "the killed holder left its lock file");
        Cli.train(run, "--task", "duffing", "--epochs", "1").expect(Main.OK);
    }

    @Test
    void twoRunsStartedTogetherOnOneFolder() throws Exception {
        Path run = tmp.resolve("run");
        Cli.cache();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Cli.Result>> f = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                f.add(pool.submit(() -> {
                    go.await();
                    return Cli.train(run, "--task", "duffing", "--epochs", "3", "--batch", "4");
                }));
            }
            go.countDown();
            Cli.Result a = f.get(0).get(120, TimeUnit.SECONDS), b = f.get(1).get(120, TimeUnit.SECONDS);
            List<Integer> statuses = new ArrayList<>(List.of(a.status(), b.status()));
            statuses.sort(null);
            assertEquals(List.of(Main.OK, Main.BAD_INPUT), statuses, () -> "one runs, one is refused:\n" + a.err() + "\n----\n" + b.err());
            Cli.Result refused = a.status() == Main.OK ? b : a;
            assertTrue(refused.err().contains("in use by another hybridsam run") || refused.err().contains("already holds a run"),
                    refused.err());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(3, Checkpoint.read(run).epochsDone());
    }

    // ---------------------------------------------------------------- before the first checkpoint

    /**
     * What a run killed in its first epoch leaves: config.json, no checkpoint.bin, no results.json,
     * and temp files of interrupted atomic writes.
     */
    private static Path preCheckpointRun(Path run) throws IOException {
        Cli.train(run, "--task", "duffing", "--epochs", "2", "--batch", "16").expect(Main.OK);
        Files.delete(run.resolve(Checkpoint.FILE));
        Files.delete(run.resolve("results.json"));
        Files.writeString(run.resolve(".checkpoint.bin.1f2e3d4c5b6a7980.tmp"), "half a checkpoint");
        Files.writeString(run.resolve(".results.json.7a.tmp"), "{\"half");
        return run;
    }

    @Test
    void aRunThatDiedBeforeItsFirstCheckpointIsResumedFromTheStart() throws IOException {
        Path run = preCheckpointRun(tmp.resolve("run"));
        Files.writeString(run.resolve("mine.tmp"), "user");
        Files.writeString(run.resolve(".notes.txt.1f.tmp"), "user");

        // a new run there is refused with the two ways out
        var before = Cli.snapshot(run);
        Cli.Result fresh = Cli.train(run, "--task", "duffing", "--epochs", "2", "--batch", "16").expect(Main.BAD_INPUT);
        assertTrue(fresh.err().contains("hybridsam train --resume " + run), fresh.err());
        assertTrue(fresh.err().contains("delete " + run.resolve("config.json")), fresh.err());
        assertEquals(before, Cli.snapshot(run));

        Cli.Result res = Cli.run("train", "--resume", run.toString()).expect(Main.OK);
        assertTrue(res.err().contains("no checkpoint") && res.err().contains("from the beginning"), res.err());
        assertFalse(Files.exists(run.resolve(".checkpoint.bin.1f2e3d4c5b6a7980.tmp")), "leftover temp removed");
        assertFalse(Files.exists(run.resolve(".results.json.7a.tmp")), "leftover temp removed");
        assertEquals("user", Files.readString(run.resolve("mine.tmp")));
        assertEquals("user", Files.readString(run.resolve(".notes.txt.1f.tmp")));

        // it ends as the same run uninterrupted
        Path ref = tmp.resolve("ref");
        Cli.train(ref, "--task", "duffing", "--epochs", "2", "--batch", "16").expect(Main.OK);
        Map<String, Object> ra = Cli.results(ref), rb = Cli.results(run);
        Cli.assertBitIdentical(ra.get("history"), rb.get("history"), "history");
        Cli.assertBitIdentical(ra.get("final"), rb.get("final"), "final");
        assertEquals(ra.get("steps"), rb.get("steps"));
    }
}
