package hybridsam.cli;

import static hybridsam.cli.Cli.list;
import static hybridsam.cli.Cli.map;
import static hybridsam.cli.Cli.number;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.cuda.StandIn;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The command line on the CPU stand-ins for the NVIDIA libraries (HYBRIDSAM_CUDA_STANDIN=1, the
 * surefire execution `standin`): `train --device cuda` with each --nn-engine runs the real
 * JCuda / JCublas / JCudnn path and agrees with `--device cpu` to float32 rounding; `devices`
 * says plainly that cuda is the stand-in; `--device auto` never picks it and trains on the CPU
 * with a one-line notice, bit for bit as `--device cpu`. Skipped when the stand-in is not loaded.
 */
class CliStandInTest {
    /**
     * Epochs of each run: one step each on the small preset (64 training sequences, batch 64).
     * Measured on the 2-core build machine, 4 epochs take about 5 s (cublas), 9 s (kernels) and
     * 14 s (cudnn) on the stand-in, against 2 s on the CPU backend.
     */
    private static final int EPOCHS = 4;

    /**
     * How far the GPU path may lie from the CPU path. The device computes in float with double
     * sums in its own order (the cuBLAS and cuDNN stand-ins in theirs), the CPU backend in
     * another. Measured after 4 fsam steps, the largest relative differences over every epoch
     * are 1.3e-7 on θ (about one float32 ulp of its unconstrained parameter), 1.1e-5 on the test
     * and validation MSE (both computed on the host from the trained parameters) and 6.8e-6 on
     * the train loss (the device's own tally), for each of the three engines. The tolerances are
     * 10 to 15 times those.
     */
    private static final double THETA_REL = 2e-6, MSE_REL = 1e-4, LOSS_REL = 1e-4;

    private static Path cpuRun;
    private static Map<String, Object> cpu;

    @BeforeAll
    static void standInAndCpuReference() {
        hybridsam.cuda.StandInSuites.assume();
        cpuRun = Cli.root().resolve("standin-cpu");
        Cli.train(cpuRun, "--task", "pendulum", "--seed", "0", "--epochs", String.valueOf(EPOCHS), "--device", "cpu")
                .expect(Main.OK);
        cpu = Cli.results(cpuRun);
        assertTrue(cpu.get("backend").toString().startsWith("cpu ("), cpu.get("backend").toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kernels", "cublas", "cudnn"})
    void cudaOnTheStandInAgreesWithTheCpu(String engine) {
        Path out = Cli.root().resolve("standin-cuda-" + engine);
        String reportBefore = StandIn.lastReport();
        long t0 = System.nanoTime();
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--seed", "0", "--epochs", String.valueOf(EPOCHS),
                "--device", "cuda", "--nn-engine", engine).expect(Main.OK);
        double wall = (System.nanoTime() - t0) / 1e9;
        assertEquals(reportBefore, StandIn.lastReport(), "the stand-in reported a fault or a refusal");

        Map<String, Object> gpu = Cli.results(out);
        String backend = gpu.get("backend").toString();
        // JCudaDevice.describe() under the stand-in; cublas and cudnn name their corrector library
        assertTrue(backend.startsWith("cuda (hybridsam CUDA stand-in (CPU)"), backend);
        if (engine.equals("cublas")) assertTrue(backend.contains("corrector on cuBLAS"), backend);
        if (engine.equals("cudnn")) assertTrue(backend.contains("corrector on cuDNN"), backend);
        if (engine.equals("kernels")) assertFalse(backend.contains("corrector on"), backend);
        assertEquals(backend, Cli.json(out.resolve("config.json")).get("backend"));
        assertTrue(r.err().contains("on " + backend), r.err());

        for (String k : List.of("epochs_run", "best_epoch", "steps", "gradient_evaluations")) {
            assertEquals(cpu.get(k), gpu.get(k), k);
        }
        Map<String, Double> worst = new LinkedHashMap<>();
        Map<String, Object> fc = map(cpu, "final"), fg = map(gpu, "final");
        close(worst, "final theta", Cli.theta(fc), Cli.theta(fg), THETA_REL);
        close(worst, "final test_mse", List.of(fc.get("test_mse")), List.of(fg.get("test_mse")), MSE_REL);
        close(worst, "final valid_mse", List.of(fc.get("valid_mse")), List.of(fg.get("valid_mse")), MSE_REL);
        List<Object> hc = list(cpu, "history"), hg = list(gpu, "history");
        assertEquals(hc.size(), hg.size());
        for (int e = 0; e < hc.size(); e++) {
            @SuppressWarnings("unchecked") Map<String, Object> a = (Map<String, Object>) hc.get(e), b = (Map<String, Object>) hg.get(e);
            close(worst, "history theta", Cli.theta(a), Cli.theta(b), THETA_REL);
            close(worst, "history valid_mse", List.of(a.get("valid_mse")), List.of(b.get("valid_mse")), MSE_REL);
            close(worst, "history train_loss", List.of(a.get("train_loss")), List.of(b.get("train_loss")), LOSS_REL);
        }
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "CliStandInTest: --nn-engine %-7s %d epochs: %.1f s on the stand-in (cpu %.1f s); theta %s vs cpu %s;"
                        + " test MSE %s vs cpu %s; largest relative differences:",
                engine, EPOCHS, wall, number(cpu, "wall_seconds"), fg.get("theta"), fc.get("theta"), fg.get("test_mse"), fc.get("test_mse")));
        worst.forEach((k, d) -> s.append(String.format(Locale.ROOT, " %s %.2e,", k, d)));
        System.out.println(s.substring(0, s.length() - 1));
    }

    /** Asserts want and got agree to rel (relative) element by element; keeps the largest difference per label. */
    private static void close(Map<String, Double> worst, String label, List<Object> want, List<Object> got, double rel) {
        assertEquals(want.size(), got.size(), label);
        for (int i = 0; i < want.size(); i++) {
            double a = ((Number) want.get(i)).doubleValue(), b = ((Number) got.get(i)).doubleValue();
            double d = Math.abs(a - b) / Math.abs(a);
            worst.merge(label, d, Math::max);
            assertTrue(d <= rel, String.format(Locale.ROOT, "%s: cpu %s, stand-in %s: relative difference %.3e over %.0e",
                    label, a, b, d, rel));
        }
    }

    @Test
    void devicesSaysTheStandInIsInUseAndEveryEngineLoaded() {
        Cli.Result r = Cli.run("devices").expect(Main.OK);
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cuda  available: CPU STAND-IN")), r.out());
        assertTrue(r.out().contains(StandIn.ENV + "=1") && r.out().contains("no GPU is used"), r.out());
        assertTrue(r.out().contains("--device auto does not pick it"), r.out());
        assertFalse(r.out().contains("unavailable"), r.out());
        for (String e : List.of("kernels", "cublas", "cudnn")) {
            assertTrue(r.out().contains("--nn-engine " + e + ": loaded"), () -> e + " not loaded:\n" + r.out());
        }
        assertTrue(r.out().lines().filter(l -> l.contains("--nn-engine cublas") || l.contains("--nn-engine cudnn"))
                .allMatch(l -> l.contains("the CPU stand-in")), r.out());
    }

    @Test
    void autoTrainsOnTheCpuWithANoticeAndTheCpuRunsNumbers() {
        Path out = Cli.root().resolve("standin-auto");
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--seed", "0", "--epochs", String.valueOf(EPOCHS),
                "--device", "auto").expect(Main.OK);
        List<String> notices = r.err().lines().filter(l -> l.contains("stand-in")).toList();
        assertEquals(1, notices.size(), r.err());
        assertTrue(notices.get(0).contains(StandIn.ENV + "=1") && notices.get(0).contains("trains on the CPU"), notices.get(0));
        Map<String, Object> auto = Cli.results(out);
        assertTrue(auto.get("backend").toString().startsWith("cpu ("), auto.get("backend").toString());
        // everything but the command line and the timings, bit for bit
        Map<String, Object> want = new LinkedHashMap<>(cpu), got = new LinkedHashMap<>(auto);
        for (String k : List.of("args", "wall_seconds", "train_seconds", "steps_per_second", "replica_steps_per_second")) {
            assertTrue(want.containsKey(k), k);
            want.remove(k);
            got.remove(k);
        }
        Cli.assertBitIdentical(want, got, "results.json");
        assertTrue(Files.isRegularFile(out.resolve("config.json")));
    }
}
