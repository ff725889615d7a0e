package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Json;
import hybridsam.train.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * `train --replicas K` and per-replica lists of hyperparameters: each replica ends bit for bit as
 * the same run trained alone (CPU), the summary describes the replicas, bad lists are refused, and
 * evaluate and --resume handle every replica.
 */
class CliReplicasTest {
    @TempDir
    Path tmp;

    /** What a replica shares with a separate run's results.json. */
    private static final List<String> PER_RUN = List.of("seed", "hyperparameters", "epochs_run", "best_epoch",
            "final", "last_epoch", "history");

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> replicas(Map<String, Object> results) {
        return (List<Map<String, Object>>) (List<?>) Cli.list(results, "replicas");
    }

    private static void assertReplicaEqualsRun(Map<String, Object> replica, Map<String, Object> alone, String what) {
        for (String key : PER_RUN) Cli.assertBitIdentical(alone.get(key), replica.get(key), what + "." + key);
    }

    @Test
    void consecutiveSeedsEqualSeparateRunsBitForBit() throws IOException {
        Path k = tmp.resolve("k3");
        Cli.Result res = Cli.train(k, "--task", "pendulum", "--epochs", "2", "--method", "fsam",
                "--replicas", "3", "--seed", "4").expect(Main.OK);
        Map<String, Object> rk = Cli.results(k);
        assertEquals(3, Cli.number(rk, "replica_count"));
        assertFalse(rk.containsKey("history"), "per-replica numbers live in the replicas list");
        List<Map<String, Object>> reps = replicas(rk);
        assertEquals(3, reps.size());
        for (int r = 0; r < 3; r++) {
            Path one = tmp.resolve("seed" + (4 + r));
            Cli.train(one, "--task", "pendulum", "--epochs", "2", "--method", "fsam", "--seed", String.valueOf(4 + r)).expect(Main.OK);
            Map<String, Object> alone = Cli.results(one);
            assertEquals(r, ((Number) reps.get(r).get("replica")).intValue());
            assertReplicaEqualsRun(reps.get(r), alone, "replica " + r);

            // evaluate --run DIR --replica R equals evaluate on the separate run
            Cli.Result e = Cli.run("evaluate", "--run", k.toString(), "--replica", String.valueOf(r), "--json").expect(Main.OK);
            Cli.Result e1 = Cli.run("evaluate", "--run", one.toString(), "--json").expect(Main.OK);
            @SuppressWarnings("unchecked")
            Map<String, Object> em = (Map<String, Object>) Cli.list((Map<String, Object>) Json.parse(e.out().strip()), "replicas").get(0),
                    em1 = (Map<String, Object>) Cli.list((Map<String, Object>) Json.parse(e1.out().strip()), "replicas").get(0);
            assertEquals(r, ((Number) em.get("replica")).intValue());
            for (String key : List.of("theta", "theta_error", "test_mse", "test_mse_science_only", "network_share")) {
                Cli.assertBitIdentical(em1.get(key), em.get(key), "evaluate replica " + r + "." + key);
            }
        }
        // one line per replica on stdout, and the summary
        for (String seed : List.of("4", "5", "6")) {
            assertTrue(res.out().lines().anyMatch(l -> l.trim().split("\\s+").length > 2 && l.trim().split("\\s+")[1].equals(seed)), res.out());
        }
        assertTrue(res.out().contains("median"), res.out());

        // evaluate without --replica covers every replica, with a summary
        Cli.Result all = Cli.run("evaluate", "--run", k.toString(), "--json").expect(Main.OK);
        @SuppressWarnings("unchecked")
        Map<String, Object> am = (Map<String, Object>) Json.parse(all.out().strip());
        assertEquals(3, Cli.list(am, "replicas").size());
        assertTrue(Cli.map(am, "summary").containsKey("test_mse"));
        Cli.run("evaluate", "--run", k.toString()).expect(Main.OK);
        Cli.Result bad = Cli.run("evaluate", "--run", k.toString(), "--replica", "3").expect(Main.BAD_INPUT);
        assertTrue(bad.err().contains("--replica"), bad.err());
    }

    @Test
    void rhoListEqualsSeparateRunsPerRho() {
        Path k = tmp.resolve("rhos");
        Cli.train(k, "--task", "duffing", "--epochs", "2", "--method", "fsam", "--rho", "0.02,0.05").expect(Main.OK);
        Map<String, Object> rk = Cli.results(k);
        List<Map<String, Object>> reps = replicas(rk);
        assertEquals(2, reps.size());
        assertEquals(List.of("rho"), Cli.list(rk, "varied"));
        String[] rhos = {"0.02", "0.05"};
        for (int r = 0; r < 2; r++) {
            Path one = tmp.resolve("rho" + r);
            // a sweep: without a --seed list every replica starts from the same seed
            Cli.train(one, "--task", "duffing", "--epochs", "2", "--method", "fsam", "--rho", rhos[r],
                    "--seed", "0").expect(Main.OK);
            assertReplicaEqualsRun(reps.get(r), Cli.results(one), "replica " + r);
        }
        // one summary per distinct rho
        List<Object> byRho = Cli.list(Cli.map(Cli.map(rk, "summary"), "by"), "rho");
        assertEquals(2, byRho.size());
    }

    @Test
    void listsWithTheSameSeedEqualSeparateRuns() {
        Path k = tmp.resolve("methods");
        Cli.train(k, "--task", "duffing", "--epochs", "1", "--method", "erm,fsam", "--seed", "3,3").expect(Main.OK);
        List<Map<String, Object>> reps = replicas(Cli.results(k));
        String[] methods = {"erm", "fsam"};
        for (int r = 0; r < 2; r++) {
            Path one = tmp.resolve(methods[r]);
            Cli.train(one, "--task", "duffing", "--epochs", "1", "--method", methods[r], "--seed", "3").expect(Main.OK);
            assertReplicaEqualsRun(reps.get(r), Cli.results(one), methods[r]);
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void summaryMedianIsTheMedianOfTheReplicas() {
        Path k = tmp.resolve("summary");
        Cli.train(k, "--task", "duffing", "--epochs", "1", "--rho", "0.02,0.05,0.02,0.05", "--seed", "0,0,1,1").expect(Main.OK);
        Map<String, Object> rk = Cli.results(k);
        List<Map<String, Object>> reps = replicas(rk);
        double[] err = new double[4], mse = new double[4];
        for (int r = 0; r < 4; r++) {
            err[r] = Cli.number(Cli.map(reps.get(r), "final"), "theta_error");
            mse[r] = Cli.number(Cli.map(reps.get(r), "final"), "test_mse");
        }
        Map<String, Object> s = Cli.map(rk, "summary");
        Map<String, Object> se = Cli.map(s, "theta_error"), sm = Cli.map(s, "test_mse");
        double[] sorted = err.clone();
        Arrays.sort(sorted);
        assertEquals((sorted[1] + sorted[2]) / 2, Cli.number(se, "median"), 0.0);
        assertEquals(sorted[0], Cli.number(se, "min"), 0.0);
        assertEquals(sorted[3], Cli.number(se, "max"), 0.0);
        assertTrue(Cli.number(se, "iqr") >= 0);
        double[] ms = mse.clone();
        Arrays.sort(ms);
        assertEquals((ms[1] + ms[2]) / 2, Cli.number(sm, "median"), 0.0);
        // per rho: replicas 0, 2 and 1, 3
        List<Object> byRho = Cli.list(Cli.map(s, "by"), "rho");
        assertEquals(2, byRho.size());
        Map<String, Object> g = (Map<String, Object>) byRho.get(0);
        assertEquals(0.02, Cli.number(g, "rho"));
        assertEquals(List.of(0L, 2L), ((List<Object>) g.get("replicas")).stream().map(x -> ((Number) x).longValue()).toList());
        assertEquals((err[0] + err[2]) / 2, Cli.number(Cli.map(g, "theta_error"), "median"), 0.0);
    }

    /**
     * The replica table shows each replica's θ̂ by component name, also for data without θ*
     * (a user's own data: no θ error to show, the estimate still printed).
     */
    @SuppressWarnings("unchecked")
    @Test
    void replicaTableShowsThetaByNameEvenWithoutThetaStar() throws IOException {
        Path d = tmp.resolve("own-data");
        Cli.copyDir(Cli.duffingData(), d);
        Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(d.resolve("manifest.json")));
        m.remove("theta_star");
        m.remove("theta_mn");
        m.remove("task");
        Files.writeString(d.resolve("manifest.json"), Json.write(m));
        Path k = tmp.resolve("own");
        Cli.Result res = Cli.run("train", "--task", "duffing", "--data", d.toString(), "--epochs", "1", "--threads", "2",
                "--quiet", "--method", "erm,fsam", "--out", k.toString()).expect(Main.OK);
        List<String> lines = res.out().lines().toList();
        int head = -1;
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("replica")) head = i;
        assertTrue(head >= 0, res.out());
        assertTrue(lines.get(head).contains("alpha,beta"), lines.get(head));
        assertFalse(lines.get(head).contains("theta_error"), "no θ* here: " + lines.get(head));
        List<Map<String, Object>> reps = replicas(Cli.results(k));
        for (int r = 0; r < 2; r++) {
            List<Object> theta = Cli.theta(Cli.map(reps.get(r), "final"));
            String shown = ProgressLine.theta(((Number) theta.get(0)).doubleValue()) + ","
                    + ProgressLine.theta(((Number) theta.get(1)).doubleValue());
            assertTrue(lines.get(head + 1 + r).contains(shown), lines.get(head + 1 + r) + " should show " + shown);
        }
    }

    /** train with a bad replica option: status 2, the option named on stderr, nothing written. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--rho=|--rho",
            "--rho=0.1,,0.2|--rho",
            "--rho=0.1,|--rho",
            "--rho=0.1,abc|--rho",
            "--seed=1,x|--seed",
            "--lr-nn=0.001,nope|--lr-nn",
            "--method=erm,bogus|--method",
            "--rho=0.02,0.05 --seed=1,2,3|--rho,--seed",
            "--rho=0.02,0.05 --clip=1,2,3|--rho,--clip",
            "--replicas=0|--replicas",
            "--replicas=-1|--replicas",
            "--replicas=two|--replicas",
            "--replicas=2 --rho=0.01,0.02,0.05|--replicas,--rho",
            "--rho=0.02,-0.05|--rho",
            "--lambda=0.5,1.5|--lambda",
            "--lr-theta=0.01,0|--lr-theta",
    })
    void badListsAreRefusedNamingTheOption(String options, String mentions) {
        Path out = tmp.resolve("out");
        List<String> a = new ArrayList<>(List.of("train", "--task", "duffing", "--preset", "small", "--epochs", "1",
                "--threads", "2", "--quiet", "--cache", Cli.cache().toString(), "--out", out.toString()));
        a.addAll(Arrays.asList(options.split(" ")));
        Cli.Result r = Cli.run(a.toArray(String[]::new)).expect(Main.BAD_INPUT);
        for (String m : mentions.split(",")) assertTrue(r.err().contains(m), () -> "stderr should name " + m + ":\n" + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertEquals("", r.out());
        assertFalse(Files.exists(out), "no output folder");
    }

    /**
     * A K=2 run stopped after epoch 1 (a run of --epochs 1 leaves the checkpoint an interrupted
     * run leaves after its first epoch) resumes to the end bit for bit like the uninterrupted run.
     */
    @Test
    void resumeOfTwoReplicasEndsBitIdentical() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        String[] opts = {"--task", "duffing", "--batch", "16", "--method", "fsam,sam", "--rho", "0.05,0.02", "--seed", "7"};
        List<String> full = new ArrayList<>(List.of("--epochs", "3"));
        full.addAll(List.of(opts));
        List<String> part = new ArrayList<>(List.of("--epochs", "1"));
        part.addAll(List.of(opts));
        Cli.train(a, full.toArray(String[]::new)).expect(Main.OK);
        Cli.train(b, part.toArray(String[]::new)).expect(Main.OK);
        assertEquals(1, Checkpoint.read(b).epochsDone());
        Path config = b.resolve("config.json");
        String text = Files.readString(config);
        String edited = text.replaceFirst("\"--epochs\",(\\s*)\"1\"", "\"--epochs\",$1\"3\"");
        assertTrue(!edited.equals(text), "config.json's args should hold --epochs 1:\n" + text);
        Files.writeString(config, edited);
        Files.delete(b.resolve("results.json"));

        Cli.Result res = Cli.run("train", "--resume", b.toString()).expect(Main.OK);
        assertTrue(res.err().contains("resuming after epoch 1"), res.err());
        Map<String, Object> ra = Cli.results(a), rb = Cli.results(b);
        List<Map<String, Object>> pa = replicas(ra), pb = replicas(rb);
        assertEquals(2, pb.size());
        for (int r = 0; r < 2; r++) {
            assertEquals(3, Cli.list(pb.get(r), "history").size());
            assertReplicaEqualsRun(pb.get(r), pa.get(r), "replica " + r);
        }
        Cli.assertBitIdentical(ra.get("summary"), rb.get("summary"), "summary");
        assertEquals(ra.get("steps"), rb.get("steps"));
    }

    @Test
    void aSingleRunIsAListOfOneReplicaInTheOneSchema() {
        Path one = tmp.resolve("one"), listed = tmp.resolve("listed");
        Cli.train(one, "--task", "duffing", "--epochs", "1", "--seed", "2").expect(Main.OK);
        Cli.train(listed, "--task", "duffing", "--epochs", "1", "--seed", "2", "--replicas", "1").expect(Main.OK);
        Map<String, Object> f1 = Cli.json(one.resolve("results.json")), f2 = Cli.json(listed.resolve("results.json"));
        assertEquals(f1.keySet(), f2.keySet());
        assertEquals(1, Cli.list(f1, "replicas").size());
        assertEquals(1L, f1.get("replica_count"));
        for (String key : List.of("final", "history", "best_epoch", "seed")) {
            assertFalse(f1.containsKey(key), key + " lives in the replica's entry, as for K > 1");
        }
        // theta by component name, in the replica's final, θ* and the summary's count alike
        @SuppressWarnings("unchecked") Map<String, Object> rep = (Map<String, Object>) Cli.list(f1, "replicas").get(0);
        assertEquals(List.of("alpha", "beta"), List.copyOf(Cli.map(Cli.map(rep, "final"), "theta").keySet()));
        assertEquals(List.of("alpha", "beta"), List.copyOf(Cli.map(f1, "theta_star").keySet()));
        assertEquals(1L, Cli.map(f1, "summary").get("count"));
        Map<String, Object> r1 = Cli.results(one), r2 = Cli.results(listed);
        for (String key : PER_RUN) Cli.assertBitIdentical(r1.get(key), r2.get(key), key);
    }
}
