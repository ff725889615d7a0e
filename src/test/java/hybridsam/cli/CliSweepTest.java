package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Json;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * hybridsam sweep: the grid's cells (a hyperparameter a method does not use does not multiply its
 * cells), its groups (a normal replica run each, equal to the same runs trained with train), the
 * summary files and their statistics against the groups' results.json, the charts, a rerun that
 * skips what finished and continues what did not, and the folders and grids it refuses.
 */
class CliSweepTest {
    @TempDir
    Path tmp;

    /** sweep with the FAST settings and the shared data cache. */
    private static Cli.Result sweep(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("sweep"));
        a.addAll(Cli.FAST);
        a.addAll(List.of("--cache", Cli.cache().toString(), "--out", out.toString()));
        a.addAll(Arrays.asList(extra));
        return Cli.run(a.toArray(String[]::new));
    }

    /** Replica r of a run's results.json (a single run's fields at the top, or a replicas list). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> replica(Map<String, Object> results, int r) {
        if (!results.containsKey("replicas")) {
            assertEquals(0, r, "a single run has one replica");
            return results;
        }
        return (Map<String, Object>) Cli.list(results, "replicas").get(r);
    }

    private static int replicaCount(Map<String, Object> results) {
        return results.containsKey("replicas") ? Cli.list(results, "replicas").size() : 1;
    }

    private static String method(Map<String, Object> replica) {
        return (String) Cli.map(replica, "hyperparameters").get("method");
    }

    /** The middle value, or the mean of the two middle ones, computed here, not by the code under test. */
    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> rows(Path sweep) {
        return (List<Map<String, Object>>) (List<?>) Cli.list(Cli.json(sweep.resolve(Sweep.JSON)), "rows");
    }

    private static void assertPng(Path f, int width, int height) throws IOException {
        assertTrue(Files.isRegularFile(f), f + " missing");
        BufferedImage img = ImageIO.read(f.toFile());
        assertTrue(img != null, f + " does not decode as an image");
        assertEquals(width, img.getWidth(), f + ": width");
        assertEquals(height, img.getHeight(), f + ": height");
        assertTrue(hybridsam.io.PngMark.isOwn(f), f + " carries hybridsam's mark");
    }

    /**
     * The done-when command, with 2 epochs: the summary's rows (erm and fsam, 3 seeds each) and
     * their medians against the group's results.json, the charts, the group against train
     * --replicas, a rerun that has nothing to do, and a changed grid refused.
     */
    @Test
    void ermAndFsamOverThreeSeeds() throws IOException {
        Path dir = tmp.resolve("s");
        String[] grid = {"--task", "pendulum", "--method", "erm,fsam", "--seeds", "3", "--epochs", "2"};
        Cli.Result r = sweep(dir, grid).expect(Main.OK);
        assertTrue(r.err().contains("group 1/1 pendulum (6 runs) starting") && r.err().contains("sweep 12/12 run-epochs (100%)"), r.err());

        // summary.csv: a header and one row per cell, with its seeds and diverged counts
        List<String> csv = Files.readAllLines(dir.resolve(Sweep.CSV));
        assertEquals(3, csv.size(), String.join("\n", csv));
        List<String> header = List.of(csv.get(0).split(","));
        assertEquals(List.of("task", "method", "seeds", "diverged", "theta_error_median", "theta_error_q1", "theta_error_q3"),
                header.subList(0, 7));
        assertEquals("group", header.get(header.size() - 1));
        String[] erm = csv.get(1).split(","), fsam = csv.get(2).split(",");
        assertEquals(List.of("pendulum", "erm", "3", "0"), List.of(erm).subList(0, 4));
        assertEquals(List.of("pendulum", "fsam", "3", "0"), List.of(fsam).subList(0, 4));
        assertEquals("groups/pendulum", erm[erm.length - 1]);

        // summary.json: the schema, and the medians equal those of the group's results.json
        Map<String, Object> sj = Cli.json(dir.resolve(Sweep.JSON));
        assertEquals(Sweep.SUMMARY_SCHEMA, sj.get("schema"));
        assertEquals(1L, sj.get("schema_version"));
        List<Map<String, Object>> rows = rows(dir);
        assertEquals(2, rows.size());
        Map<String, Object> res = Cli.json(dir.resolve("groups/pendulum/results.json"));
        assertEquals(6, replicaCount(res));
        List<String> metrics = List.of("theta_error", "theta_mn_error", "valid_mse", "test_mse", "network_share");
        for (int c = 0; c < 2; c++) {
            Map<String, Object> row = rows.get(c);
            String m = c == 0 ? "erm" : "fsam";
            assertEquals(m, row.get("method"));
            assertEquals(List.of(0L, 1L, 2L), row.get("seeds"));
            assertEquals(3L, row.get("finished"));
            assertEquals(List.of(), row.get("diverged"));
            String[] line = csv.get(1 + c).split(",");
            for (String metric : metrics) {
                List<Double> values = new ArrayList<>();
                for (int k = 0; k < 6; k++) {
                    Map<String, Object> rep = replica(res, k);
                    if (method(rep).equals(m)) values.add(Cli.number(Cli.map(rep, "final"), metric));
                }
                assertEquals(3, values.size());
                double want = median(values);
                Cli.assertBitIdentical(want, Cli.map(row, metric).get("median"), m + " " + metric + " median");
                assertEquals(want, Double.parseDouble(line[header.indexOf(metric + "_median")]), 0.0, "csv " + m + " " + metric);
            }
        }

        // summary.md, also on stdout
        String md = Files.readString(dir.resolve(Sweep.MD));
        assertTrue(md.startsWith("| task | method | seeds | diverged | \u03b8 error |"), md);
        assertTrue(md.contains("\n| pendulum | erm | 3 | 0 | ") && md.contains("\n| pendulum | fsam | 3 | 0 | "), md);
        assertTrue(r.out().startsWith(md), r.out());

        // the charts: one task, one chart each
        assertPng(dir.resolve(Sweep.THETA_PNG), Plots.WIDTH, Plots.HEIGHT);
        assertPng(dir.resolve(Sweep.MSE_PNG), Plots.WIDTH, Plots.HEIGHT);
        assertTrue(Files.isRegularFile(dir.resolve("groups/pendulum/loss.png")), "the group's own plots");

        // the group is train --replicas with the runs as lists: the same numbers, bit for bit
        Path k6 = tmp.resolve("k6");
        Cli.train(k6, "--task", "pendulum", "--epochs", "2", "--method", "erm,erm,erm,fsam,fsam,fsam", "--seed", "0,1,2,0,1,2")
                .expect(Main.OK);
        Map<String, Object> alone = Cli.json(k6.resolve("results.json"));
        for (int k = 0; k < 6; k++) {
            for (String key : List.of("seed", "hyperparameters", "final", "history", "best_epoch")) {
                Cli.assertBitIdentical(replica(alone, k).get(key), replica(res, k).get(key), "replica " + k + "." + key);
            }
        }

        // a rerun has nothing to do: every group skipped, the same summary written again
        byte[] csvBytes = Files.readAllBytes(dir.resolve(Sweep.CSV)), jsonBytes = Files.readAllBytes(dir.resolve(Sweep.JSON));
        byte[] resBytes = Files.readAllBytes(dir.resolve("groups/pendulum/results.json"));
        Cli.Result again = sweep(dir, grid).expect(Main.OK);
        assertTrue(again.err().contains("finished before (results.json): skipped"), again.err());
        assertFalse(again.err().contains("hybridsam: training"), again.err());
        assertArrayEquals(csvBytes, Files.readAllBytes(dir.resolve(Sweep.CSV)));
        assertArrayEquals(jsonBytes, Files.readAllBytes(dir.resolve(Sweep.JSON)));
        assertArrayEquals(resBytes, Files.readAllBytes(dir.resolve("groups/pendulum/results.json")));
        assertTrue(again.out().startsWith(md), again.out());
        Cli.run("sweep", "--resume", dir.toString(), "--threads", "1").expect(Main.OK);
        assertArrayEquals(csvBytes, Files.readAllBytes(dir.resolve(Sweep.CSV)));

        // charts that cannot be drawn (a runtime without fonts) are skipped, the summary is still written
        byte[] theta = Files.readAllBytes(dir.resolve(Sweep.THETA_PNG));
        Files.delete(dir.resolve(Sweep.MSE_PNG));
        Plots.beforeDrawing = () -> {
            throw new InternalError("simulated: no usable fonts");
        };
        try {
            Cli.Result nofonts = sweep(dir, grid).expect(Main.OK);
            assertTrue(nofonts.err().contains("plots skipped") && nofonts.err().contains("simulated: no usable fonts"), nofonts.err());
            assertFalse(nofonts.out().contains("figure"), nofonts.out());
        } finally {
            Plots.beforeDrawing = null;
        }
        assertFalse(Files.exists(dir.resolve(Sweep.MSE_PNG)));
        assertArrayEquals(theta, Files.readAllBytes(dir.resolve(Sweep.THETA_PNG)), "the chart drawn before is left as it was");
        assertArrayEquals(csvBytes, Files.readAllBytes(dir.resolve(Sweep.CSV)));
        sweep(dir, grid).expect(Main.OK);
        assertArrayEquals(theta, Files.readAllBytes(dir.resolve(Sweep.THETA_PNG)), "the same chart drawn again");
        assertPng(dir.resolve(Sweep.MSE_PNG), Plots.WIDTH, Plots.HEIGHT);

        // another grid into the same folder is refused, naming what differs, and nothing changes
        var before = Cli.snapshot(dir);
        Cli.Result other = sweep(dir, "--task", "pendulum", "--method", "erm,fsam", "--seeds", "3", "--epochs", "3").expect(Main.BAD_INPUT);
        assertTrue(other.err().contains("another grid") && other.err().contains("--epochs: 2 there, 3 now"), other.err());
        other = sweep(dir, "--task", "pendulum", "--method", "erm", "--seeds", "2", "--epochs", "2").expect(Main.BAD_INPUT);
        assertTrue(other.err().contains("--method: erm,fsam there, erm now") && other.err().contains("seeds: 0,1,2 there, 0,1 now"), other.err());
        assertEquals(before, Cli.snapshot(dir));
        // where and how verbosely it runs, and whether it draws, are no part of the grid
        List<String> quieter = new ArrayList<>(List.of(grid));
        quieter.addAll(List.of("--no-plots", "--log-every", "1"));
        assertFalse(sweep(dir, quieter.toArray(String[]::new)).expect(Main.OK).out().contains("figure"));
        assertArrayEquals(csvBytes, Files.readAllBytes(dir.resolve(Sweep.CSV)));

        // a summary file the sweep did not write is refused, not replaced
        Files.writeString(dir.resolve(Sweep.MD), "my notes\n");
        before = Cli.snapshot(dir);
        Cli.Result foreign = sweep(dir, grid).expect(Main.BAD_INPUT);
        assertTrue(foreign.err().contains(Sweep.MD), foreign.err());
        assertEquals(before, Cli.snapshot(dir));
    }

    /**
     * erm with a ρ list is one cell (fsam one per ρ); --group-size splits the runs; the erm replica
     * equals erm trained alone, recorded hyperparameters included; the charts against ρ.
     */
    @Test
    void aRhoListMultipliesOnlyTheMethodsThatUseIt() throws IOException {
        Path dir = tmp.resolve("rho");
        Cli.Result r = sweep(dir, "--task", "duffing", "--method", "erm,fsam", "--rho", "0.02,0.05", "--epochs", "1",
                "--group-size", "2").expect(Main.OK);
        List<Map<String, Object>> rows = rows(dir);
        assertEquals(3, rows.size(), "erm once, fsam per rho");
        assertEquals(List.of("erm", "fsam", "fsam"), rows.stream().map(x -> x.get("method")).toList());
        assertEquals(Map.of(), rows.get(0).get("hyperparameters"));
        assertEquals(Map.of("rho", 0.02), rows.get(1).get("hyperparameters"));
        assertEquals(Map.of("rho", 0.05), rows.get(2).get("hyperparameters"));
        for (Map<String, Object> row : rows) assertEquals(List.of(0L), row.get("seeds"));
        assertEquals(List.of("groups/duffing-1"), rows.get(0).get("groups"));
        assertEquals(List.of("groups/duffing-2"), rows.get(2).get("groups"));
        assertTrue(r.err().contains("group 1/2 duffing-1 (2 runs)") && r.err().contains("group 2/2 duffing-2 (1 run)"), r.err());
        List<String> csv = Files.readAllLines(dir.resolve(Sweep.CSV));
        assertTrue(csv.get(0).startsWith("task,method,rho,seeds,diverged,"), csv.get(0));
        assertTrue(csv.get(1).startsWith("duffing,erm,,1,0,") && csv.get(3).startsWith("duffing,fsam,0.05,1,0,"), String.join("\n", csv));

        // the erm replica is erm trained alone (rho as erm has it, not one of the list's)
        Map<String, Object> g1 = Cli.json(dir.resolve("groups/duffing-1/results.json"));
        assertEquals(2, replicaCount(g1));
        Path ermAlone = tmp.resolve("erm");
        Cli.train(ermAlone, "--task", "duffing", "--epochs", "1", "--method", "erm").expect(Main.OK);
        Map<String, Object> alone = replica(Cli.json(ermAlone.resolve("results.json")), 0);
        for (String key : List.of("seed", "hyperparameters", "final", "history")) {
            Cli.assertBitIdentical(alone.get(key), replica(g1, 0).get(key), "erm." + key);
        }
        // fsam rho 0.05, a group of one run, is that run trained alone
        Map<String, Object> g2 = Cli.json(dir.resolve("groups/duffing-2/results.json"));
        assertEquals(1, replicaCount(g2));
        Path fsamAlone = tmp.resolve("fsam");
        Cli.train(fsamAlone, "--task", "duffing", "--epochs", "1", "--method", "fsam", "--rho", "0.05").expect(Main.OK);
        Cli.assertBitIdentical(replica(Cli.json(fsamAlone.resolve("results.json")), 0).get("final"), replica(g2, 0).get("final"), "fsam.final");

        // duffing's θ error against ρ and the validation MSE: one chart each
        assertPng(dir.resolve(Sweep.THETA_PNG), Plots.WIDTH, Plots.HEIGHT);
        assertPng(dir.resolve(Sweep.MSE_PNG), Plots.WIDTH, Plots.HEIGHT);
    }

    /**
     * A rerun continues what did not finish: a group stopped before its first checkpoint starts
     * again from the beginning, one with a checkpoint continues from it; both end as the
     * uninterrupted sweep did, and so does the summary.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRerunContinuesInterruptedGroups() throws IOException {
        Path whole = tmp.resolve("whole");
        String[] grid = {"--task", "pendulum,duffing", "--method", "fsam", "--seeds", "2", "--epochs", "2", "--no-plots"};
        sweep(whole, grid).expect(Main.OK);
        assertFalse(Files.exists(whole.resolve(Sweep.THETA_PNG)), "--no-plots");
        assertFalse(Files.exists(whole.resolve("groups/pendulum/loss.png")), "--no-plots reaches the groups");

        Path cut = tmp.resolve("cut");
        Cli.copyDir(whole, cut);
        // pendulum: stopped before its first checkpoint (config.json only)
        for (String f : List.of("checkpoint.bin", "results.json")) Files.delete(cut.resolve("groups/pendulum").resolve(f));
        // duffing: stopped after its first epoch (a 1-epoch run of its settings, made a 2-epoch one)
        Path duffing = cut.resolve("groups/duffing");
        Cli.deleteQuietly(duffing);
        Map<String, Object> record = Cli.json(cut.resolve(Sweep.FILE));
        Map<String, Object> group = (Map<String, Object>) Cli.list(record, "groups").get(1);
        assertEquals("duffing", group.get("name"));
        List<String> args = new ArrayList<>((List<String>) (List<?>) Cli.list(group, "train"));
        args.set(args.indexOf("--epochs") + 1, "1");
        List<String> train = new ArrayList<>(List.of("train", "--threads", "2", "--quiet", "--no-plots", "--out", duffing.toString()));
        train.addAll(args);
        Cli.run(train.toArray(String[]::new)).expect(Main.OK);
        Map<String, Object> config = Cli.json(duffing.resolve("config.json"));
        List<Object> recorded = new ArrayList<>(Cli.list(config, "args"));
        recorded.set(recorded.indexOf("--epochs") + 1, "2");
        config.put("args", recorded);
        config.put("epochs", 2L);
        Files.writeString(duffing.resolve("config.json"), Json.write(config));
        Files.delete(duffing.resolve("results.json"));

        Cli.Result r = Cli.run("sweep", "--resume", cut.toString(), "--threads", "2").expect(Main.OK);
        assertTrue(r.err().contains("pendulum (2 runs) starting again from the beginning"), r.err());
        assertTrue(r.err().contains("duffing (2 runs) resuming after epoch 1"), r.err());
        for (String g : List.of("pendulum", "duffing")) {
            Map<String, Object> a = Cli.json(whole.resolve("groups").resolve(g).resolve("results.json"));
            Map<String, Object> b = Cli.json(cut.resolve("groups").resolve(g).resolve("results.json"));
            for (int k = 0; k < 2; k++) {
                for (String key : List.of("final", "history", "best_epoch")) {
                    Cli.assertBitIdentical(replica(a, k).get(key), replica(b, k).get(key), g + " replica " + k + "." + key);
                }
            }
        }
        assertEquals(Files.readString(whole.resolve(Sweep.CSV)), Files.readString(cut.resolve(Sweep.CSV)));
        assertEquals(Files.readString(whole.resolve(Sweep.MD)), Files.readString(cut.resolve(Sweep.MD)));
    }

    /**
     * Diverged runs are left out of the statistics and counted: one that diverged within its
     * group, and a group whose every run diverged (exit 3 at the end, the other groups trained,
     * the summary written).
     */
    @Test
    void divergedRunsAreCountedNotAveraged() throws IOException {
        Path dir = tmp.resolve("diverge");
        Cli.Result r = sweep(dir, "--task", "duffing", "--method", "erm", "--seed", "0,1", "--lr-nn", "1e-3,1000", "--clip", "0",
                "--epochs", "2", "--group-size", "3").expect(Main.DIVERGED);
        assertTrue(r.err().contains("group 2/2 duffing-2 (1 run): every run diverged"), r.err());
        Map<String, Object> g1 = Cli.json(dir.resolve("groups/duffing-1/results.json"));
        assertTrue(replica(g1, 2).get("diverged") instanceof Map, "replica 2 (lr_nn 1000, seed 0) diverged in its group");
        assertFalse(Files.exists(dir.resolve("groups/duffing-2/results.json")));

        List<Map<String, Object>> rows = rows(dir);
        assertEquals(2, rows.size());
        assertEquals(2L, rows.get(0).get("finished"));
        assertEquals(List.of(), rows.get(0).get("diverged"));
        List<Double> valid = List.of(Cli.number(Cli.map(replica(g1, 0), "final"), "valid_mse"),
                Cli.number(Cli.map(replica(g1, 1), "final"), "valid_mse"));
        Cli.assertBitIdentical(median(valid), Cli.map(rows.get(0), "valid_mse").get("median"), "valid_mse median");
        assertEquals(0L, rows.get(1).get("finished"));
        assertEquals(List.of(0L, 1L), rows.get(1).get("diverged"));
        assertFalse(rows.get(1).containsKey("valid_mse"), "no statistics over diverged runs");
        assertEquals(List.of("groups/duffing-1", "groups/duffing-2"), rows.get(1).get("groups"));
        List<String> csv = Files.readAllLines(dir.resolve(Sweep.CSV));
        assertTrue(csv.get(0).startsWith("task,method,lr_nn,seeds,diverged,"), "a single --clip is no column: " + csv.get(0));
        assertTrue(csv.get(2).startsWith("duffing,erm,1000,2,2,,,,"), csv.get(2));
        assertTrue(r.out().contains("| duffing | erm | 1000 | 2 | 2 |  |"), r.out());
    }

    /** Folders and options refused with exit 2, before anything is written. */
    @Test
    void foreignFoldersAndBadGridsAreRefusedUntouched() throws IOException {
        Path foreign = tmp.resolve("foreign");
        Files.createDirectories(foreign.resolve("sub"));
        Files.writeString(foreign.resolve("notes.txt"), "mine\n");
        var before = Cli.snapshot(foreign);
        Cli.Result r = sweep(foreign, "--method", "erm", "--epochs", "1").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("is not empty and holds no sweep") && r.err().contains("notes.txt"), r.err());
        assertEquals(before, Cli.snapshot(foreign));

        // nor is a folder with a sweep.json that is not a sweep's; neither gets so much as a lock file
        Files.writeString(foreign.resolve(Sweep.FILE), "{\"schema\": \"mine\"}\n");
        before = Cli.snapshot(foreign);
        r = sweep(foreign, "--method", "erm", "--epochs", "1").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(foreign.resolve(Sweep.FILE) + ": field \"schema\""), r.err());
        assertEquals(before, Cli.snapshot(foreign));

        // a run folder of train's is not a sweep either
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        Files.writeString(run.resolve("config.json"), "{}\n");
        sweep(run, "--method", "erm", "--epochs", "1").expect(Main.BAD_INPUT);
        assertEquals("{}\n", Files.readString(run.resolve("config.json")));
        assertEquals(List.of("config.json"), Cli.snapshot(run).keySet().stream().toList());
        r = Cli.run("sweep", "--resume", run.toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains(run.resolve(Sweep.FILE) + ": not found"), r.err());

        // bad grids: nothing written
        Path none = tmp.resolve("none");
        for (String[] bad : List.of(new String[] {"--seeds", "2", "--seed", "0,1"}, new String[] {"--method", "erm,erm"},
                new String[] {"--method", "fsam", "--rho", "0.05,-1"}, new String[] {"--task", "pendulum,nope"},
                new String[] {"--seeds", "0"}, new String[] {"--rho", "0.1,0.1"}, new String[] {"--group-size", "0"})) {
            r = sweep(none, bad).expect(Main.BAD_INPUT);
            assertFalse(Files.exists(none), String.join(" ", bad) + " wrote " + none + "; " + r.err());
        }
        r = sweep(none, "--method", "fsam", "--rho", "0.05,-1").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--rho"), r.err());
        r = sweep(none, "--method", "erm,fsam", "--eta", "0.01,0.1").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--eta 0.01,0.1: no method of the sweep (erm, fsam) uses it"), r.err());

        // the command is registered: help and completion
        Cli.Result help = Cli.run("sweep", "--help").expect(Main.OK);
        for (String opt : List.of("--group-size", "--seeds", "--rho", "--resume", "--preset", "grid")) assertTrue(help.out().contains(opt), opt);
        assertFalse(help.out().lines().anyMatch(l -> l.strip().startsWith("--replicas")), "sweep makes the groups: " + help.out());
        assertTrue(Cli.run("completion").expect(Main.OK).out().contains("sweep"));
        assertTrue(Cli.run("--help").out().contains("sweep"));
    }
}
