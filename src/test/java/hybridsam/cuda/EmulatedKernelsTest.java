package hybridsam.cuda;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kernel on the emulated device (same .cu sources, same launch code) against the Java reference. */
class EmulatedKernelsTest extends EmulatedDeviceTests {
    @TestFactory
    Stream<DynamicTest> kernelsMatchJavaReference() {
        long seed = System.nanoTime();
        List<KernelChecks.Check> checks = KernelChecks.all(dev, seed, false);
        return checks.stream().map(c -> DynamicTest.dynamicTest(c.name(),
                () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    /** The emulator's table and the kernel index are generated from the same scan of native-kernels/*.cu. */
    @Test
    void everyKernelIsRegistered() {
        assertEquals(KernelNames.all(), dev.kernels());
    }

    @Test
    void fusedPathIsTheDefaultWhereItApplies() {
        var F = StepKernels.Rollout.FUSED;
        var T = StepKernels.Rollout.PER_THREAD;
        var pend = new hybridsam.tasks.PendulumModel();
        for (var a : hybridsam.model.Activation.values()) {
            assertEquals(F, StepKernels.defaultRollout(KernelChecks.hybrid(pend, a, 1, 64, 64)));
        }
        assertEquals(F, StepKernels.defaultRollout(KernelChecks.hybrid(pend, hybridsam.model.Activation.TANH, 1, 128, 1)));
        assertEquals(T, StepKernels.defaultRollout(KernelChecks.hybrid(pend, hybridsam.model.Activation.TANH, 1, 129, 64)));
        assertEquals(T, StepKernels.defaultRollout(KernelChecks.hybrid(pend, hybridsam.model.Activation.TANH, 1, 16)));
        assertEquals(T, StepKernels.defaultRollout(KernelChecks.hybrid(pend, hybridsam.model.Activation.TANH, 1, 8, 8, 8)));
        try (DeviceScope s = new DeviceScope(dev)) {
            var m = KernelChecks.hybrid(pend, hybridsam.model.Activation.TANH, 1, 8, 8, 8);
            assertThrows(IllegalArgumentException.class, () -> new StepKernels(s, m, 1, F));
        }
    }

    /** The fused gradient and loss are the same bit for bit on every run (fixed-order sums, no atomics). */
    @Test
    void fusedGradientIsDeterministic() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        var m = KernelChecks.hybrid(new hybridsam.tasks.DuffingModel(), hybridsam.model.Activation.TANH, 2, 20, 12);
        int K = 2, B = 19, frames = 4, P = m.parameterCount();
        var data = KernelChecks.randomSequences(B + 2, frames, rng);
        float[] p = KernelChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        var F = StepKernels.Rollout.FUSED;
        float[][] g = new float[2][K * P];
        double[][] l = new double[2][K];
        try (DeviceScope s = new DeviceScope(dev)) {
            StepKernels k = new StepKernels(s, m, K, F);
            DeviceBuffer dp = s.floats(p.length), obs = s.floats(data.obs().length), db = s.ints(batch.length);
            DeviceBuffer ws = s.floats(StepKernels.workspaceFloats(F, m, K, B, frames));
            DeviceBuffer gs = s.floats(StepKernels.gradientRowsFloats(F, m, K, B));
            DeviceBuffer sq = s.doubles((long) K * StepKernels.lossRows(F, B)), dg = s.floats(K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(obs, data.obs());
            dev.upload(db, batch);
            for (int run = 0; run < 2; run++) {
                dev.upload(gs, KernelChecks.randomFloats((int) StepKernels.gradientRowsFloats(F, m, K, B), 1, rng));
                k.gradient(dp, obs, frames, db, B, ws, gs, sq, dg);
                k.rolloutLoss(sq, B, frames, dl);
                dev.download(dg, g[run]);
                dev.download(dl, l[run]);
            }
        }
        assertTrue(java.util.Arrays.equals(g[0], g[1]));
        assertTrue(java.util.Arrays.equals(l[0], l[1]));
    }

    @Test
    void argumentListsAreCheckedAgainstTheKernel() {
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer b = s.ints(1);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> dev.launch("hs_step_advance", 1, 1, 1, 1, 1, 1, 0, KernelArgs.of().i(3)));
            assertTrue(e.getMessage().contains("do not match"), e.getMessage());
            assertThrows(IllegalStateException.class,
                    () -> dev.launch("hs_nope", 1, 1, 1, 1, 1, 1, 0, KernelArgs.of().ptr(b)));
        }
    }

    @Test
    void scopeFreesEverythingAndRejectsUseAfterFree() {
        int before = liveBuffers();
        DeviceBuffer kept;
        try (DeviceScope s = new DeviceScope(dev)) {
            s.floats(10);
            kept = s.doubles(3);
            assertEquals(before + 2, liveBuffers());
        }
        assertEquals(before, liveBuffers());
        assertThrows(IllegalStateException.class, kept::address);
    }

    @Test
    void reductionsAreDeterministic() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
        float[] x = KernelChecks.randomFloats(5 * 1000, 1, rng);
        float[] a = new float[5], b = new float[5];
        try (DeviceScope s = new DeviceScope(dev)) {
            StepKernels k = new StepKernels(s, KernelChecks.hybrid(new hybridsam.tasks.PendulumModel(),
                    hybridsam.model.Activation.TANH, 1, 3), 1);
            DeviceBuffer in = s.floats(x.length), out = s.floats(5);
            dev.upload(in, x);
            k.rowSum(in, 1000, out, 5);
            dev.download(out, a);
            k.rowSum(in, 1000, out, 5);
            dev.download(out, b);
        }
        assertTrue(java.util.Arrays.equals(a, b));
    }
}
