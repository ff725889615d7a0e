package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `hybridsam tune` and `train --rho auto`: the choice is the rule applied to the group's
 * validation MSEs (recomputed here from its results.json), it works on data without θ*, the run
 * trained with the chosen ρ equals the chosen candidate bit for bit (CPU), a finished group is
 * used again and an interrupted one continued, and bad options are refused naming the option.
 */
class CliTuneTest {
    @TempDir
    Path tmp;

    /** pendulum small, three epochs, three candidates (given out of order: the group sorts them). */
    private static final List<String> SMALL = List.of("--task", "pendulum", "--epochs", "3", "--rho-candidates", "0.2,0.01,0.05");

    private static Cli.Result tune(Path out, List<String> settings, String... extra) {
        List<String> a = new ArrayList<>(List.of("tune"));
        a.addAll(Cli.FAST);
        a.addAll(List.of("--cache", Cli.cache().toString(), "--out", out.toString(), "--no-plots"));
        a.addAll(settings);
        a.addAll(Arrays.asList(extra));
        return Cli.run(a.toArray(String[]::new));
    }

    private static Cli.Result trainAuto(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("--no-plots", "--rho", "auto"));
        a.addAll(SMALL);
        a.addAll(Arrays.asList(extra));
        return Cli.train(out, a.toArray(String[]::new));
    }

    /** The rule, written out again: the largest finished candidate within factor × erm's best validation MSE, else the smallest finished one. */
    private static RunResults.Replica expected(RunResults group, double factor) {
        RunResults.Replica erm = group.replicas().stream().filter(r -> "erm".equals(r.method())).findFirst().orElseThrow();
        double limit = factor * erm.fin().validMse();
        RunResults.Replica best = null, smallest = null;
        for (RunResults.Replica r : group.replicas()) {
            if (r == erm || r.diverged() != null) continue;
            if (smallest == null || r.number("rho") < smallest.number("rho")) smallest = r;
            if (r.fin().validMse() <= limit && (best == null || r.number("rho") > best.number("rho"))) best = r;
        }
        return best != null ? best : smallest;
    }

    private static Map<String, Object> entry(Object o) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) o;
        return m;
    }

    @Test
    void tuneChoosesTheLargestRhoWithinTheFactorFromValidationErrorAlone() {
        Path out = tmp.resolve("group");
        Cli.Result res = tune(out, SMALL).expect(Main.OK);
        RunResults group = RunResults.read(out);
        assertEquals(4, group.replicas().size());
        assertEquals("erm", group.replicas().get(0).method());
        double[] rhos = group.replicas().stream().skip(1).mapToDouble(r -> r.number("rho")).toArray();
        assertArrayEquals(new double[] {0.01, 0.05, 0.2}, rhos, 0.0, "the candidates, ascending");
        for (RunResults.Replica r : group.replicas()) assertEquals(0, r.seed(), "every replica from --seed 0");
        for (RunResults.Replica r : group.replicas().subList(1, 4)) assertEquals("fsam", r.method());

        Map<String, Object> t = Cli.json(out.resolve(Tune.FILE));
        assertEquals("hybridsam-tuning", t.get("schema"));
        assertEquals(1L, t.get("schema_version"));
        assertEquals("pendulum", t.get("task"));
        assertEquals("fsam", t.get("method"));
        assertEquals(3.0, Cli.number(t, "factor"));
        double ermValid = group.replicas().get(0).fin().validMse();
        assertEquals(ermValid, Cli.number(Cli.map(t, "erm"), "valid_mse"), 0.0);
        assertTrue(Cli.map(t, "erm").containsKey("theta_error"), "θ* is known: erm's θ error recorded");
        List<Object> cands = Cli.list(t, "candidates");
        assertEquals(3, cands.size());
        for (int i = 0; i < 3; i++) {
            Map<String, Object> c = entry(cands.get(i));
            RunResults.Replica r = group.replicas().get(i + 1);
            assertEquals(r.index(), ((Number) c.get("replica")).intValue());
            assertEquals(rhos[i], Cli.number(c, "rho"), 0.0);
            assertEquals(r.fin().validMse(), Cli.number(c, "valid_mse"), 0.0);
            assertEquals(r.fin().validMse() / ermValid, Cli.number(c, "ratio"), 0.0);
            assertEquals(r.fin().validMse() <= 3 * ermValid, c.get("qualified"));
            assertNull(c.get("diverged"));
            assertEquals(r.fin().thetaError(), Cli.number(c, "theta_error"), 0.0, "θ error recorded for information");
        }
        RunResults.Replica want = expected(group, 3);
        assertEquals(want.number("rho"), Cli.number(t, "chosen_rho"), 0.0);
        assertEquals(want.index(), ((Number) t.get("chosen_replica")).intValue());
        String reason = (String) t.get("reason");
        assertTrue(reason.contains("3x erm's"), reason);
        assertTrue(t.containsKey("any_qualified") && t.containsKey("left_out") && t.containsKey("theta_note")
                && t.containsKey("train_command"), t.keySet().toString());
        String rho = Tune.num(want.number("rho"));
        assertTrue(res.out().contains("chosen rho " + rho + ": " + reason), res.out());
        String command = res.out().lines().filter(l -> l.startsWith("train with:")).findFirst().orElseThrow();
        assertTrue(command.contains("hybridsam train ") && command.endsWith("--method fsam --rho " + rho)
                && command.contains("--epochs 3") && !command.contains("--rho-candidates") && !command.contains("--out"), command);
        assertEquals(t.get("train_command"), command.substring("train with:".length()).strip());

        // the same group with another factor: chosen again from the same results, nothing trained
        Map<String, String> before = Cli.snapshot(out);
        before.remove(Tune.FILE);
        double factor = 1.05;
        Cli.Result again = tune(out, SMALL, "--tune-factor", String.valueOf(factor), "--log-every", "1").expect(Main.OK);
        assertTrue(again.err().contains("nothing is trained again"), again.err());
        assertFalse(again.err().contains("training pendulum"), again.err());
        Map<String, String> after = Cli.snapshot(out);
        after.remove(Tune.FILE);
        assertEquals(before, after, "the group's files are untouched");
        Map<String, Object> t2 = Cli.json(out.resolve(Tune.FILE));
        assertEquals(factor, Cli.number(t2, "factor"));
        assertEquals(expected(group, factor).number("rho"), Cli.number(t2, "chosen_rho"), 0.0);

        // a folder holding the group with other settings is refused, not reused or overwritten
        Cli.Result other = tune(out, List.of("--task", "pendulum", "--epochs", "2", "--rho-candidates", "0.01,0.05,0.2"))
                .expect(Main.BAD_INPUT);
        assertTrue(other.err().contains("--epochs 3 there, 2 now"), other.err());
        assertEquals(before, withoutTuning(Cli.snapshot(out)));
    }

    private static Map<String, String> withoutTuning(Map<String, String> m) {
        m.remove(Tune.FILE);
        return m;
    }

    /** A user's data without θ* (or θ_mn): the choice needs none, and no θ error is made up. */
    @Test
    void dataWithoutThetaStar() throws IOException {
        Path d = tmp.resolve("own-data");
        Cli.copyDir(Cli.duffingData(), d);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(d.resolve("manifest.json")));
        m.remove("theta_star");
        m.remove("theta_mn");
        Files.writeString(d.resolve("manifest.json"), Json.write(m));
        Path out = tmp.resolve("own");
        Cli.Result res = Cli.run("tune", "--task", "duffing", "--data", d.toString(), "--epochs", "2", "--threads", "2", "--quiet",
                "--no-plots", "--method", "sam", "--rho-candidates", "0.02,0.1", "--out", out.toString()).expect(Main.OK);
        RunResults group = RunResults.read(out);
        assertNull(group.thetaStar());
        Map<String, Object> t = Cli.json(out.resolve(Tune.FILE));
        assertEquals("sam", t.get("method"));
        assertEquals(expected(group, 3).number("rho"), Cli.number(t, "chosen_rho"), 0.0);
        assertFalse(Cli.map(t, "erm").containsKey("theta_error"));
        for (Object c : Cli.list(t, "candidates")) assertFalse(entry(c).containsKey("theta_error"), c.toString());
        assertFalse(t.containsKey("theta_note"));
        assertFalse(res.out().contains("theta error"), res.out());
        assertTrue(res.out().contains("--data " + d), res.out());
    }

    /**
     * train --rho auto: the group in OUT/tune, then the run with the chosen ρ, whose θ and
     * history are the chosen replica's bit for bit; a second run with OUT/tune finished trains no
     * candidate again, and one with OUT/tune interrupted continues it.
     */
    @Test
    void trainRhoAutoTrainsTheChosenRhoAndReusesItsGroup() throws IOException {
        Path a = tmp.resolve("auto");
        Cli.Result res = trainAuto(a).expect(Main.OK);
        Map<String, Object> t = Cli.json(a.resolve("tune").resolve(Tune.FILE));
        RunResults group = RunResults.read(a.resolve("tune"));
        RunResults.Replica chosen = expected(group, 3);
        assertEquals(chosen.number("rho"), Cli.number(t, "chosen_rho"), 0.0);
        RunResults run = RunResults.read(a);
        assertEquals(1, run.replicas().size());
        RunResults.Replica alone = run.replicas().get(0);
        assertEquals(chosen.number("rho"), alone.number("rho"), 0.0);
        assertEquals("fsam", alone.method());
        for (double[][] pair : List.of(new double[][] {chosen.fin().theta(), alone.fin().theta()},
                new double[][] {chosen.validMse(), alone.validMse()}, new double[][] {chosen.trainLoss(), alone.trainLoss()})) {
            assertEquals(pair[0].length, pair[1].length);
            for (int i = 0; i < pair[0].length; i++) {
                assertEquals(Double.doubleToRawLongBits(pair[0][i]), Double.doubleToRawLongBits(pair[1][i]),
                        "the run equals the chosen candidate bit for bit: " + Arrays.toString(pair[0]) + " vs " + Arrays.toString(pair[1]));
            }
        }
        Map<String, Object> config = Cli.json(a.resolve("config.json")), results = Cli.json(a.resolve("results.json"));
        for (Map<String, Object> f : List.of(config, results)) {
            Map<String, Object> auto = Cli.map(f, Tune.RHO_AUTO);
            assertEquals(a.resolve("tune").toAbsolutePath().normalize().toString(), auto.get("tuning"));
            assertEquals(3.0, Cli.number(auto, "factor"));
            assertEquals(chosen.number("rho"), Cli.number(auto, "rho"), 0.0);
            assertEquals(t.get("reason"), auto.get("reason"));
        }
        List<Object> args = Cli.list(config, "args");
        assertTrue(args.contains(Tune.num(chosen.number("rho"))) && !args.contains("auto") && !args.contains("--rho-candidates"), args.toString());
        assertTrue(res.out().contains("<- chosen"), res.out());
        Cli.run("evaluate", "--run", a.toString()).expect(Main.OK);

        // OUT/tune finished: used as it is, the candidates are not trained again
        Path b = tmp.resolve("again");
        Cli.copyDir(a.resolve("tune"), b.resolve("tune"));
        Map<String, String> before = withoutTuning(Cli.snapshot(b.resolve("tune")));
        Cli.Result again = trainAuto(b).expect(Main.OK);
        assertTrue(again.err().contains("nothing is trained again"), again.err());
        assertFalse(again.err().contains("training pendulum with erm+fsam"), again.err());
        assertEquals(before, withoutTuning(Cli.snapshot(b.resolve("tune"))));
        RunResults.Replica second = RunResults.read(b).replicas().get(0);
        assertArrayEquals(alone.fin().theta(), second.fin().theta(), 0.0);
        assertArrayEquals(alone.validMse(), second.validMse(), 0.0);

        // OUT/tune interrupted (a checkpoint, no results): continued, and it ends as the uninterrupted group
        Path c = tmp.resolve("resumed");
        Cli.copyDir(a.resolve("tune"), c.resolve("tune"));
        Files.delete(c.resolve("tune").resolve("results.json"));
        Files.delete(c.resolve("tune").resolve(Tune.FILE));
        Cli.Result resumed = trainAuto(c).expect(Main.OK);
        assertTrue(resumed.err().contains("interrupted: continuing it") && resumed.err().contains("resuming after epoch 3"), resumed.err());
        List<Object> want = Cli.list(Cli.json(a.resolve("tune").resolve("results.json")), "replicas");
        List<Object> got = Cli.list(Cli.json(c.resolve("tune").resolve("results.json")), "replicas");
        for (int r = 0; r < want.size(); r++) {
            Cli.assertBitIdentical(entry(want.get(r)).get("final"), entry(got.get(r)).get("final"), "replica " + r + ".final");
        }
        assertEquals(t.get("chosen_rho"), Cli.json(c.resolve("tune").resolve(Tune.FILE)).get("chosen_rho"));

        // the run's folder holding a run is refused before anything is trained
        Cli.Result occupied = trainAuto(a).expect(Main.BAD_INPUT);
        assertTrue(occupied.err().contains("already holds a run"), occupied.err());
    }

    /** A candidate that diverges is left out of the choice and said so; erm diverging is exit 3. */
    @Test
    void divergedCandidatesAreLeftOutAndErmDivergingIsExit3() {
        Path out = tmp.resolve("diverging");
        Cli.Result res = Cli.run("tune", "--task", "duffing", "--cache", Cli.cache().toString(), "--preset", "small", "--threads", "2",
                "--quiet", "--no-plots", "--epochs", "2", "--clip", "0", "--method", "sam", "--rho-candidates", "0.01,1000",
                "--out", out.toString()).expect(Main.OK);
        Map<String, Object> t = Cli.json(out.resolve(Tune.FILE));
        Map<String, Object> big = entry(Cli.list(t, "candidates").get(1));
        assertEquals(1000.0, Cli.number(big, "rho"));
        assertTrue(big.get("diverged") instanceof Map, big.toString());
        assertEquals(false, big.get("qualified"));
        assertEquals(List.of(1000.0), t.get("left_out"));
        assertEquals(0.01, Cli.number(t, "chosen_rho"));
        assertTrue(((String) t.get("reason")).contains("rho 1000 diverged and was left out"), (String) t.get("reason"));
        assertTrue(res.out().contains("diverged"), res.out());

        Cli.Result erm = Cli.run("tune", "--task", "duffing", "--cache", Cli.cache().toString(), "--preset", "small", "--threads", "2",
                "--quiet", "--no-plots", "--epochs", "2", "--clip", "0", "--lr-nn", "1000", "--lr-theta", "1000",
                "--rho-candidates", "0.01", "--out", tmp.resolve("erm-diverges").toString()).expect(Main.DIVERGED);
        assertTrue(erm.err().contains("no rho was chosen"), erm.err());
        assertFalse(Files.exists(tmp.resolve("erm-diverges").resolve(Tune.FILE)));
    }

    /** The rule on made-up results: none within the factor (the smallest finished one), divergences, erm diverged. */
    @Test
    void ruleOnMadeUpResults() {
        // erm 1.0; candidates 0.01: 5.0, 0.1: 4.0, 1: diverged
        RunResults r = made(new double[] {0.01, 0.1, 1}, new double[] {5, 4, 2}, 2);
        Tune.Choice none = Tune.choose(r, 3);
        assertFalse(none.anyQualified());
        assertEquals(0.01, none.rho(), "none qualifies: the smallest candidate");
        assertTrue(none.reason().startsWith("no rho kept its validation MSE within 3x erm's"), none.reason());
        assertTrue(none.reason().contains("rho 1 diverged and was left out"), none.reason());
        Tune.Choice some = Tune.choose(r, 5.5);
        assertTrue(some.anyQualified());
        assertEquals(0.1, some.rho(), "the largest of the two that qualify; the diverged one (2.0) is not chosen");
        assertEquals(List.of(1.0), some.diverged());
        // the smallest candidate diverged and none qualifies: the smallest that finished
        assertEquals(0.1, Tune.choose(made(new double[] {0.01, 0.1}, new double[] {9, 8}, 0), 3).rho());
        assertThrows(Tune.DivergedException.class, () -> Tune.choose(made(new double[] {0.01}, new double[] {1}, -1), 3));
        Tune.DivergedException all = assertThrows(Tune.DivergedException.class,
                () -> Tune.choose(made(new double[] {0.01}, new double[] {1}, 0), 3));
        assertTrue(all.getMessage().contains("every candidate"), all.getMessage());
    }

    /** A group: erm (validation MSE 1.0) and fsam at rhos with the given validation MSEs; diverged: that candidate's index, -1 erm. */
    private static RunResults made(double[] rhos, double[] valid, int diverged) {
        List<Object> reps = new ArrayList<>();
        for (int i = -1; i < rhos.length; i++) {
            Map<String, Object> hp = new LinkedHashMap<>();
            hp.put("method", i < 0 ? "erm" : "fsam");
            hp.put("rho", i < 0 ? 0.0 : rhos[i]);
            Map<String, Object> fin = new LinkedHashMap<>();
            fin.put("theta", List.of(1.0));
            fin.put("valid_mse", i < 0 ? 1.0 : valid[i]);
            fin.put("test_mse", 1.0);
            fin.put("network_share", 0.5);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("replica", i + 1);
            e.put("seed", 0L);
            e.put("hyperparameters", hp);
            e.put("best_epoch", 1L);
            if (i == diverged) e.put("diverged", Map.of("epoch", 2L, "step", 5L));
            e.put("final", fin);
            e.put("history", List.of());
            reps.add(e);
        }
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("task", "pendulum");
        res.put("model", Map.of("theta_names", List.of("omega0_sq")));
        res.put("replicas", reps);
        return RunResults.of(Path.of("made-up", "results.json"), res);
    }

    /** Refusals: exit 2, the option named, nothing written. */
    @Test
    void badOptionsAreRefusedNamingTheOption() {
        Path out = tmp.resolve("never");
        String cache = Cli.cache().toString();
        List<List<String>> cases = List.of(
                List.of("train", "--rho", "auto", "--method", "erm", "|--method erm"),
                List.of("train", "--rho", "auto", "--method", "l2", "|--method l2"),
                List.of("train", "--rho", "0.1,auto", "|--rho"),
                List.of("train", "--rho", "auto", "--replicas", "2", "|--replicas 2"),
                List.of("train", "--rho", "auto", "--seed", "0,1", "|--seed"),
                List.of("train", "--rho", "auto", "--tune-factor", "1", "|--tune-factor"),
                List.of("train", "--tune-factor", "2", "|--tune-factor"),
                List.of("train", "--rho-candidates", "0.1", "|--rho-candidates"),
                List.of("tune", "--tune-factor", "0.5", "|--tune-factor"),
                List.of("tune", "--tune-factor", "NaN", "|--tune-factor"),
                List.of("tune", "--tune-factor", "Infinity", "|--tune-factor"),
                List.of("tune", "--tune-factor", "x", "|--tune-factor"),
                List.of("tune", "--rho-candidates", "-0.1,0.2", "|--rho-candidates"),
                List.of("tune", "--rho-candidates", "NaN", "|--rho-candidates"),
                List.of("tune", "--rho-candidates", "0", "|--rho-candidates"),
                List.of("tune", "--rho-candidates", "", "|--rho-candidates"),
                List.of("tune", "--rho-candidates", "0.1,,0.2", "|--rho-candidates"),
                List.of("tune", "--rho-candidates", "0.1,0.1", "|--rho-candidates"),
                List.of("tune", "--method", "erm", "|--method erm"),
                List.of("tune", "--seed", "0,1", "|--seed"),
                List.of("tune", "--rho", "0.1", "|--rho"),
                List.of("tune", "--replicas", "2", "|--replicas"));
        for (List<String> c : cases) {
            List<String> a = new ArrayList<>(c.subList(0, c.size() - 1));
            String named = c.get(c.size() - 1).substring(1);
            a.addAll(List.of("--preset", "small", "--quiet", "--cache", cache, "--out", out.toString()));
            Cli.Result r = Cli.run(a.toArray(String[]::new));
            assertEquals(Main.BAD_INPUT, r.status(), () -> a + ": " + r.err());
            assertTrue(r.err().contains(named), () -> a + " should name " + named + ": " + r.err());
            assertTrue(r.err().startsWith("hybridsam " + a.get(0)), r.err());
            assertFalse(Files.exists(out), () -> a + " wrote " + out);
        }
    }

    @Test
    void helpAndCompletion() throws IOException, InterruptedException {
        Cli.Result help = Cli.run("tune", "--help").expect(Main.OK);
        assertTrue(help.out().startsWith("usage: hybridsam tune"), help.out());
        for (Options.Def d : Tune.options()) assertTrue(help.out().contains(d.name()), d.name());
        // the group sets --rho and --replicas itself: tune has no such options
        assertFalse(help.out().lines().anyMatch(l -> l.startsWith("  --replicas") || l.startsWith("  --rho ")), help.out());
        assertTrue(Cli.run("help").expect(Main.OK).out().contains("tune"));
        assertTrue(Cli.run("train", "--help").expect(Main.OK).out().contains("--tune-factor"));
        String script = Cli.run("completion").expect(Main.OK).out();
        Path bash = Path.of("/bin/bash");
        Assumptions.assumeTrue(Files.isExecutable(bash), "no bash here to run the script");
        Path file = Files.writeString(tmp.resolve("completion.bash"), script);
        assertEquals("sam asam fsam", CliCommandLineTest.complete(bash, file, "hybridsam", "tune", "--method", ""));
        assertEquals("auto", CliCommandLineTest.complete(bash, file, "hybridsam", "train", "--rho", ""));
        assertEquals("tune", CliCommandLineTest.complete(bash, file, "hybridsam", "tu"));
    }
}
