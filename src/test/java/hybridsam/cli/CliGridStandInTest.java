package hybridsam.cli;

import static hybridsam.cli.Cli.list;
import static hybridsam.cli.Cli.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.cuda.StandIn;
import hybridsam.io.DatasetStore;
import hybridsam.tasks.data.ReactionDiffusionData;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * reaction-diffusion's GPU path through the command line on the CUDA stand-ins: `--device cuda`
 * with the project's convolution kernels and with cuDNN agrees with `--device cpu` to float32
 * rounding; cuBLAS, which has no convolutions, is refused by name. The grid is tiny (6 x 5, 4
 * training episodes of 4 frames, a 2-4-4-2 net): the stand-in runs every kernel thread on the
 * CPU with a check on every memory access, about a minute per step at the small preset.
 */
class CliGridStandInTest {
    /**
     * Measured after 4 fsam steps: the largest relative differences from the CPU run are 3.1e-7 on
     * θ and 3.4e-7 on the MSEs and losses for both engines (float sums in another order); the
     * tolerances are 15 times those.
     */
    private static final double THETA_REL = 5e-6, MSE_REL = 5e-6;

    private static Path data;
    private static Map<String, Object> cpu;

    private static List<String> args(String out) {
        return List.of("train", "--task", "reaction-diffusion", "--data", data.toString(), "--epochs", "2", "--batch", "2",
                "--hidden", "4,4", "--threads", "2", "--quiet", "--out", Cli.root().resolve(out).toString());
    }

    @BeforeAll
    static void tinyGridAndCpuReference() throws IOException {
        hybridsam.cuda.StandInSuites.assume();
        data = Cli.root().resolve("rd-tiny");
        if (!Files.exists(data.resolve(DatasetStore.MANIFEST))) {
            DatasetStore.save(data, ReactionDiffusionData.generate("small",
                    new ReactionDiffusionData.Settings(6, 5, 4, 2, 2, 4, 0.1, 1e-3, 0), 0));
        }
        List<String> a = new java.util.ArrayList<>(args("grid-cpu"));
        a.addAll(List.of("--device", "cpu"));
        Cli.run(a.toArray(String[]::new)).expect(Main.OK);
        cpu = Cli.results(Cli.root().resolve("grid-cpu"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kernels", "cudnn"})
    void cudaOnTheStandInAgreesWithTheCpu(String engine) {
        String before = StandIn.lastReport();
        List<String> a = new java.util.ArrayList<>(args("grid-" + engine));
        a.addAll(List.of("--device", "cuda", "--nn-engine", engine));
        Cli.Result r = Cli.run(a.toArray(String[]::new)).expect(Main.OK);
        assertEquals(before, StandIn.lastReport(), "the stand-in reported a fault or a refusal");
        Map<String, Object> gpu = Cli.results(Cli.root().resolve("grid-" + engine));
        String backend = gpu.get("backend").toString();
        assertTrue(backend.startsWith("cuda (hybridsam CUDA stand-in (CPU)"), backend);
        assertEquals(engine.equals("cudnn"), backend.contains("cuDNN"), backend);
        Map<String, Object> fc = map(cpu, "final"), fg = map(gpu, "final");
        StringBuilder worst = new StringBuilder();
        close(worst, "theta", Cli.theta(fc), Cli.theta(fg), THETA_REL);
        close(worst, "test_mse", List.of(fc.get("test_mse")), List.of(fg.get("test_mse")), MSE_REL);
        List<Object> hc = list(cpu, "history"), hg = list(gpu, "history");
        assertEquals(hc.size(), hg.size());
        for (int e = 0; e < hc.size(); e++) {
            @SuppressWarnings("unchecked") Map<String, Object> x = (Map<String, Object>) hc.get(e), y = (Map<String, Object>) hg.get(e);
            close(worst, "train_loss", List.of(x.get("train_loss")), List.of(y.get("train_loss")), MSE_REL);
            close(worst, "valid_mse", List.of(x.get("valid_mse")), List.of(y.get("valid_mse")), MSE_REL);
        }
        System.out.println("CliGridStandInTest: --nn-engine " + engine + ":" + worst + "; " + r.err().lines().count() + " lines on stderr");
    }

    private static void close(StringBuilder worst, String label, List<Object> want, List<Object> got, double rel) {
        assertEquals(want.size(), got.size(), label);
        for (int i = 0; i < want.size(); i++) {
            double a = ((Number) want.get(i)).doubleValue(), b = ((Number) got.get(i)).doubleValue();
            double d = Math.abs(a - b) / Math.abs(a);
            worst.append(String.format(Locale.ROOT, " %s %.1e", label, d));
            assertTrue(d <= rel, String.format(Locale.ROOT, "%s: cpu %s, stand-in %s: relative difference %.3e over %.0e",
                    label, a, b, d, rel));
        }
    }

    @Test
    void cublasIsRefusedByName() {
        List<String> a = new java.util.ArrayList<>(args("grid-cublas"));
        a.addAll(List.of("--device", "cuda", "--nn-engine", "cublas"));
        Cli.Result r = Cli.run(a.toArray(String[]::new)).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--nn-engine cublas") && r.err().contains("no convolutions"), r.err());
        assertFalse(Files.exists(Cli.root().resolve("grid-cublas").resolve("results.json")));
    }
}
