package hybridsam.cli;

import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.NdArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** reaction-diffusion through the command line: a short run, and grids that do not fit refused. */
class CliReactionDiffusionTest {
    @TempDir
    Path tmp;

    private static Path data;

    @BeforeAll
    static void generate() {
        data = Cli.root().resolve("rd-small");
        if (!Files.exists(data.resolve(DatasetStore.MANIFEST))) {
            Cli.run("generate", "--task", "reaction-diffusion", "--preset", "small", "--out", data.toString()).expect(Main.OK);
        }
    }

    private Cli.Result train(Path dataDir, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--task", "reaction-diffusion",
                "--threads", "2", "--quiet", "--data", dataDir.toString(), "--out", tmp.resolve("out").toString()));
        a.addAll(List.of(extra));
        if (!a.contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        return Cli.run(a.toArray(String[]::new));
    }

    @Test
    void aShortRunReportsBothThetasAndTheConvolutionalNet() {
        train(data, "--epochs", "2", "--method", "fsam").expect(Main.OK);
        Map<String, Object> res = Cli.results(tmp.resolve("out"));
        assertEquals("conv3x3 2-16-16-2 leaky_relu on 16x16", Cli.map(res, "model").get("corrector"));
        Map<String, Object> fin = Cli.map(res, "final");
        assertEquals(2, Cli.theta(fin).size());
        assertTrue(Cli.number(fin, "theta_error") > 0 && Cli.number(fin, "theta_mn_error") > 0, fin.toString());
        assertTrue(Cli.number(fin, "test_mse") < Cli.number(fin, "test_mse_science_only") * 10, fin.toString());
    }

    /** Writes a copy of the small data set with one array replaced. */
    private Path withArray(String name, UnaryOperator<NdArray> change) throws IOException {
        Dataset d = DatasetStore.load(data);
        Map<String, NdArray> arrays = new LinkedHashMap<>(d.arrays());
        arrays.put(name, change.apply(arrays.get(name)));
        Map<String, Object> manifest = new LinkedHashMap<>(d.manifest());
        manifest.remove("arrays");  // save writes the index of what it is given
        Path dir = tmp.resolve("bad");
        DatasetStore.save(dir, new Dataset(manifest, arrays));
        return dir;
    }

    private void refused(Cli.Result r, String... mentions) {
        r.expect(Main.BAD_INPUT);
        for (String m : mentions) assertTrue(r.err().contains(m), () -> "stderr should mention '" + m + "':\n" + r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(tmp.resolve("out")), "partial output left");
    }

    @Test
    void gridsOfTheWrongShapeOrRankAreRefusedNamingTheFile() throws IOException {
        Path threeChannels = withArray("train_obs", a -> new NdArray(new float[a.data().length / 2 * 3], a.dim(0), a.dim(1), 3, a.dim(3), a.dim(4)));
        refused(train(threeChannels), "train_obs.npy", "[2, height, width]");
        Files.walk(threeChannels).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Path flat = withArray("train_obs", a -> new NdArray(a.data(), a.dim(0), a.dim(1), 2 * a.dim(3) * a.dim(4)));
        refused(train(flat), "train_obs.npy", "[2, height, width]");
        Files.walk(flat).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Path otherGrid = withArray("valid_obs", a -> new NdArray(new float[a.dim(0) * a.dim(1) * 2 * 8 * 8], a.dim(0), a.dim(1), 2, 8, 8));
        refused(train(otherGrid), "valid_obs.npy", "[sequences, frames >= 2, 2, 16, 16]");
    }

    @Test
    void dataOfAnotherTaskAndNanAreRefused() throws IOException {
        refused(train(Cli.duffingData()), "this data set is for duffing, not reaction-diffusion");
        Path nan = withArray("test_obs", a -> {
            float[] x = a.data().clone();
            x[123] = Float.NaN;
            return new NdArray(x, a.shape());
        });
        refused(train(nan), "test_obs.npy", "non-finite", "123");
    }
}
