package hybridsam.cli;

import static hybridsam.cli.Cli.list;
import static hybridsam.cli.Cli.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.cuda.StandIn;
import hybridsam.io.DatasetStore;
import hybridsam.tasks.data.LightTunnelData;
import hybridsam.tasks.data.PendulumImagesData;
import hybridsam.tasks.data.WindTunnelData;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The composed tasks' GPU path through the command line on the CUDA stand-ins: `--device cuda`
 * agrees with `--device cpu` to float32 rounding (θ, the test error, every epoch's losses) for
 * wind-tunnel (the project's rollout kernel), light-tunnel (its renderer kernels with the
 * project's convolution kernels, and with cuDNN) and pendulum-images (the nested program: encoder
 * and decoder on the project's GEMM kernels, and on cuBLAS; the ODE in its fused kernel). The data
 * are small versions of the simulators' (the stand-in checks every memory access of every kernel
 * thread on the CPU).
 */
class CliComposedStandInTest {
    /**
     * Relative tolerances. Measured: wind-tunnel at most 3.1e-6 (the CPU integrates the fans in
     * double, the kernel in float), light-tunnel 4.3e-7 (float sums in another order).
     */
    private static final double THETA_REL = 2e-5, MSE_REL = 2e-5;

    /** Each task's CPU run, made once. */
    private static final Map<String, Map<String, Object>> CPU = new java.util.HashMap<>();

    private static Path data(String task) throws IOException {
        hybridsam.cuda.StandInSuites.assume();
        Path dir = Cli.root().resolve(task + "-tiny");
        if (!Files.exists(dir.resolve(DatasetStore.MANIFEST))) {
            DatasetStore.save(dir, switch (task) {
                case "wind-tunnel" -> WindTunnelData.generate("small", new WindTunnelData.Settings(6, 2, 2), 0);
                case "light-tunnel" -> LightTunnelData.generate("small", new LightTunnelData.Settings(6, 6, 8, 4, 4), 0);
                default -> PendulumImagesData.generate("small", new PendulumImagesData.Settings(8, 6, 2, 2, 6, 0.2, 0.01), 0);
            });
        }
        return dir;
    }

    private static Map<String, Object> train(String task, String out, String... device) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--task", task, "--data", data(task).toString(), "--epochs", "2",
                "--batch", "4", "--hidden", "4,4", "--method", "fsam", "--threads", "2", "--quiet",
                "--out", Cli.root().resolve(out).toString()));
        a.addAll(List.of(device));
        Cli.run(a.toArray(String[]::new)).expect(Main.OK);
        return Cli.results(Cli.root().resolve(out));
    }

    @ParameterizedTest
    @CsvSource({"wind-tunnel,kernels", "light-tunnel,kernels", "light-tunnel,cudnn", "pendulum-images,kernels",
            "pendulum-images,cublas"})
    void cudaOnTheStandInAgreesWithTheCpu(String task, String engine) throws IOException {
        Map<String, Object> cpu = CPU.containsKey(task) ? CPU.get(task) : train(task, task + "-cpu", "--device", "cpu");
        CPU.put(task, cpu);
        String before = StandIn.lastReport();
        Map<String, Object> gpu = train(task, task + "-" + engine, "--device", "cuda", "--nn-engine", engine);
        assertEquals(before, StandIn.lastReport(), "the stand-in reported a fault or a refusal");
        String backend = gpu.get("backend").toString();
        assertTrue(backend.startsWith("cuda (hybridsam CUDA stand-in (CPU)"), backend);
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
        System.out.println("CliComposedStandInTest: " + task + " --nn-engine " + engine + ":" + worst);
    }

    private static void close(StringBuilder worst, String label, List<Object> want, List<Object> got, double rel) {
        assertEquals(want.size(), got.size(), label);
        double max = 0;
        for (int i = 0; i < want.size(); i++) {
            double a = ((Number) want.get(i)).doubleValue(), b = ((Number) got.get(i)).doubleValue();
            double d = Math.abs(a - b) / Math.max(Math.abs(a), 1e-30);
            max = Math.max(max, d);
            assertTrue(d <= rel, String.format(Locale.ROOT, "%s[%d]: cpu %s, stand-in %s: relative difference %.3e over %.0e",
                    label, i, a, b, d, rel));
        }
        worst.append(String.format(Locale.ROOT, " %s %.1e", label, max));
    }
}
