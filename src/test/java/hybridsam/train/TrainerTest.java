package hybridsam.train;

import hybridsam.cpu.CpuTrainingEngine;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cpu.Fixtures;
import hybridsam.io.Json;
import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.PendulumModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training loop: resume ends exactly as an uninterrupted run; divergence keeps the last good checkpoint. */
class TrainerTest {
    final OdeHybrid model = Fixtures.hybrid(new PendulumModel(), Activation.TANH, 8, 8);
    final Sequences train = Fixtures.randomSequences(20, 5, 2, 1);
    final Sequences valid = Fixtures.randomSequences(6, 5, 2, 2);
    final Sequences test = Fixtures.randomSequences(6, 5, 2, 3);
    final RuleConfig rule = new RuleConfig(Method.FSAM, 0.05, 1, 0.9, 0.01, 0, false, false, 1e-2, 1e-3, 5, 0);

    Trainer.Plan plan(int epochs) {
        return new Trainer.Plan(train, valid, test, model.science().theta(), new double[]{1.0966}, null,
                epochs, 6, 0, new long[]{7});
    }

    CpuTrainingEngine engine() {
        return new CpuTrainingEngine(new CpuOdeBackend(model, 2), train, new RuleConfig[]{rule}, Fixtures.randomParams(model, 1, 7));
    }

    /** Passes everything to a CPU engine; tests override what they falsify. */
    static class Delegating implements TrainingEngine {
        final CpuTrainingEngine inner;
        final LossTally.Accumulator tally = new LossTally.Accumulator(1);

        Delegating(CpuTrainingEngine inner) {
            this.inner = inner;
        }

        public String describe() {
            return "test";
        }

        public int replicas() {
            return 1;
        }

        public double[] step(int[] batch, int B) {
            return inner.step(batch, B);
        }

        public void advance(int[] batch, int B) {
            tally.add(step(batch, B), B);
        }

        public LossTally drainLosses() {
            return tally.drain();
        }

        public void scheduleFactors(double[] lrFactor, double[] rhoFactor) {
            inner.scheduleFactors(lrFactor, rhoFactor);
        }

        public OptimizerState state() {
            return inner.state();
        }

        public void load(OptimizerState s) {
            inner.load(s);
        }

        public Metrics evaluate(float[] p, int r, hybridsam.model.Split s) {
            return inner.evaluate(p, r, s);
        }

        public double mse(float[] p, int r, hybridsam.model.Split s) {
            return inner.mse(p, r, s);
        }

        public void close() {
        }
    }

    @Test
    void earlyStoppingEndsPatienceEpochsAfterTheBestOne() {
        double[] scores = {5, 4, 4.5, 4.6, 4.7, 3, 2, 1};
        try (CpuTrainingEngine inner = engine()) {
            TrainingEngine scripted = new Delegating(inner) {
                int calls;

                @Override
                public double mse(float[] p, int r, hybridsam.model.Split s) {
                    return scores[calls++];
                }
            };
            Trainer.Plan plan = new Trainer.Plan(train, valid, test, model.science().theta(), null, null, 8, 6, 2, new long[]{7});
            Map<String, Object> r = new Trainer(scripted, plan, null, Progress.NONE).run(null).get(0);
            assertEquals(4, r.get("epochs_run"), "best at epoch 2, two epochs without improvement");
            assertEquals(2, r.get("best_epoch"));
        }
    }

    /** Stops the run by throwing once the given epoch starts, as a crash would. */
    static final class Crash extends RuntimeException {
    }

    @Test
    void resumedRunEndsBitForBitAsAnUninterruptedOne(@TempDir Path a, @TempDir Path b) {
        List<Map<String, Object>> full;
        try (CpuTrainingEngine e = engine()) {
            full = new Trainer(e, plan(5), a, Progress.NONE).run(null);
        }
        Progress crashAtEpoch3 = new Progress() {
            public void step(int epoch, int step, int steps, double loss) {
                if (epoch == 3 && step == 2) throw new Crash();
            }
        };
        try (CpuTrainingEngine e = engine()) {
            assertThrows(Crash.class, () -> new Trainer(e, plan(5), b, crashAtEpoch3).run(null));
        }
        Checkpoint c = Checkpoint.read(b);
        assertEquals(2, c.epochsDone());
        List<Map<String, Object>> resumed;
        try (CpuTrainingEngine e = engine()) {
            resumed = new Trainer(e, plan(5), b, Progress.NONE).run(c);
        }
        // compare through JSON text: every double, bit for bit
        assertEquals(Json.write(full.get(0).get("history")), Json.write(resumed.get(0).get("history")));
        assertEquals(Json.write(full.get(0).get("final")), Json.write(resumed.get(0).get("final")));
        assertArrayEquals(Checkpoint.read(a).state().params(), Checkpoint.read(b).state().params());
    }

    @Test
    void divergenceNamesEpochAndStepAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws Exception {
        try (CpuTrainingEngine inner = engine()) {
            TrainingEngine poisoned = new Delegating(inner) {
                int steps;

                @Override
                public double[] step(int[] batch, int B) {
                    double[] l = inner.step(batch, B);
                    // 20 sequences, batch 6: 4 steps an epoch; step 3 of epoch 2 is the 7th
                    return ++steps == 7 ? new double[]{Double.NaN} : l;
                }
            };
            DivergenceException e = assertThrows(DivergenceException.class,
                    () -> new Trainer(poisoned, plan(4), dir, Progress.NONE).run(null));
            assertEquals(2, e.epoch);
            assertEquals(3, e.step);
            assertTrue(e.getMessage().contains("epoch 2, step 3"), e.getMessage());
            byte[] before = Files.readAllBytes(dir.resolve(Checkpoint.FILE));
            assertEquals(1, Checkpoint.read(dir).epochsDone());
            assertArrayEquals(before, Files.readAllBytes(dir.resolve(Checkpoint.FILE)));
        }
    }

    @Test
    void sameSeedSameNumbersOtherSeedOtherOrder() {
        assertArrayEquals(Trainer.permutation(50, 3, 4), Trainer.permutation(50, 3, 4));
        assertNotEquals(java.util.Arrays.toString(Trainer.permutation(50, 3, 4)), java.util.Arrays.toString(Trainer.permutation(50, 3, 5)));
        assertNotEquals(java.util.Arrays.toString(Trainer.permutation(50, 3, 4)), java.util.Arrays.toString(Trainer.permutation(50, 4, 4)));
    }

    @Test
    void bestEpochIsTheLowestValidationError() {
        try (CpuTrainingEngine e = engine()) {
            Map<String, Object> r = new Trainer(e, plan(4), null, Progress.NONE).run(null).get(0);
            @SuppressWarnings("unchecked") List<Map<String, Object>> h = (List<Map<String, Object>>) r.get("history");
            int best = (int) r.get("best_epoch");
            double bestValid = (double) h.get(best - 1).get("valid_mse");
            for (Map<String, Object> rec : h) assertTrue((double) rec.get("valid_mse") >= bestValid);
            @SuppressWarnings("unchecked") Map<String, Object> fin = (Map<String, Object>) r.get("final");
            assertEquals(bestValid, (double) fin.get("valid_mse"));
            assertArrayEquals((double[]) h.get(best - 1).get("theta"), (double[]) fin.get("theta"));
        }
    }
}
