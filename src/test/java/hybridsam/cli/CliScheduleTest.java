package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `train --lr-schedule` and `--rho-schedule`: recorded in the hyperparameters, constant ones
 * change nothing, a scheduled run differs, rho's schedule has no effect on rules without rho, and
 * replicas on different schedules each equal the same run trained alone. (Bad values: CliBadInputTest;
 * resume: CliResumeTest; the GPU path: CliScheduleStandInTest.)
 */
class CliScheduleTest {
    @TempDir
    Path tmp;

    /** Pendulum, 5 epochs of 4 steps (E = 5: warmup's first factor is 0.8). */
    private Map<String, Object> run(String name, String... extra) {
        Path out = tmp.resolve(name);
        List<String> a = new java.util.ArrayList<>(List.of("--task", "pendulum", "--epochs", "5", "--batch", "16"));
        a.addAll(List.of(extra));
        Cli.train(out, a.toArray(String[]::new)).expect(Main.OK);
        Map<String, Object> r = Cli.results(out);
        @SuppressWarnings("unchecked") Map<String, Object> configured =
                (Map<String, Object>) Cli.list(Cli.json(out.resolve("config.json")), "replicas").get(0);
        assertEquals(Cli.map(r, "hyperparameters"), Cli.map(configured, "hyperparameters"));
        return r;
    }

    private static void assertSameTraining(Map<String, Object> want, Map<String, Object> got, String what) {
        for (String k : List.of("history", "final", "last_epoch", "best_epoch", "steps")) {
            Cli.assertBitIdentical(want.get(k), got.get(k), what + "." + k);
        }
    }

    @Test
    void constantSchedulesAreTheDefaultAndScheduledRunsDiffer() {
        Map<String, Object> plain = run("plain", "--method", "fsam");
        Map<String, Object> constant = run("constant", "--method", "fsam", "--lr-schedule", "constant", "--rho-schedule", "constant");
        Map<String, Object> scheduled = run("scheduled", "--method", "fsam", "--lr-schedule", "cosine", "--rho-schedule", "warmup");
        Map<String, Object> hp = Cli.map(plain, "hyperparameters");
        assertEquals("constant", hp.get("lr_schedule"));
        assertEquals("constant", hp.get("rho_schedule"));
        assertEquals(hp, Cli.map(constant, "hyperparameters"));
        assertSameTraining(plain, constant, "explicit constant schedules");

        Map<String, Object> hs = Cli.map(scheduled, "hyperparameters");
        assertEquals("cosine", hs.get("lr_schedule"));
        assertEquals("warmup", hs.get("rho_schedule"));
        // the learning rates and rho as given: the schedules are factors on them
        assertEquals(hp.get("lr_theta"), hs.get("lr_theta"));
        assertEquals(hp.get("rho"), hs.get("rho"));
        List<Object> h0 = Cli.list(plain, "history"), h1 = Cli.list(scheduled, "history");
        assertEquals(h0.size(), h1.size());
        // rho is 0.8 of itself from the first epoch on, the learning rates smaller from the second
        for (int e = 0; e < h0.size(); e++) {
            assertNotEquals(String.valueOf(asMap(h0.get(e)).get("theta")), String.valueOf(asMap(h1.get(e)).get("theta")), "epoch " + (e + 1));
        }
    }

    @Test
    void rhoScheduleHasNoEffectOnRulesWithoutRho() {
        for (String method : List.of("erm", "l2")) {
            Map<String, Object> plain = run(method, "--method", method);
            Map<String, Object> warm = run(method + "-warmup", "--method", method, "--rho-schedule", "warmup");
            assertEquals("warmup", Cli.map(warm, "hyperparameters").get("rho_schedule"));
            assertSameTraining(plain, warm, method + " with --rho-schedule warmup");
        }
    }

    @Test
    void replicasOnDifferentSchedulesEqualSeparateRuns() {
        String[] lr = {"constant", "cosine", "step"}, rho = {"warmup", "constant", "cosine"};
        Path k = tmp.resolve("k");
        Cli.Result res = Cli.train(k, "--task", "duffing", "--epochs", "5", "--method", "fsam",
                "--lr-schedule", String.join(",", lr), "--rho-schedule", String.join(",", rho)).expect(Main.OK);
        Map<String, Object> rk = Cli.results(k);
        assertEquals(List.of("lr_schedule", "rho_schedule"), Cli.list(rk, "varied"));
        assertEquals(3, Cli.list(Cli.map(Cli.map(rk, "summary"), "by"), "lr_schedule").size());
        assertTrue(res.out().contains("lr_schedule") && res.out().contains("cosine"), res.out());
        List<Object> reps = Cli.list(rk, "replicas");
        assertEquals(3, reps.size());
        for (int r = 0; r < 3; r++) {
            Path one = tmp.resolve("alone" + r);
            // a sweep: every replica starts from the same seed
            Cli.train(one, "--task", "duffing", "--epochs", "5", "--method", "fsam", "--seed", "0",
                    "--lr-schedule", lr[r], "--rho-schedule", rho[r]).expect(Main.OK);
            Map<String, Object> alone = Cli.results(one), replica = asMap(reps.get(r));
            for (String key : List.of("seed", "hyperparameters", "epochs_run", "best_epoch", "final", "last_epoch", "history")) {
                Cli.assertBitIdentical(alone.get(key), replica.get(key), "replica " + r + " (" + lr[r] + ", " + rho[r] + ")." + key);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        assertTrue(o instanceof Map, () -> "expected an object, got " + o);
        return (Map<String, Object>) o;
    }
}
