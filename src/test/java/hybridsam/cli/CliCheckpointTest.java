package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import hybridsam.io.Json;
import hybridsam.train.Checkpoint;
import hybridsam.train.OptimizerState;

import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What `train --resume` checks before it continues a run: the checkpoint's checksum and its
 * contents (epoch counter against history, array lengths against the run's shapes, finite
 * numbers, types), config.json's types, and that the task, the shapes and the data (folder and
 * fingerprint) are the ones the run started with. Every refusal is exit 2 with the file and the
 * field or file named, no stack trace, and the run folder left byte for byte as it was.
 */
class CliCheckpointTest {
    @TempDir
    Path tmp;

    /**
     * A run interrupted after its second epoch, as CliResumeTest makes one: a 2-epoch run whose
     * settings are switched to 3 epochs and whose results.json is removed.
     */
    private Path interrupted(String name, String... extra) throws IOException {
        Path dir = tmp.resolve(name);
        List<String> a = new ArrayList<>(List.of("--task", "duffing", "--epochs", "2", "--batch", "16", "--method", "fsam"));
        a.addAll(List.of(extra));
        Cli.train(dir, a.toArray(String[]::new)).expect(Main.OK);
        editArgs(dir, args -> args.set(args.indexOf("--epochs") + 1, "3"));
        Files.delete(dir.resolve("results.json"));
        return dir;
    }

    /** A run like {@link #interrupted} but on its own copy of the data, given by --data. */
    private Path interruptedOnData(String name, Path data) throws IOException {
        Path dir = tmp.resolve(name);
        Cli.run("train", "--task", "duffing", "--epochs", "2", "--batch", "16", "--threads", "2", "--quiet",
                "--data", data.toString(), "--out", dir.toString()).expect(Main.OK);
        editArgs(dir, args -> args.set(args.indexOf("--epochs") + 1, "3"));
        Files.delete(dir.resolve("results.json"));
        return dir;
    }

    private Path dataCopy(String name) {
        Path d = tmp.resolve(name);
        Cli.copyDir(Cli.duffingData(), d);
        return d;
    }

    @SuppressWarnings("unchecked")
    private static void editConfig(Path dir, Consumer<Map<String, Object>> edit) throws IOException {
        Path f = dir.resolve("config.json");
        Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(f));
        edit.accept(m);
        Files.writeString(f, Json.write(m));
    }

    @SuppressWarnings("unchecked")
    private static void editArgs(Path dir, Consumer<List<Object>> edit) throws IOException {
        editConfig(dir, m -> edit.accept((List<Object>) m.get("args")));
    }

    /** Rewrites the checkpoint through the API, so its checksum is valid and only the contents are wrong. */
    private static void rewrite(Path dir, java.util.function.UnaryOperator<Checkpoint> edit) throws IOException {
        edit.apply(Checkpoint.read(dir)).write(dir);
    }

    /** train --resume dir must be refused with exit 2, each text on stderr, no stack trace, nothing changed. */
    private static Cli.Result refusedResume(Path dir, String... mentions) {
        var before = Cli.snapshot(dir);
        Cli.Result r;
        try {
            r = Cli.run("train", "--resume", dir.toString());
        } catch (RuntimeException e) {
            throw new AssertionError("train --resume threw instead of refusing with exit 2", e);
        }
        r.expect(Main.BAD_INPUT);
        for (String m : mentions) assertTrue(r.err().contains(m), () -> "stderr should mention '" + m + "':\n" + r.err());
        assertFalse(r.err().contains("\tat "), () -> "no stack trace:\n" + r.err());
        assertEquals("", r.out(), "nothing on stdout");
        assertEquals(before, Cli.snapshot(dir), "a refused resume leaves the run folder as it was");
        return r;
    }

    // ------------------------------------------------------------------ the checkpoint file

    @Test
    void aFlippedBitInTheCheckpointIsRefusedAsAChecksumMismatch() throws IOException {
        Path dir = interrupted("flip");
        Path f = dir.resolve(Checkpoint.FILE);
        byte[] b = Files.readAllBytes(f);
        // a bit in the middle of the file: in the optimizer's arrays, where it would resume silently to other numbers
        b[b.length / 2] ^= 1;
        Files.write(f, b);
        refusedResume(dir, f.toString(), "checksum mismatch: the file was changed or damaged");
        // evaluate reads the same checkpoint and refuses it the same way
        Cli.Result e = Cli.run("evaluate", "--run", dir.toString()).expect(Main.BAD_INPUT);
        assertTrue(e.err().contains(f.toString()) && e.err().contains("checksum mismatch"), e.err());
    }

    @Test
    void aTruncatedCheckpointIsRefused() throws IOException {
        Path dir = interrupted("cut");
        Path f = dir.resolve(Checkpoint.FILE);
        byte[] b = Files.readAllBytes(f);
        for (int keep : new int[]{b.length - 1, b.length - 40, b.length / 2, 30, 10, 3, 0}) {
            Files.write(f, java.util.Arrays.copyOf(b, keep));
            refusedResume(dir, f.toString(), keep < 8 ? "" : "truncated");
        }
    }

    @Test
    void anEditedEpochCounterIsRefusedInsteadOfDuplicatingHistory() throws IOException {
        Path dir = interrupted("epochs");
        rewrite(dir, c -> new Checkpoint(1, c.state(), c.bestParams(), c.bookkeeping()));
        refusedResume(dir, dir.resolve(Checkpoint.FILE).toString(), "history[0]", "epoch counter says 1");
    }

    @Test
    void nonFiniteParametersAreRefusedNamingTheField() throws IOException {
        Path dir = interrupted("nan");
        rewrite(dir, c -> {
            float[] p = c.state().params().clone();
            p[5] = Float.NaN;
            OptimizerState s = c.state();
            return new Checkpoint(c.epochsDone(), new OptimizerState(p, s.adamM(), s.adamV(), s.gradAverage(), s.step()),
                    c.bestParams(), c.bookkeeping());
        });
        refusedResume(dir, dir.resolve(Checkpoint.FILE).toString(), "params[5]", "NaN");
    }

    @Test
    void wrongTypesInTheCheckpointAreRefusedNamingTheField() throws IOException {
        Path dir = interrupted("types");
        rewrite(dir, c -> {
            Map<String, Object> b = new LinkedHashMap<>(c.bookkeeping());
            b.put("best_epoch", List.of("2"));
            return new Checkpoint(c.epochsDone(), c.state(), c.bestParams(), b);
        });
        refusedResume(dir, dir.resolve(Checkpoint.FILE).toString(), "best_epoch[0]", "an integer", "the string \"2\"");
        Path dir2 = interrupted("types2");
        rewrite(dir2, c -> {
            Map<String, Object> b = new LinkedHashMap<>(c.bookkeeping());
            b.put("train_seconds", "fast");
            return new Checkpoint(c.epochsDone(), c.state(), c.bestParams(), b);
        });
        refusedResume(dir2, dir2.resolve(Checkpoint.FILE).toString(), "train_seconds");
    }

    @Test
    void aCheckpointOfAnotherShapeIsRefusedNamingTheLengths() throws IOException {
        Path dir = interrupted("shape");
        Path other = tmp.resolve("other");
        Cli.train(other, "--task", "duffing", "--epochs", "2", "--batch", "16", "--hidden", "8").expect(Main.OK);
        Files.copy(other.resolve(Checkpoint.FILE), dir.resolve(Checkpoint.FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Cli.Result r = refusedResume(dir, dir.resolve(Checkpoint.FILE).toString(), "\"params\"");
        assertTrue(r.err().contains("4484") && r.err().contains("44"), "both lengths are named: " + r.err());
    }

    @Test
    void aFormat1CheckpointWithoutChecksumIsRefused() throws IOException {
        Path dir = interrupted("old");
        Checkpoint c = Checkpoint.read(dir);
        // the layout every checkpoint had before format 2: magic "HSMCKPT1", no header, no checksum
        try (OutputStream o = Files.newOutputStream(dir.resolve(Checkpoint.FILE));
             DataOutputStream d = new DataOutputStream(o)) {
            d.writeLong(0x48534D43_4B505431L);
            d.writeInt(c.epochsDone());
            d.writeLong(c.state().step());
            byte[] json = Json.write(c.bookkeeping()).getBytes(StandardCharsets.UTF_8);
            d.writeInt(json.length);
            d.write(json);
            for (float[] a : new float[][]{c.state().params(), c.state().adamM(), c.state().adamV(), c.state().gradAverage(), c.bestParams()}) {
                d.writeInt(a.length);
                for (float v : a) d.writeInt(Float.floatToRawIntBits(v));
            }
        }
        refusedResume(dir, dir.resolve(Checkpoint.FILE).toString(), "format 1", "older hybridsam");
    }

    @Test
    void anIntactCheckpointStillResumesBitForBit() throws IOException {
        Path a = tmp.resolve("whole");
        Cli.train(a, "--task", "duffing", "--epochs", "3", "--batch", "16", "--method", "fsam").expect(Main.OK);
        Path b = interrupted("intact");
        Cli.Result r = Cli.run("train", "--resume", b.toString()).expect(Main.OK);
        assertTrue(r.err().contains("resuming after epoch 2"), r.err());
        Map<String, Object> ra = Cli.results(a), rb = Cli.results(b);
        Cli.assertBitIdentical(ra.get("history"), rb.get("history"), "history");
        Cli.assertBitIdentical(ra.get("final"), rb.get("final"), "final");
        Cli.assertBitIdentical(Cli.map(ra, "data").get("fingerprint"), Cli.map(rb, "data").get("fingerprint"), "data.fingerprint");
    }

    // ------------------------------------------------------------------ config.json

    @Test
    void wrongTypesInConfigJsonAreRefusedNamingFileAndField() throws IOException {
        Path dir = interrupted("cfg");
        Path f = dir.resolve("config.json");
        String original = Files.readString(f);

        editArgs(dir, args -> args.set(args.indexOf("--batch") + 1, 16L)); // a number where the args hold strings
        refusedResume(dir, f.toString(), "args[", "a string", "the number 16");

        Files.writeString(f, original);
        editArgs(dir, args -> args.set(args.indexOf("--batch") + 1, "sixteen"));
        refusedResume(dir, f.toString(), "\"args\"", "--batch", "sixteen");

        Files.writeString(f, original);
        editConfig(dir, m -> Cli.map(m, "data").put("fingerprint", 5L));
        refusedResume(dir, f.toString(), "data.fingerprint", "a string", "the number 5");

        Files.writeString(f, original);
        editConfig(dir, m -> Cli.map(m, "model").put("parameters", "4484"));
        refusedResume(dir, f.toString(), "model.parameters", "an integer");

        Files.writeString(f, original);
        editConfig(dir, m -> Cli.map(m, "data").remove("fingerprint"));
        refusedResume(dir, f.toString(), "data.fingerprint", "older hybridsam");

        Files.writeString(f, original);
        Cli.run("train", "--resume", dir.toString()).expect(Main.OK);
    }

    // ------------------------------------------------------------------ task, shapes and data

    @Test
    void anotherTaskIsRefused() throws IOException {
        Path dir = interrupted("task");
        editArgs(dir, args -> args.set(args.indexOf("--task") + 1, "pendulum"));
        refusedResume(dir, dir.resolve("config.json").toString(), "task duffing", "pendulum");
    }

    @Test
    void anotherNetworkShapeIsRefused() throws IOException {
        Path dir = interrupted("hidden");
        editArgs(dir, args -> args.addAll(List.of("--hidden", "16")));
        refusedResume(dir, dir.resolve("config.json").toString(), "2-64-64-2", "2-16-2", "shapes");
        Path reps = interrupted("replicas");
        editArgs(reps, args -> args.addAll(List.of("--replicas", "2")));
        refusedResume(reps, reps.resolve("config.json").toString(), "replica");
    }

    @Test
    void editedDataFilesAreRefusedNamingTheFile() throws IOException {
        Path data = dataCopy("data");
        Path dir = interruptedOnData("edited", data);
        Map<String, Object> config = Cli.json(dir.resolve("config.json"));
        assertTrue(Cli.map(config, "data").get("fingerprint").toString().startsWith("sha256:"), config.toString());

        Path npy = data.resolve("train_obs.npy");
        byte[] original = Files.readAllBytes(npy);
        byte[] b = original.clone();
        int headerEnd = 10 + (ByteBuffer.wrap(b, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.putFloat(headerEnd + 40, bb.getFloat(headerEnd + 40) + 0.001f); // a plausible value: the data still load
        Files.write(npy, b);
        refusedResume(dir, data.toAbsolutePath().toString(), "data changed since the run started", "train_obs.npy differs");

        Files.write(npy, original);
        Path manifest = data.resolve("manifest.json");
        String m = Files.readString(manifest);
        Files.writeString(manifest, m.replaceFirst("\\{", "{\"note\": \"edited\", "));
        refusedResume(dir, "data changed since the run started", "manifest.json differs");

        Files.writeString(manifest, m);
        Files.delete(data.resolve("valid_obs.npy"));
        refusedResume(dir, "valid_obs.npy is missing");

        Files.write(data.resolve("valid_obs.npy"), Files.readAllBytes(Cli.duffingData().resolve("valid_obs.npy")));
        Cli.run("train", "--resume", dir.toString()).expect(Main.OK); // the same bytes again: accepted
    }

    @Test
    void anotherCacheFolderIsRefusedNamingBothFolders() throws IOException {
        Path c1 = tmp.resolve("cache1"), c2 = tmp.resolve("cache2");
        Cli.copyDir(Cli.cache(), c1);
        Cli.copyDir(Cli.cache(), c2); // the same bytes in another folder
        Path dir = tmp.resolve("cached");
        Cli.run("train", "--task", "duffing", "--preset", "small", "--epochs", "2", "--batch", "16", "--threads", "2",
                "--quiet", "--cache", c1.toString(), "--out", dir.toString()).expect(Main.OK);
        editArgs(dir, args -> {
            args.set(args.indexOf("--epochs") + 1, "3");
            args.set(args.indexOf("--cache") + 1, c2.toString());
        });
        Files.delete(dir.resolve("results.json"));
        refusedResume(dir, c1.resolve("duffing-small-seed0").toString(), c2.resolve("duffing-small-seed0").toString());
    }

    /**
     * A relative --data is recorded resolved, so a resume from another working folder (a child
     * JVM started elsewhere) reads the same data, checked by its fingerprint.
     */
    @Test
    void aRelativeDataFolderIsRecordedResolvedAndResumesFromAnotherWorkingFolder() throws Exception {
        Path data = dataCopy("reldata");
        String relative = Path.of("").toAbsolutePath().relativize(data.toAbsolutePath()).toString();
        assertFalse(Path.of(relative).isAbsolute());
        Path dir = tmp.resolve("rel");
        Cli.run("train", "--task", "duffing", "--epochs", "2", "--batch", "16", "--threads", "2", "--quiet",
                "--data", relative, "--out", dir.toString()).expect(Main.OK);
        List<Object> args = Cli.list(Cli.json(dir.resolve("config.json")), "args");
        assertEquals(data.toAbsolutePath().normalize().toString(), args.get(args.indexOf("--data") + 1), "recorded resolved: " + args);
        editArgs(dir, a -> a.set(a.indexOf("--epochs") + 1, "3"));
        Files.delete(dir.resolve("results.json"));

        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere").resolve("deeper"));
        assertFalse(Files.exists(elsewhere.resolve(relative)), "the relative path means nothing from there");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", testClassPath(), Main.class.getName(),
                "train", "--resume", dir.toAbsolutePath().toString()));
        Process p = new ProcessBuilder(cmd).directory(elsewhere.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String log = Files.readString(tmp.resolve("child.log"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("resuming after epoch 2"), log);
        assertEquals(3, Cli.list(Cli.results(dir), "history").size());
    }

    // ------------------------------------------------------------------ options ignored together

    /** --preset (and --data-seed, --cache) choose the generated data, which --data replaces: refused, not ignored. */
    @Test
    void presetWithDataIsRefused() throws IOException {
        Path out = tmp.resolve("both");
        Cli.Result r = Cli.run("train", "--task", "duffing", "--preset", "small", "--epochs", "1", "--threads", "2",
                "--quiet", "--data", Cli.duffingData().toString(), "--out", out.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--preset") && r.err().contains("--data"), r.err());
        assertFalse(Files.exists(out), "nothing written");
        Cli.run("train", "--task", "duffing", "--data-seed", "3", "--epochs", "1", "--threads", "2", "--quiet",
                "--data", Cli.duffingData().toString(), "--out", out.toString()).expect(Main.BAD_INPUT);
        assertFalse(Files.exists(out), "nothing written");
        // evaluate --data on a run started with a preset replaces its data on purpose, and still works
        Path run = tmp.resolve("preset-run");
        Cli.train(run, "--task", "duffing", "--epochs", "1").expect(Main.OK);
        Cli.run("evaluate", "--run", run.toString(), "--data", Cli.duffingData().toString()).expect(Main.OK);
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
