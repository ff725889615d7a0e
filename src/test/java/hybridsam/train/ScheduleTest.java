package hybridsam.train;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.cpu.Fixtures;
import hybridsam.io.ConfigException;
import hybridsam.io.Json;
import hybridsam.model.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-epoch schedules: their factors, and on the CPU engine through the trainer (the factors
 * reach the rule, a scheduled run differs from a constant one, a resumed run ends bit for bit as
 * an uninterrupted one, constant schedules change nothing).
 */
class ScheduleTest {
    private final TrainerTest fx = new TrainerTest();

    // ---------------------------------------------------------------- the factors

    @Test
    void constantIsOneEverywhere() {
        for (int E = 1; E <= 40; E++) {
            for (int e = 0; e < E; e++) assertEquals(1.0, Schedule.CONSTANT.factor(e, E));
        }
    }

    @Test
    void cosineKnownValuesAndEndpoints() {
        double m = Schedule.COSINE_FLOOR;
        double[] four = {1.0, m + (1 - m) * (1 + Math.sqrt(0.5)) / 2, 0.505, m + (1 - m) * (1 - Math.sqrt(0.5)) / 2};
        for (int e = 0; e < 4; e++) assertEquals(four[e], Schedule.COSINE.factor(e, 4), 1e-15, "e = " + e);
        assertEquals(0.855017856687341, Schedule.COSINE.factor(1, 4), 1e-15);
        assertEquals(0.034227024433899, Schedule.COSINE.factor(9, 10), 1e-15);
        for (int E = 1; E <= 200; E++) {
            assertEquals(1.0, Schedule.COSINE.factor(0, E), "starts at exactly 1, E = " + E);
            double last = Schedule.COSINE.factor(E - 1, E);
            // the last epoch is at e = E - 1, so it ends within (1 - m)(1 - cos(pi/E))/2 above m
            assertEquals(m + (1 - m) * 0.5 * (1 - Math.cos(Math.PI / E)), last, 1e-15, "E = " + E);
            assertTrue(last >= m, "never below the floor");
        }
        assertEquals(m, Schedule.COSINE.factor(999, 1000), 1e-5);
        assertEquals(0.505, Schedule.COSINE.factor(50, 100), 1e-15, "half way: m + (1 - m) / 2");
    }

    @Test
    void stepBoundariesAreExact() {
        // 1 while 2e < E, 0.1 while 4e < 3E, then 0.01
        assertArrayEquals(new double[]{1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01}, factors(Schedule.STEP, 8));
        assertArrayEquals(new double[]{1, 1, 1, 0.1, 0.01}, factors(Schedule.STEP, 5));
        assertArrayEquals(new double[]{1, 1, 0.1, 0.01}, factors(Schedule.STEP, 4));
        assertArrayEquals(new double[]{1, 1, 0.1}, factors(Schedule.STEP, 3));
        assertArrayEquals(new double[]{1, 0.1}, factors(Schedule.STEP, 2));
        assertArrayEquals(new double[]{1}, factors(Schedule.STEP, 1));
        for (int E = 1; E <= 400; E++) {
            for (int e = 0; e < E; e++) {
                double want = e < E / 2.0 ? 1 : e < 0.75 * E ? 0.1 : 0.01;
                assertEquals(want, Schedule.STEP.factor(e, E), "e = " + e + ", E = " + E);
            }
        }
        // no overflow at the largest epoch counts
        assertEquals(0.01, Schedule.STEP.factor(Integer.MAX_VALUE - 1, Integer.MAX_VALUE));
        assertEquals(1.0, Schedule.STEP.factor(Integer.MAX_VALUE / 2, Integer.MAX_VALUE));
        assertEquals(0.1, Schedule.STEP.factor(Integer.MAX_VALUE / 2 + 1, Integer.MAX_VALUE));
    }

    @Test
    void warmupRampsOverTheFirstQuarter() {
        assertArrayEquals(new double[]{0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                factors(Schedule.WARMUP, 20));
        assertArrayEquals(new double[]{0.5, 1, 1, 1, 1, 1, 1, 1}, factors(Schedule.WARMUP, 8));
        assertArrayEquals(new double[]{0.8, 1, 1, 1, 1}, factors(Schedule.WARMUP, 5));
        for (int E = 1; E <= 4; E++) assertArrayEquals(ones(E), factors(Schedule.WARMUP, E), "E/4 <= 1 epoch: no ramp");
        for (int E = 1; E <= 200; E++) {
            assertEquals(1.0, Schedule.WARMUP.factor(E - 1, E));
            assertTrue(Schedule.WARMUP.factor(0, E) > 0);
            // 1 from the epoch at which e + 1 >= E / 4 on
            for (int e = 0; e < E; e++) assertEquals(4 * (e + 1) >= E, Schedule.WARMUP.factor(e, E) == 1.0, "e = " + e + ", E = " + E);
        }
    }

    @ParameterizedTest
    @EnumSource(Schedule.class)
    void monotoneAndWithinZeroToOne(Schedule s) {
        for (int E = 1; E <= 120; E++) {
            double prev = s.factor(0, E);
            for (int e = 0; e < E; e++) {
                double f = s.factor(e, E);
                assertTrue(f > 0 && f <= 1, s + " " + e + "/" + E + ": " + f);
                if (s == Schedule.WARMUP) assertTrue(f >= prev, "warmup never decreases");
                else if (s == Schedule.COSINE && e > 0) assertTrue(f < prev, "cosine strictly decreases");
                else assertTrue(f <= prev, s + " never increases");
                prev = f;
            }
        }
    }

    @Test
    void epochOutsideTheRunIsRefused() {
        for (Schedule s : Schedule.values()) {
            assertThrows(IllegalArgumentException.class, () -> s.factor(-1, 5));
            assertThrows(IllegalArgumentException.class, () -> s.factor(5, 5));
            assertThrows(IllegalArgumentException.class, () -> s.factor(0, 0));
        }
    }

    @Test
    void parseNamesTheOptionAndTheChoices() {
        assertEquals(Schedule.COSINE, Schedule.parse("--lr-schedule", "cosine", Schedule.LEARNING_RATE));
        assertEquals(Schedule.WARMUP, Schedule.parse("--rho-schedule", "warmup", Schedule.RHO));
        ConfigException foo = assertThrows(ConfigException.class, () -> Schedule.parse("--lr-schedule", "foo", Schedule.LEARNING_RATE));
        assertTrue(foo.getMessage().startsWith("--lr-schedule: ") && foo.getMessage().contains("'foo'")
                && foo.getMessage().contains("constant, cosine or step"), foo.getMessage());
        // each option takes its own schedules only
        assertThrows(ConfigException.class, () -> Schedule.parse("--lr-schedule", "warmup", Schedule.LEARNING_RATE));
        ConfigException step = assertThrows(ConfigException.class, () -> Schedule.parse("--rho-schedule", "step", Schedule.RHO));
        assertTrue(step.getMessage().startsWith("--rho-schedule: "), step.getMessage());
        assertThrows(ConfigException.class, () -> Schedule.parse("--lr-schedule", "Cosine", Schedule.LEARNING_RATE));
        assertThrows(ConfigException.class, () -> new Schedules(Schedule.WARMUP, Schedule.CONSTANT));
        assertThrows(ConfigException.class, () -> new Schedules(Schedule.CONSTANT, Schedule.STEP));
        assertEquals(Map.of("lr_schedule", "step", "rho_schedule", "warmup"), new Schedules(Schedule.STEP, Schedule.WARMUP).toMap());
    }

    // ---------------------------------------------------------------- the rule and the CPU engine

    @Test
    void scaledMultipliesBothLearningRatesAndRhoOnly() {
        RuleConfig r = new RuleConfig(Method.FSAM, 0.05, 1, 0.9, 0.01, 1e-3, true, true, 1e-2, 1e-3, 5, 1e-4);
        assertSame(r, r.scaled(1.0, 1.0), "factors of 1 leave the very rule");
        RuleConfig s = r.scaled(0.5, 0.25);
        assertEquals(new RuleConfig(Method.FSAM, 0.05 * 0.25, 1, 0.9, 0.01, 1e-3, true, true, 1e-2 * 0.5, 1e-3 * 0.5, 5, 1e-4), s);
        assertEquals(r.lrTheta() * 0.1, r.scaled(0.1, 1.0).lrTheta());
        assertEquals(r.rho(), r.scaled(0.1, 1.0).rho());
    }

    /** Steps of an engine given factors equal those of an engine made with the scaled rule, bit for bit; factors do not compound. */
    @Test
    void engineFactorsActAsTheScaledRule() {
        RuleConfig[] rules = {fx.rule, new RuleConfig(Method.SAM, 0.1, 1, 0.9, 0.01, 0, false, true, 2e-2, 1e-3, 5, 1e-3)};
        float[] p = Fixtures.randomParams(fx.model, 2, 11);
        double[] lr = {0.3, 0.01}, rho = {0.5, 0.2};
        RuleConfig[] scaled = {rules[0].scaled(lr[0], rho[0]), rules[1].scaled(lr[1], rho[1])};
        try (CpuTrainingEngine a = new CpuTrainingEngine(new CpuOdeBackend(fx.model, 2), fx.train, rules, p);
             CpuTrainingEngine b = new CpuTrainingEngine(new CpuOdeBackend(fx.model, 2), fx.train, scaled, p);
             CpuTrainingEngine c = new CpuTrainingEngine(new CpuOdeBackend(fx.model, 2), fx.train, rules, p)) {
            a.scheduleFactors(lr, rho);
            a.scheduleFactors(lr, rho);  // relative to the given rules: twice is once
            int[] batch = {0, 3, 5, 7, 1, 2, 9, 4};
            for (int t = 0; t < 4; t++) {
                assertArrayEquals(b.step(batch, 4), a.step(batch, 4));
                c.step(batch, 4);
            }
            assertArrayEquals(b.state().params(), a.state().params());
            assertArrayEquals(b.state().adamM(), a.state().adamM());
            assertNotEquals(Arrays.toString(c.state().params()), Arrays.toString(a.state().params()), "the factors changed the steps");
            // back to 1: the given rules again
            a.scheduleFactors(new double[]{1, 1}, new double[]{1, 1});
            c.load(a.state());
            assertArrayEquals(c.step(batch, 4), a.step(batch, 4));
            assertArrayEquals(c.state().params(), a.state().params());
            assertThrows(IllegalArgumentException.class, () -> a.scheduleFactors(new double[]{1}, new double[]{1}));
            assertThrows(IllegalArgumentException.class, () -> a.scheduleFactors(new double[]{0, 1}, new double[]{1, 1}));
            assertThrows(IllegalArgumentException.class, () -> a.scheduleFactors(new double[]{1, 1}, new double[]{Double.NaN, 1}));
        }
    }

    private Trainer.Plan plan(int epochs, Schedules... schedules) {
        Trainer.Plan p = fx.plan(epochs);
        return new Trainer.Plan(p.train(), p.valid(), p.test(), p.thetaSpec(), p.thetaStar(), p.thetaMn(), p.epochs(),
                p.batchSize(), p.patience(), p.seeds(), false, schedules.length == 0 ? null : schedules);
    }

    private static final Schedules COSINE_WARMUP = new Schedules(Schedule.COSINE, Schedule.WARMUP);

    /** The trainer hands the engine each epoch's factors before the epoch's first step. */
    @Test
    void trainerSetsTheFactorsAtTheStartOfEveryEpoch() {
        List<String> calls = new ArrayList<>();
        try (CpuTrainingEngine inner = fx.engine()) {
            TrainingEngine watched = new TrainerTest.Delegating(inner) {
                int steps;

                @Override
                public void scheduleFactors(double[] lr, double[] rho) {
                    calls.add(steps + ":" + lr[0] + "," + rho[0]);
                    super.scheduleFactors(lr, rho);
                }

                @Override
                public void advance(int[] batch, int B) {
                    steps++;
                    super.advance(batch, B);
                }
            };
            new Trainer(watched, plan(8, COSINE_WARMUP), null, Progress.NONE).run(null);
        }
        // 20 training sequences, batch 6: 4 steps per epoch
        List<String> want = new ArrayList<>();
        for (int e = 0; e < 8; e++) want.add(4 * e + ":" + Schedule.COSINE.factor(e, 8) + "," + Schedule.WARMUP.factor(e, 8));
        assertEquals(want, calls);
    }

    @Test
    void scheduledRunDiffersAndConstantSchedulesChangeNothing() {
        List<Map<String, Object>> none, constant, scheduled;
        try (CpuTrainingEngine e = fx.engine()) {
            none = new Trainer(e, plan(5), null, Progress.NONE).run(null);
        }
        try (CpuTrainingEngine e = fx.engine()) {
            constant = new Trainer(e, plan(5, Schedules.CONSTANT), null, Progress.NONE).run(null);
        }
        try (CpuTrainingEngine e = fx.engine()) {
            scheduled = new Trainer(e, plan(5, new Schedules(Schedule.COSINE, Schedule.CONSTANT)), null, Progress.NONE).run(null);
        }
        assertEquals(Json.write(none.get(0).get("history")), Json.write(constant.get(0).get("history")));
        assertEquals(Json.write(none.get(0).get("final")), Json.write(constant.get(0).get("final")));
        @SuppressWarnings("unchecked") List<Map<String, Object>> h0 = (List<Map<String, Object>>) none.get(0).get("history"),
                h1 = (List<Map<String, Object>>) scheduled.get(0).get("history");
        // epoch 1 runs at factor 1 in both; from epoch 2 on the cosine's smaller steps show
        assertEquals(Json.write(h0.get(0)), Json.write(h1.get(0)));
        for (int e = 1; e < 5; e++) assertNotEquals(Json.write(h0.get(e).get("theta")), Json.write(h1.get(e).get("theta")), "epoch " + (e + 1));
    }

    /** A crash in epoch 3 of a scheduled run, then a resume from its checkpoint: bit for bit the uninterrupted run. */
    @Test
    void resumedScheduledRunEndsBitForBitAsAnUninterruptedOne(@TempDir Path a, @TempDir Path b) {
        Trainer.Plan plan = plan(6, COSINE_WARMUP);
        List<Map<String, Object>> full;
        try (CpuTrainingEngine e = fx.engine()) {
            full = new Trainer(e, plan, a, Progress.NONE).run(null);
        }
        Progress crashAtEpoch3 = new Progress() {
            public void step(int epoch, int step, int steps, double loss) {
                if (epoch == 3 && step == 2) throw new TrainerTest.Crash();
            }
        };
        try (CpuTrainingEngine e = fx.engine()) {
            assertThrows(TrainerTest.Crash.class, () -> new Trainer(e, plan, b, crashAtEpoch3).run(null));
        }
        Checkpoint c = Checkpoint.read(b);
        assertEquals(2, c.epochsDone());
        List<Map<String, Object>> resumed;
        try (CpuTrainingEngine e = fx.engine()) {
            resumed = new Trainer(e, plan, b, Progress.NONE).run(c);
        }
        assertEquals(Json.write(full.get(0).get("history")), Json.write(resumed.get(0).get("history")));
        assertEquals(Json.write(full.get(0).get("final")), Json.write(resumed.get(0).get("final")));
        assertArrayEquals(Checkpoint.read(a).state().params(), Checkpoint.read(b).state().params());
        // and the schedule mattered: an unscheduled run ends elsewhere
        try (CpuTrainingEngine e = fx.engine()) {
            List<Map<String, Object>> plain = new Trainer(e, plan(6), null, Progress.NONE).run(null);
            assertNotEquals(Json.write(plain.get(0).get("final")), Json.write(full.get(0).get("final")));
        }
    }

    /** An engine that does not override scheduleFactors takes factors of 1 and refuses others. */
    @Test
    void engineWithoutSchedulesRefusesFactorsOtherThanOne() {
        try (CpuTrainingEngine inner = fx.engine()) {
            TrainingEngine bare = new Bare(inner);
            bare.scheduleFactors(new double[]{1}, new double[]{1});
            assertThrows(UnsupportedOperationException.class, () -> bare.scheduleFactors(new double[]{0.5}, new double[]{1}));
            assertThrows(UnsupportedOperationException.class, () -> bare.scheduleFactors(new double[]{1}, new double[]{0.5}));
            assertThrows(UnsupportedOperationException.class,
                    () -> new Trainer(bare, plan(3, COSINE_WARMUP), null, Progress.NONE).run(null));
            // constant schedules run on it
            new Trainer(bare, plan(2, Schedules.CONSTANT), null, Progress.NONE).run(null);
        }
    }

    /** Implements only what TrainingEngine requires. */
    private record Bare(CpuTrainingEngine inner) implements TrainingEngine {
        public String describe() {
            return "bare";
        }

        public int replicas() {
            return 1;
        }

        public double[] step(int[] batch, int B) {
            return inner.step(batch, B);
        }

        public void advance(int[] batch, int B) {
            inner.advance(batch, B);
        }

        public LossTally drainLosses() {
            return inner.drainLosses();
        }

        public OptimizerState state() {
            return inner.state();
        }

        public void load(OptimizerState s) {
            inner.load(s);
        }

        public Metrics evaluate(float[] p, int r, Split s) {
            return inner.evaluate(p, r, s);
        }

        public double mse(float[] p, int r, Split s) {
            return inner.mse(p, r, s);
        }

        public void close() {
        }
    }

    private static double[] factors(Schedule s, int E) {
        double[] f = new double[E];
        for (int e = 0; e < E; e++) f[e] = s.factor(e, E);
        return f;
    }

    private static double[] ones(int n) {
        double[] f = new double[n];
        Arrays.fill(f, 1);
        return f;
    }
}
