package hybridsam.cuda;

import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.Split;
import hybridsam.tasks.LightTunnelBackend;
import hybridsam.tasks.LightTunnelHybrid;
import hybridsam.tasks.LightTunnelSplit;
import hybridsam.tasks.WindTunnelBackend;
import hybridsam.tasks.WindTunnelHybrid;
import hybridsam.tasks.WindTunnelSplit;
import hybridsam.train.Method;
import hybridsam.train.OptimizerState;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tasks' own hybrids (LightTunnelHybrid, WindTunnelHybrid) on the emulated device: chosen by
 * capability, the device gradient of K = 2 replicas against the task's CPU backend, and captured
 * training steps of the engine against CpuTrainingEngine over the task's backend.
 */
class TasksOnDeviceEmulatedTest extends EmulatedDeviceTests {

    static LightTunnelSplit lightSplit(LightTunnelHybrid h, int n, SplittableRandom rng) {
        LightHybrid.Samples s = LightChecks.randomSamples(TaskModels.light(h), n, rng);
        return new LightTunnelSplit(s.inputs(), s.images(), n, h.height(), h.width());
    }

    static WindTunnelSplit windSplit(int n, int frames, SplittableRandom rng) {
        WindHybrid.Samples s = WindChecks.randomSamples(n, frames, rng);
        return new WindTunnelSplit(s.obs(), s.inputs(), s.times(), n, frames);
    }

    private static void assertClose(String what, int nTheta, int P, float[] g, float[] gCpu) {
        double[] ref = ConvChecks.toDouble(gCpu);
        KernelChecks.Check c = LightChecks.gradientCompare(nTheta, P, g, ref).as(what);
        assertTrue(c.passed(), c::toString);
    }

    @Test
    void lightTunnelGradientMatchesTheTasksCpuBackend() {
        SplittableRandom rng = new SplittableRandom(31);
        LightTunnelHybrid h = new LightTunnelHybrid(7, 6, new int[]{4, 3}, Activation.LEAKY_RELU);
        assertTrue(CudaTrainingEngine.supports(h).isEmpty());
        LightHybrid m = TaskModels.light(h);
        int K = 2, B = 3, P = h.parameterCount();
        LightTunnelSplit split = lightSplit(h, B + 3, rng);
        float[] p = LightChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, split.count(), rng);
        float[] gCpu = new float[K * P], g = new float[K * P];
        double[] lCpu = new double[K], l = new double[K];
        try (LightTunnelBackend cpu = new LightTunnelBackend(h, 2)) {
            cpu.lossAndGradient(K, p, split, batch, B, gCpu, lCpu);
        }
        LightChecks.deviceGradient(dev, ConvChecks.KERNELS, m, p, m.samples().apply(split), batch, B, g, l);
        assertClose("light-tunnel device vs LightTunnelBackend", h.thetaCount(), P, g, gCpu);
        for (int r = 0; r < K; r++) assertEquals(lCpu[r], l[r], 1e-5 * lCpu[r], "loss of replica " + r);
    }

    @Test
    void windTunnelGradientMatchesTheTasksCpuBackend() {
        SplittableRandom rng = new SplittableRandom(37);
        WindTunnelHybrid h = WindTunnelHybrid.of(new int[]{5, 4}, Activation.TANH);
        assertTrue(CudaTrainingEngine.supports(h).isEmpty());
        WindHybrid m = TaskModels.wind(h);
        int K = 2, B = 3, P = h.parameterCount();
        WindTunnelSplit split = windSplit(B + 2, 6, rng);
        float[] p = WindChecks.randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, split.count(), rng);
        float[] gCpu = new float[K * P], g = new float[K * P];
        double[] lCpu = new double[K], l = new double[K];
        try (WindTunnelBackend cpu = new WindTunnelBackend(h, 2)) {
            cpu.lossAndGradient(K, p, split, batch, B, gCpu, lCpu);
        }
        WindChecks.deviceGradient(dev, m, p, m.samples().apply(split), batch, B, g, l);
        assertClose("wind-tunnel device vs WindTunnelBackend", h.thetaCount(), P, g, gCpu);
        for (int r = 0; r < K; r++) assertEquals(lCpu[r], l[r], 1e-4 * lCpu[r], "loss of replica " + r);
    }

    /** Steps of fsam and erm side by side through the engine against the CPU engine over the task's backend. */
    private static void stepsAgainstCpu(Hybrid h, CpuBackend forCpu, CpuBackend evaluator, Split split, float[] p, int B, SplittableRandom rng) {
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.ERM, false, false, 0)};
        int K = rules.length;
        KernelChecks.Compare loss = new KernelChecks.Compare(1e-4, 1e-9), par = new KernelChecks.Compare(1e-3, 2e-5);
        try (CudaTrainingEngine gpu = new CudaTrainingEngine(dev, h, split, rules, p, NnEngine.KERNELS, evaluator);
             CpuTrainingEngine cpu = new CpuTrainingEngine(forCpu, split, rules, p)) {
            for (int t = 0; t < 3; t++) {
                int[] batch = KernelChecks.randomBatch(K, B, split.count(), rng);
                loss.add(gpu.step(batch, B), cpu.step(batch, B));
            }
            OptimizerState a = gpu.state(), b = cpu.state();
            par.add(a.params(), b.params()).add(a.gradAverage(), b.gradAverage()).add(a.adamM(), b.adamM());
            assertEquals(b.step(), a.step());
        }
        KernelChecks.Check l = loss.as("losses"), q = par.as("state");
        assertTrue(l.passed(), l::toString);
        assertTrue(q.passed(), q::toString);
    }

    @Test
    void lightTunnelEngineStepsMatchTheCpuEngine() {
        SplittableRandom rng = new SplittableRandom(41);
        LightTunnelHybrid h = new LightTunnelHybrid(5, 6, new int[]{3}, Activation.LEAKY_RELU);
        LightTunnelSplit split = lightSplit(h, 7, rng);
        float[] p = LightChecks.randomParams(TaskModels.light(h), 2, rng);
        stepsAgainstCpu(h, new LightTunnelBackend(h, 2), null, split, p, 3, rng);
    }

    @Test
    void windTunnelEngineStepsMatchTheCpuEngine() {
        SplittableRandom rng = new SplittableRandom(43);
        WindTunnelHybrid h = WindTunnelHybrid.of(new int[]{4, 4}, Activation.TANH);
        WindTunnelSplit split = windSplit(6, 5, rng);
        float[] p = WindChecks.randomParams(TaskModels.wind(h), 2, rng);
        stepsAgainstCpu(h, new WindTunnelBackend(h, 2), null, split, p, 3, rng);
    }
}
