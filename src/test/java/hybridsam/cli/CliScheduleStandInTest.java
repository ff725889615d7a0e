package hybridsam.cli;

import static hybridsam.cli.Cli.list;
import static hybridsam.cli.Cli.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.cuda.StandIn;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * `train --device cuda --lr-schedule cosine --rho-schedule warmup` on the CPU stand-ins for the
 * NVIDIA libraries agrees with `--device cpu` (the rule table rewritten in device memory between
 * epochs, read by the captured graph's next replay), and the schedule shows: the result lies far
 * outside those tolerances from the same run without schedules. Skipped when the stand-in is not
 * loaded.
 */
class CliScheduleStandInTest {
    /** 6 epochs (warmup's first factor 4/6) of 2 steps (batch 32 of the small preset's 64 sequences). */
    private static final List<String> RUN = List.of("--task", "pendulum", "--method", "fsam", "--seed", "0",
            "--epochs", "6", "--batch", "32");
    private static final List<String> SCHEDULES = List.of("--lr-schedule", "cosine", "--rho-schedule", "warmup");

    /**
     * CliStandInTest's tolerances (float32 rounding in another order on the device, 10 to 15 times
     * what it measured). Measured here on the 2-core build machine (about 50 s for the three runs):
     * largest relative differences 1.8e-7 on theta, 8.6e-6 on the MSEs, 8.9e-6 on the train loss;
     * the scheduled run's theta lies 1.8e-2 from the unscheduled one's.
     */
    private static final double THETA_REL = 2e-6, MSE_REL = 1e-4, LOSS_REL = 1e-4;

    private static Map<String, Object> train(String name, String device, List<String> extra) {
        Path out = Cli.root().resolve("schedule-standin-" + name);
        List<String> a = new ArrayList<>(RUN);
        a.addAll(extra);
        a.addAll(List.of("--device", device));
        Cli.train(out, a.toArray(String[]::new)).expect(Main.OK);
        return Cli.results(out);
    }

    @Test
    void scheduledCudaRunAgreesWithTheCpu() {
        hybridsam.cuda.StandInSuites.assume();
        Map<String, Object> cpu = train("cpu", "cpu", SCHEDULES);
        Map<String, Object> unscheduled = train("cpu-constant", "cpu", List.of());
        String reportBefore = StandIn.lastReport();
        Map<String, Object> gpu = train("cuda", "cuda", SCHEDULES);
        assertEquals(reportBefore, StandIn.lastReport(), "the stand-in reported a fault or a refusal");
        assertTrue(gpu.get("backend").toString().startsWith("cuda (hybridsam CUDA stand-in (CPU)"), gpu.get("backend").toString());
        assertTrue(cpu.get("backend").toString().startsWith("cpu ("), cpu.get("backend").toString());
        assertEquals(map(cpu, "hyperparameters"), map(gpu, "hyperparameters"));
        assertEquals("cosine", map(gpu, "hyperparameters").get("lr_schedule"));
        assertEquals("warmup", map(gpu, "hyperparameters").get("rho_schedule"));
        for (String k : List.of("epochs_run", "best_epoch", "steps")) assertEquals(cpu.get(k), gpu.get(k), k);

        double[] worst = new double[3];
        Map<String, Object> fc = map(cpu, "final"), fg = map(gpu, "final");
        worst[0] = Math.max(worst[0], close("final theta", Cli.theta(fc), Cli.theta(fg), THETA_REL));
        worst[1] = Math.max(worst[1], close("final test_mse", List.of(fc.get("test_mse")), List.of(fg.get("test_mse")), MSE_REL));
        List<Object> hc = list(cpu, "history"), hg = list(gpu, "history");
        assertEquals(hc.size(), hg.size());
        for (int e = 0; e < hc.size(); e++) {
            @SuppressWarnings("unchecked") Map<String, Object> a = (Map<String, Object>) hc.get(e), b = (Map<String, Object>) hg.get(e);
            worst[0] = Math.max(worst[0], close("epoch " + (e + 1) + " theta", Cli.theta(a), Cli.theta(b), THETA_REL));
            worst[1] = Math.max(worst[1], close("epoch " + (e + 1) + " valid_mse", List.of(a.get("valid_mse")), List.of(b.get("valid_mse")), MSE_REL));
            worst[2] = Math.max(worst[2], close("epoch " + (e + 1) + " train_loss", List.of(a.get("train_loss")), List.of(b.get("train_loss")), LOSS_REL));
        }
        // the schedule changed the GPU run: it is far from the unscheduled run, beyond the tolerance
        double away = relative(Cli.theta(map(unscheduled, "final")), Cli.theta(fg));
        assertTrue(away > 100 * THETA_REL, "the scheduled cuda run's theta is only " + away + " from the unscheduled run's");
        System.out.println(String.format(Locale.ROOT, "CliScheduleStandInTest: cosine/warmup, 6 epochs x 2 steps: largest relative"
                + " differences cuda vs cpu: theta %.2e, mse %.2e, train loss %.2e; scheduled vs unscheduled theta %.2e",
                worst[0], worst[1], worst[2], away));
    }

    /** The largest relative difference of got from want; fails beyond rel. */
    private static double close(String label, List<Object> want, List<Object> got, double rel) {
        double d = relative(want, got);
        assertTrue(d <= rel, String.format(Locale.ROOT, "%s: cpu %s, stand-in %s: relative difference %.3e over %.0e", label, want, got, d, rel));
        return d;
    }

    private static double relative(List<Object> want, List<Object> got) {
        assertEquals(want.size(), got.size());
        double worst = 0;
        for (int i = 0; i < want.size(); i++) {
            double a = ((Number) want.get(i)).doubleValue(), b = ((Number) got.get(i)).doubleValue();
            worst = Math.max(worst, Math.abs(a - b) / Math.abs(a));
        }
        return worst;
    }
}
