package hybridsam.cuda;

import hybridsam.model.ScientificModel;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Full training steps of every rule on the emulated device against CpuTrainingEngine. */
class EmulatedTrainingEngineTest extends EmulatedDeviceTests {
    static Stream<Arguments> rules() {
        return Stream.of(
                Arguments.of(Method.ERM, false, false),
                Arguments.of(Method.L2, false, false),
                Arguments.of(Method.SAM, false, false),
                Arguments.of(Method.ASAM, false, false),
                Arguments.of(Method.FSAM, false, false),
                Arguments.of(Method.SAM, true, false),
                Arguments.of(Method.FSAM, true, true),
                Arguments.of(Method.ASAM, false, true));
    }

    @ParameterizedTest(name = "{0} perturbAll={1} thetaClean={2}")
    @MethodSource("rules")
    void stepMatchesCpuEngine(Method m, boolean all, boolean clean) {
        ScientificModel sci = m.ordinal() % 2 == 0 ? new PendulumModel() : new DuffingModel();
        RuleConfig[] rules = {KernelChecks.rule(m, all, clean, m == Method.FSAM ? 1e-2 : 0)};
        KernelChecks.Check c = KernelChecks.engine(dev, sci, rules, 5, 6, new int[]{8, 8}, 3, System.nanoTime());
        assertTrue(c.passed(), c::toString);
    }

    /** Both gradient kernels inside the engine's captured step, with mixed rules over replicas. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(StepKernels.Rollout.class)
    void bothRolloutsMatchCpuEngine(StepKernels.Rollout rollout) {
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.SAM, true, false, 0),
                KernelChecks.rule(Method.ERM, false, false, 0)};
        KernelChecks.Check c = KernelChecks.engine(dev, rollout, new PendulumModel(), rules, 11, 5, new int[]{20, 12}, 2,
                System.nanoTime());
        assertTrue(c.passed(), c::toString);
    }

    @Test
    void mixedReplicasMatchCpuEngine() {
        RuleConfig[] rules = {
                KernelChecks.rule(Method.ERM, false, false, 0), KernelChecks.rule(Method.L2, false, false, 0),
                KernelChecks.rule(Method.SAM, false, false, 0), KernelChecks.rule(Method.ASAM, true, false, 0),
                KernelChecks.rule(Method.FSAM, false, true, 1e-2)};
        KernelChecks.Check c = KernelChecks.engine(dev, new DuffingModel(), rules, 5, 6, new int[]{8, 8}, 3, System.nanoTime());
        assertTrue(c.passed(), c::toString);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void advanceThenDrainMatchesCpuTally(ScientificModel sci) {
        KernelChecks.Check c = KernelChecks.engineTally(dev, sci, System.nanoTime());
        assertTrue(c.passed(), c::toString);
    }

    static Stream<ScientificModel> models() {
        return Stream.of(new PendulumModel(), new DuffingModel());
    }

    /** Per-epoch learning-rate and rho schedules, replicas on different ones: the rule table rewritten between epochs. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void scheduledEpochsMatchCpuEngine(ScientificModel sci) {
        KernelChecks.Check c = KernelChecks.scheduledEngine(dev, sci, System.nanoTime());
        assertTrue(c.passed(), c::toString);
    }

    @Test
    void eachBatchSizeIsCapturedOnce() {
        int before = liveBuffers();
        KernelChecks.Check c = KernelChecks.graphCache(dev, System.nanoTime());
        assertTrue(c.passed(), c::toString);
        assertEquals(before, liveBuffers());
    }

    @Test
    void drainWithoutStepsIsEmpty() {
        RuleConfig[] rules = {KernelChecks.rule(Method.SAM, false, false, 0), KernelChecks.rule(Method.ERM, false, false, 0)};
        var m = KernelChecks.hybrid(new PendulumModel(), hybridsam.model.Activation.TANH, 1, 4);
        var rng = new java.util.SplittableRandom(3);
        var data = KernelChecks.randomSequences(6, 4, rng);
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, KernelChecks.randomParams(m, 2, rng))) {
            var t = e.drainLosses();
            assertEquals(0, t.steps());
            assertTrue(java.util.Arrays.equals(new double[2], t.sums()));
            assertTrue(java.util.Arrays.equals(new int[2], t.firstNonFinite()));
            e.step(KernelChecks.randomBatch(2, 3, 6, rng), 3);
            assertEquals(0, e.drainLosses().steps(), "step() does not tally, as on the CPU engine");
            e.advance(KernelChecks.randomBatch(2, 3, 6, rng), 3);
            e.advance(KernelChecks.randomBatch(2, 2, 6, rng), 2);
            assertEquals(2, e.drainLosses().steps());
            assertEquals(0, e.drainLosses().steps());
            assertEquals(2, e.graphsCaptured());
        }
    }

    @Test
    void engineReleasesItsBuffers() {
        int before = liveBuffers();
        KernelChecks.engine(dev, new PendulumModel(), new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 0)},
                3, 4, new int[]{4}, 2, 1);
        assertEquals(before, liveBuffers());
    }

    /** K replicas in one engine against the same K runs each in an engine of its own, on the emulated device. */
    @Test
    void replicasMatchSeparateRuns() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(System.nanoTime());
        hybridsam.model.OdeHybrid m = new hybridsam.model.OdeHybrid(new PendulumModel(),
                new hybridsam.model.MlpShape(new int[]{2, 8, 8, 2}, hybridsam.model.Activation.TANH), 0.1, 2);
        int P = m.parameterCount(), B = 5, K = 3;
        hybridsam.model.Sequences data = KernelChecks.randomSequences(9, 6, rng);
        float[] p = KernelChecks.randomParams(m, K, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.ERM, false, false, 0),
                KernelChecks.rule(Method.ASAM, false, true, 0)};
        int[][] batches = new int[3][];
        for (int t = 0; t < 3; t++) batches[t] = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] together;
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p)) {
            for (int[] b : batches) e.step(b, B);
            together = e.state().params();
        }
        for (int r = 0; r < K; r++) {
            try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, new RuleConfig[]{rules[r]},
                    java.util.Arrays.copyOfRange(p, r * P, (r + 1) * P))) {
                for (int[] b : batches) e.step(java.util.Arrays.copyOfRange(b, r * B, (r + 1) * B), B);
                float[] alone = e.state().params();
                for (int i = 0; i < P; i++) {
                    float a = together[r * P + i], s = alone[i];
                    org.junit.jupiter.api.Assertions.assertEquals(s, a, 1e-5f + 1e-4f * Math.abs(s), "replica " + r + " parameter " + i);
                }
            }
        }
    }
}
