package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import hybridsam.train.Checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run whose loss turns NaN or infinite stops with exit 3, names epoch and step, keeps its last good checkpoint. */
class CliDivergenceTest {
    @TempDir
    Path tmp;

    private static final Pattern WHERE = Pattern.compile("diverged (?:at|in) epoch (\\d+)(?:, step (\\d+))?");

    @Test
    void hugeLearningRatesDivergeInTheFirstEpoch() {
        Path out = tmp.resolve("d");
        Cli.Result r = Cli.train(out, "--task", "duffing", "--lr-nn", "1000", "--lr-theta", "1000", "--clip", "0",
                "--epochs", "20").expect(Main.DIVERGED);
        Matcher m = WHERE.matcher(r.err());
        assertTrue(m.find(), r.err());
        assertEquals("1", m.group(1), r.err());
        assertTrue(r.err().contains("NaN") || r.err().contains("Infinity"), r.err());
        assertTrue(r.err().contains("--lr-nn"), "the message suggests a remedy: " + r.err());
        assertFalse(Files.exists(out.resolve("results.json")));
        assertFalse(Files.exists(out), "nothing good to keep after a first-epoch divergence, so no output folder");
        assertEquals("", r.out());
        // so the same --out can be used again straight away
        Cli.train(out, "--task", "duffing", "--epochs", "1").expect(Main.OK);
    }

    /**
     * Settings that diverge after some good epochs (found by trying: the first of them that does so
     * is used, so a change in the numerics that moves the blow-up does not void the test).
     */
    @Test
    void divergenceAfterGoodEpochsKeepsTheLastGoodCheckpoint() throws Exception {
        List<String[]> candidates = List.of(
                new String[]{"--lr-nn", "0.2", "--lr-theta", "0.2", "--clip", "0", "--batch", "16"},
                new String[]{"--lr-nn", "10", "--lr-theta", "10", "--clip", "0"},
                new String[]{"--lr-nn", "0.3", "--lr-theta", "0.3", "--clip", "0", "--batch", "16"},
                new String[]{"--lr-nn", "2", "--lr-theta", "2", "--clip", "0", "--batch", "32"});
        StringBuilder tried = new StringBuilder();
        for (int i = 0; i < candidates.size(); i++) {
            Path out = tmp.resolve("c" + i);
            String[] a = new String[candidates.get(i).length + 2];
            System.arraycopy(candidates.get(i), 0, a, 0, candidates.get(i).length);
            a[a.length - 2] = "--epochs";
            a[a.length - 1] = "20";
            String[] all = new String[a.length + 2];
            all[0] = "--task";
            all[1] = "duffing";
            System.arraycopy(a, 0, all, 2, a.length);
            Cli.Result r = Cli.train(out, all);
            tried.append(String.join(" ", candidates.get(i))).append(" -> ").append(r.status()).append(' ').append(r.err().strip()).append('\n');
            if (r.status() != Main.DIVERGED) {
                assertEquals(Main.OK, r.status(), r.err());
                continue;
            }
            Matcher m = WHERE.matcher(r.err());
            assertTrue(m.find(), r.err());
            int epoch = Integer.parseInt(m.group(1));
            assertFalse(Files.exists(out.resolve("results.json")), "a diverged run writes no results");
            if (epoch == 1) continue;
            Checkpoint c = Checkpoint.read(out);
            assertEquals(epoch - 1, c.epochsDone(), "the checkpoint is the last good epoch's");
            for (float v : c.state().params()) assertTrue(Float.isFinite(v), "checkpointed parameters are finite");
            for (float v : c.bestParams()) assertTrue(Float.isFinite(v), "best parameters are finite");
            assertTrue(r.err().contains("end of epoch " + (epoch - 1)) && r.err().contains(Checkpoint.FILE), r.err());
            // the kept checkpoint is usable: evaluate reads it
            Cli.run("evaluate", "--run", out.toString()).expect(Main.OK);
            System.err.println("CliDivergenceTest: " + tried.toString().strip());
            return;
        }
        fail("no candidate diverged after its first epoch:\n" + tried);
    }
}
