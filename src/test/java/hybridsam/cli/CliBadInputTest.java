package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.Json;
import hybridsam.io.NdArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every bad input of issue 2 is refused with exit status 2, a message on stderr that names the
 * file, field or option, and nothing written: the --out folder is not created and an earlier run
 * stays byte for byte as it was.
 */
class CliBadInputTest {
    @TempDir
    Path tmp;

    /** A private copy of the generated duffing small data set, to break. */
    private Path data() {
        Path d = tmp.resolve("data");
        Cli.copyDir(Cli.duffingData(), d);
        return d;
    }

    /** train on --data dir; asserts status 2, that stderr mentions each text, and no output folder. */
    private Cli.Result refusedData(Path dir, String... mentions) {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("train", "--task", "duffing", "--preset", "small", "--epochs", "1", "--threads", "2",
                "--quiet", "--data", dir.toString(), "--out", out.toString());
        return checkRefused(r, out, mentions);
    }

    /** train with extra options on the cached data; same checks. */
    private Cli.Result refusedOptions(String[] extra, String... mentions) {
        Path out = tmp.resolve("out");
        List<String> a = new ArrayList<>(List.of("train", "--quiet", "--cache", Cli.cache().toString(), "--out", out.toString()));
        List<String> given = Arrays.asList(extra);
        String[][] defaults = {{"--task", "duffing"}, {"--preset", "small"}, {"--threads", "2"}, {"--epochs", "1"}};
        for (String[] d : defaults) if (!given.contains(d[0])) a.addAll(List.of(d));
        a.addAll(given);
        return checkRefused(Cli.run(a.toArray(String[]::new)), out, mentions);
    }

    private static Cli.Result checkRefused(Cli.Result r, Path out, String... mentions) {
        r.expect(Main.BAD_INPUT);
        for (String m : mentions) {
            assertTrue(r.err().contains(m), () -> "stderr should mention '" + m + "':\n" + r.err());
        }
        assertEquals("", r.out(), "nothing on stdout");
        assertFalse(Files.exists(out), () -> "partial output left in " + out);
        return r;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(Path dir) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(dir.resolve("manifest.json")));
    }

    private static void setFloat(Path npy, int index, float v) throws IOException {
        byte[] b = Files.readAllBytes(npy);
        int headerEnd = 10 + (ByteBuffer.wrap(b, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(headerEnd + 4 * index, v);
        Files.write(npy, b);
    }

    // ---------------------------------------------------------------- data

    @Test
    void missingDataFolder() {
        Path none = tmp.resolve("no-such-data");
        refusedData(none, none.toAbsolutePath().toString(), "not found");
    }

    @Test
    void missingManifest() throws IOException {
        Path d = data();
        Files.delete(d.resolve("manifest.json"));
        refusedData(d, "manifest.json", "not found");
    }

    @Test
    void malformedManifest() throws IOException {
        Path d = data();
        String text = Files.readString(d.resolve("manifest.json"));
        Files.writeString(d.resolve("manifest.json"), text.substring(0, text.length() / 2));
        refusedData(d, "manifest.json");
        Files.writeString(d.resolve("manifest.json"), "[1, 2");
        refusedData(d, "manifest.json");
    }

    @Test
    void manifestWithoutArrays() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        m.remove("arrays");
        Files.writeString(d.resolve("manifest.json"), Json.write(m));
        refusedData(d, "manifest.json", "\"arrays\"");
    }

    @Test
    void manifestListsAFileThatIsMissing() throws IOException {
        Path d = data();
        Files.delete(d.resolve("valid_obs.npy"));
        refusedData(d, "valid_obs.npy", "not found");
    }

    @Test
    void manifestLacksASplit() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        Cli.map(m, "arrays").remove("test_obs");
        Files.writeString(d.resolve("manifest.json"), Json.write(m));
        refusedData(d, "test_obs");
    }

    @Test
    void truncatedNpy() throws IOException {
        Path d = data(), f = d.resolve("train_obs.npy");
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 100));
        refusedData(d, "train_obs.npy", "truncated");
        Files.write(f, Arrays.copyOf(b, 20)); // cut inside the header
        refusedData(d, "train_obs.npy", "truncated");
    }

    @Test
    void npyWithBadMagic() throws IOException {
        Path d = data(), f = d.resolve("test_obs.npy");
        byte[] b = Files.readAllBytes(f);
        b[1] = 'X';
        Files.write(f, b);
        refusedData(d, "test_obs.npy", "magic");
    }

    @Test
    void npyWithMalformedHeader() throws IOException {
        Path d = data(), f = d.resolve("valid_obs.npy");
        byte[] b = Files.readAllBytes(f);
        String header = new String(b, 10, 100, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = header.indexOf("'shape'");
        assertTrue(at > 0, header);
        b[10 + at + 1] = 'X'; // 'shape' -> 'Xhape': the shape field is missing
        Files.write(f, b);
        refusedData(d, "valid_obs.npy", "shape");
    }

    @Test
    void shapeDisagreesWithManifest() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        Map<String, Object> entry = Cli.map(Cli.map(m, "arrays"), "train_obs");
        entry.put("shape", List.of(64, 24, 2));
        Files.writeString(d.resolve("manifest.json"), Json.write(m));
        refusedData(d, "train_obs.npy", "disagrees", "manifest");
    }

    @Test
    void nanInData() throws IOException {
        Path d = data();
        setFloat(d.resolve("train_obs.npy"), 77, Float.NaN);
        refusedData(d, "train_obs.npy", "NaN", "77");
    }

    @Test
    void infinityInData() throws IOException {
        Path d = data();
        setFloat(d.resolve("test_obs.npy"), 5, Float.POSITIVE_INFINITY);
        refusedData(d, "test_obs.npy", "Infinity");
        setFloat(d.resolve("test_obs.npy"), 5, Float.NEGATIVE_INFINITY);
        refusedData(d, "test_obs.npy", "-Infinity");
    }

    @Test
    void wrongStateDimension() throws IOException {
        Path d = tmp.resolve("three");
        Dataset ds = DatasetStore.load(Cli.duffingData());
        Map<String, NdArray> arrays = new LinkedHashMap<>(ds.arrays());
        arrays.put("train_obs", new NdArray(new float[64 * 25 * 3], 64, 25, 3));
        DatasetStore.save(d, new Dataset(ds.manifest(), arrays));
        Cli.Result r = refusedData(d, "train_obs.npy", "shape", "[64, 25, 3]");
        assertTrue(r.err().contains("2]"), "the message says which state dimension is expected: " + r.err());
    }

    @Test
    void dataOfAnotherTask() {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("train", "--task", "pendulum", "--epochs", "1", "--quiet", "--threads", "2",
                "--data", Cli.duffingData().toString(), "--out", out.toString());
        // duffing's [N, T, 2] arrays fit pendulum's state too, so the manifest's task must catch it
        checkRefused(r, out, "duffing", "pendulum");
    }

    // ---------------------------------------------------------------- options

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--task    | wind      | --task",
            "--task    | swing     | --task",
            "--method  | adam      | --method",
            "--method  | ''        | --method",
            "--rho     | -0.1      | --rho",
            "--rho     | NaN       | --rho",
            "--rho     | Infinity  | --rho",
            "--rho     | inf       | --rho",
            "--rho     | abc       | --rho",
            "--sigma   | -1        | --sigma",
            "--sigma   | NaN       | --sigma",
            "--lr-nn   | -0.001    | --lr-nn",
            "--lr-nn   | NaN       | --lr-nn",
            "--lr-theta| 0         | --lr-theta",
            "--lr-theta| -Infinity | --lr-theta",
            "--lambda  | 1         | --lambda",
            "--lambda  | -0.1      | --lambda",
            "--lambda  | NaN       | --lambda",
            "--eta     | -1        | --eta",
            "--clip    | -5        | --clip",
            "--epochs  | 0         | --epochs",
            "--epochs  | -3        | --epochs",
            "--epochs  | 1.5       | --epochs",
            "--batch   | 0         | --batch",
            "--batch   | 65        | --batch",
            "--threads | 0         | --threads",
            "--preset  | huge      | --preset",
            "--perturb | theta     | --perturb",
            "--hidden  | 64,0      | --hidden",
            "--rk4-step| 0.07      | --rk4-step",
            "--device  | tpu       | --device",
            "--lr-schedule  | foo        | --lr-schedule",
            "--lr-schedule  | warmup     | --lr-schedule",
            "--lr-schedule  | COSINE     | --lr-schedule",
            "--lr-schedule  | ''         | --lr-schedule",
            "--rho-schedule | step       | --rho-schedule",
            "--rho-schedule | cosine,bar | --rho-schedule",
    })
    void badOptionValue(String option, String value, String mentioned) {
        refusedOptions(new String[]{option.strip(), value.strip()}, mentioned.strip());
    }

    @Test
    void unknownOptionsAndMalformedCommandLines() {
        refusedOptions(new String[]{"--learning-rate", "0.1"}, "--learning-rate");
        refusedOptions(new String[]{"--quiet=yes"}, "--quiet");
        // picocli's wording: "Missing required parameter for option '--seed' (N)", "option '--seed' (N) should be
        // specified only once"
        refusedOptions(new String[]{"--seed"}, "--seed", "Missing required parameter");
        refusedOptions(new String[]{"--seed", "1", "--seed", "2"}, "--seed", "only once");
        refusedOptions(new String[]{"--rho", "0.1", "--rho", "0.2"}, "--rho", "only once", "comma-separated");
        refusedOptions(new String[]{"--out", "--quiet"}, "--out");
        refusedOptions(new String[]{"--threads", "2x"}, "--threads", "'2x' is not a whole number");
        refusedOptions(new String[]{"--hidden", "64,x"}, "--hidden", "'x' is not a whole number");
        refusedOptions(new String[]{"pendulum"}, "pendulum");
        refusedOptions(new String[]{"--epochs", "99999999999"}, "--epochs");
    }

    @Test
    void unknownTaskMessageListsTheAvailableOnes() {
        Cli.Result r = refusedOptions(new String[]{"--task", "pendulum-video"}, "pendulum-video", "unknown task");
        assertTrue(r.err().contains("pendulum") && r.err().contains("duffing") && r.err().contains("reaction-diffusion")
                && r.err().contains("pendulum-images") && r.err().contains("wind-tunnel") && r.err().contains("light-tunnel"), r.err());
        Cli.Result m = refusedOptions(new String[]{"--method", "adam"}, "adam");
        for (String rule : List.of("erm", "l2", "sam", "asam", "fsam")) assertTrue(m.err().contains(rule), m.err());
    }

    // ---------------------------------------------------------------- output folder

    /** Output that cannot be written is exit status 4 (not 2), with the reason; nothing is written. */
    @Test
    void outUnderARegularFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("plain.txt"), "not a folder");
        Path out = file.resolve("run");
        Cli.Result r = Cli.train(out, "--task", "duffing", "--epochs", "1").expect(Main.CANNOT_WRITE);
        assertTrue(r.err().contains("--out") && r.err().contains(out.toString()) && r.err().contains("is a file, not a folder"), r.err());
        assertEquals("not a folder", Files.readString(file));
        // generate refuses the same way
        Cli.Result g = Cli.run("generate", "--task", "duffing", "--preset", "small", "--out", out.toString()).expect(Main.CANNOT_WRITE);
        assertTrue(g.err().contains(out.toString()) && g.err().contains("is a file, not a folder"), g.err());
        assertEquals("", r.out() + g.out(), "nothing on stdout");
        assertFalse(Files.exists(out));
    }

    @Test
    void outHoldingAnEarlierRunIsLeftUntouched() throws IOException {
        Path run = tmp.resolve("earlier");
        Cli.train(run, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.OK);
        var before = Cli.snapshot(run);
        assertTrue(before.containsKey("results.json") && before.containsKey("checkpoint.bin"), before::toString);

        Cli.Result r = Cli.train(run, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(run.toString()) && r.err().contains("--resume"), r.err());
        assertEquals(before, Cli.snapshot(run));
        // other settings, and bad ones, change nothing either
        Cli.train(run, "--task", "pendulum", "--epochs", "2").expect(Main.BAD_INPUT);
        Cli.train(run, "--task", "duffing", "--rho", "-1").expect(Main.BAD_INPUT);
        Cli.run("train", "--task", "duffing", "--epochs", "1", "--data", tmp.resolve("missing").toString(),
                "--out", run.toString()).expect(Main.BAD_INPUT);
        assertEquals(before, Cli.snapshot(run));
        // a run folder that holds only a checkpoint (config.json lost) is still a run
        Path partial = tmp.resolve("partial");
        Cli.copyDir(run, partial);
        Files.delete(partial.resolve("config.json"));
        Files.delete(partial.resolve("results.json"));
        var partialBefore = Cli.snapshot(partial);
        Cli.train(partial, "--task", "duffing", "--epochs", "1").expect(Main.BAD_INPUT);
        assertEquals(partialBefore, Cli.snapshot(partial));
    }

    @Test
    void evaluateRefusesWhatIsNotARun() throws IOException {
        Path none = tmp.resolve("none");
        Cli.Result r = Cli.run("evaluate", "--run", none.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("config.json"), r.err());
        Cli.run("evaluate").expect(Main.BAD_INPUT);
        Path run = tmp.resolve("r");
        Cli.train(run, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.OK);
        Cli.Result split = Cli.run("evaluate", "--run", run.toString(), "--split", "holdout").expect(Main.BAD_INPUT);
        assertTrue(split.err().contains("--split"), split.err());
        byte[] ck = Files.readAllBytes(run.resolve("checkpoint.bin"));
        Files.write(run.resolve("checkpoint.bin"), Arrays.copyOf(ck, ck.length / 2));
        Cli.Result cut = Cli.run("evaluate", "--run", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(cut.err().contains("checkpoint.bin") && cut.err().toLowerCase(Locale.ROOT).contains("truncated"), cut.err());
    }
}
