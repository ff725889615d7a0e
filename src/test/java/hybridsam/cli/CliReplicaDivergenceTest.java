package hybridsam.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One replica diverging does not take the others down: it is set aside and marked, the others finish. */
class CliReplicaDivergenceTest {
    @Test
    @SuppressWarnings("unchecked")
    void aDivergingReplicaIsMarkedAndTheOthersFinish() {
        Path out = Cli.root().resolve("replica-diverges");
        Cli.Result r = Cli.train(out, "--task", "duffing", "--lr-nn", "1e-3,1000", "--lr-theta", "1e-2,1000", "--clip", "0",
                "--epochs", "3").expect(Main.OK);
        assertTrue(r.out().contains("diverged at epoch"), r.out());
        Map<String, Object> res = Cli.results(out);
        List<Object> reps = Cli.list(res, "replicas");
        Map<String, Object> good = (Map<String, Object>) reps.get(0), bad = (Map<String, Object>) reps.get(1);
        assertNull(good.get("diverged"));
        assertTrue(bad.get("diverged") instanceof Map, bad.toString());
        assertEquals(3, ((List<Object>) good.get("history")).size(), "the healthy replica trained every epoch");
        Map<String, Object> summary = Cli.map(res, "summary");
        assertEquals(1, ((Number) summary.get("count")).intValue(), "statistics over the replicas that finished");
        assertEquals(List.of(1L), summary.get("diverged"));
        // the healthy replica's numbers are those of the same run trained alone
        Path alone = Cli.root().resolve("replica-alone");
        Cli.train(alone, "--task", "duffing", "--lr-nn", "1e-3", "--lr-theta", "1e-2", "--clip", "0", "--epochs", "3")
                .expect(Main.OK);
        Map<String, Object> a = Cli.results(alone);
        Cli.assertBitIdentical(a.get("history"), good.get("history"), "history");
        // the run's checkpoint, with a replica set aside, is valid: evaluate reads it
        Cli.run("evaluate", "--run", out.toString()).expect(Main.OK);
        assertFalse(r.err().contains("\tat "), r.err());
    }
}
