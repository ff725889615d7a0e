package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layer-wise gradient path with KernelDenseOps (hs_gemm) on the emulated device against the CPU reference. */
class LayerwiseEmulatedTest extends EmulatedDeviceTests {
    /** The dense layers under test (the stand-in suites run the same tests through cuBLAS and cuDNN). */
    KernelChecks.DenseFactory dense() {
        return KernelChecks.KERNEL_DENSE;
    }

    private static Stream<DynamicTest> asTests(List<KernelChecks.Check> checks, long seed) {
        return checks.stream().map(c -> DynamicTest.dynamicTest(c.name(),
                () -> assertTrue(c.passed(), () -> c + " (seed " + seed + ")")));
    }

    @TestFactory
    Stream<DynamicTest> gemmMatchesJavaLoop() {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        List<KernelChecks.Check> out = new ArrayList<>();
        out.add(KernelChecks.gemm(dev, 1, 1, 1, 1, rng));
        out.add(KernelChecks.gemm(dev, 3, 17, 33, 5, rng));
        out.add(KernelChecks.gemm(dev, 2, 16, 16, 16, rng));
        out.add(KernelChecks.gemm(dev, 2, 20, 37, 35, rng));
        out.add(KernelChecks.denseLayer(dev, dense(), 3, 12, 20, 37, rng));
        out.add(KernelChecks.denseLayer(dev, dense(), 1, 2, 8, 5, rng));
        out.add(KernelChecks.batchCopy(dev, 3, 300, rng));
        return asTests(out, seed);
    }

    @TestFactory
    Stream<DynamicTest> layerwiseGradientsMatchCpuBackend() {
        long seed = System.nanoTime();
        return asTests(KernelChecks.layerwise(dev, dense(), new SplittableRandom(seed), false), seed);
    }

    @TestFactory
    Stream<DynamicTest> layerwiseStepsMatchCpuEngine() {
        long seed = System.nanoTime();
        List<KernelChecks.Check> out = new ArrayList<>();
        out.add(KernelChecks.layerwiseEngine(dev, dense(), new PendulumModel(),
                new RuleConfig[]{KernelChecks.rule(Method.ERM, false, false, 0)}, 13, 4, new int[]{8, 8}, 3, seed));
        out.add(KernelChecks.layerwiseEngine(dev, dense(), new DuffingModel(),
                new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.ERM, false, false, 0),
                        KernelChecks.rule(Method.SAM, true, true, 0)}, 5, 4, new int[]{20, 12}, 2, seed + 1));
        out.add(KernelChecks.layerwiseEngine(dev, dense(), new PendulumModel(),
                new RuleConfig[]{KernelChecks.rule(Method.FSAM, true, false, 0), KernelChecks.rule(Method.ASAM, false, false, 0)},
                17, 3, new int[]{8, 8}, 3, seed + 2));
        return asTests(out, seed);
    }

    /** Two runs of the layer-wise gradient give the same bits (fixed-order sums, no atomics). */
    @Test
    void layerwiseGradientIsDeterministic() {
        SplittableRandom rng = new SplittableRandom(5);
        var m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 1, 20, 12);
        int K = 2, B = 19, frames = 4, P = m.parameterCount();
        var data = KernelChecks.randomSequences(B + 2, frames, rng);
        float[] p = KernelChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[][] g = new float[2][K * P];
        try (DeviceScope s = new DeviceScope(dev)) {
            LayerwiseGradient lw = new LayerwiseGradient(s, m, K, s.own(dense().open(dev)));
            DeviceBuffer dp = s.floats(p.length), obs = s.floats(data.obs().length), db = s.ints(batch.length);
            DeviceBuffer ws = s.floats(LayerwiseGradient.workspaceFloats(m, K, B, frames)), sq = s.doubles((long) K * B);
            DeviceBuffer dg = s.floats((long) K * P);
            dev.upload(dp, p);
            dev.upload(obs, data.obs());
            dev.upload(db, batch);
            for (float[] out : g) {
                lw.gradient(dp, obs, frames, db, B, ws, sq, dg);
                dev.download(dg, out);
            }
        }
        assertArrayEquals(g[0], g[1]);
    }

    @Test
    void layerwiseEngineReleasesItsBuffersAndUsesTheLayerwisePath() {
        int before = liveBuffers();
        var m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 1, 4);
        var rng = new SplittableRandom(3);
        var data = KernelChecks.randomSequences(6, 4, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 0)};
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, KernelChecks.randomParams(m, 1, rng),
                dense().open(dev))) {
            assertTrue(e.layerwise());
            e.advance(KernelChecks.randomBatch(1, 3, 6, rng), 3);
            e.advance(KernelChecks.randomBatch(1, 2, 6, rng), 2);
            assertEquals(2, e.drainLosses().steps());
        }
        assertEquals(before, liveBuffers());
    }
}
