package hybridsam.cli;

import hybridsam.cpu.CpuNestedBackend;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.cuda.CudaTrainingEngine;
import hybridsam.cuda.KernelChecks;
import hybridsam.cuda.NestedChecks;
import hybridsam.cuda.NnEngine;
import hybridsam.cuda.StandInSuites;
import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.OptimizerState;
import hybridsam.train.RuleConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nested hybrid (pendulum-images) on the CUDA stand-ins against the CPU: a few fsam and erm
 * steps of CudaTrainingEngine.onGpu (encoder and decoder on the project's GEMM kernels, and on
 * cuBLAS) agree with CpuTrainingEngine over CpuNestedBackend — losses, θ and the networks — to
 * float32 rounding, through the engine API; {@link CliComposedStandInTest} runs the same through
 * `train --task pendulum-images --device cuda --nn-engine kernels|cublas`.
 */
class CliNestedStandInTest {
    private static final double THETA_REL = 2e-5;

    @ParameterizedTest
    @EnumSource(value = NnEngine.class, names = {"KERNELS", "CUBLAS"})
    void stepsOnTheDeviceMatchTheCpu(NnEngine engine) {
        StandInSuites.assume();
        SplittableRandom rng = new SplittableRandom(23);
        OdeHybrid ode = new OdeHybrid(new PendulumModel(), new MlpShape(new int[]{2, 16, 16, 2}, Activation.TANH), 0.05, 2);
        NestedHybrid m = NestedHybrid.mlp(ode, 6, 5, Activation.TANH);
        ImageSequences data = NestedChecks.randomImages(m, 9, 6, rng);
        RuleConfig[] rules = {KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.ERM, false, false, 0)};
        int K = rules.length, B = 4, P = m.parameterCount();
        float[] p = NestedChecks.randomParams(m, K, rng);
        try (CpuNestedBackend probe = new CpuNestedBackend(m, 1)) {
            probe.lossAndGradient(K, p, data, new int[K * B], B, new float[K * P], new double[K]);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("CpuNestedBackend not implemented on this branch: " + e.getMessage());
        }
        double worstLoss = 0, worstTheta = 0, worstAll = 0, scale = 0;
        try (CudaTrainingEngine gpu = CudaTrainingEngine.onGpu(0, m, data, rules, p, engine, new CpuNestedBackend(m, 1));
             CpuTrainingEngine cpu = new CpuTrainingEngine(new CpuNestedBackend(m, 2), data, rules, p)) {
            for (int t = 0; t < 4; t++) {
                int[] batch = new int[K * B];
                for (int i = 0; i < batch.length; i++) batch[i] = rng.nextInt(data.count());
                double[] lg = gpu.step(batch, B), lc = cpu.step(batch, B);
                for (int r = 0; r < K; r++) worstLoss = Math.max(worstLoss, Math.abs(lg[r] - lc[r]) / lc[r]);
            }
            OptimizerState a = gpu.state(), b = cpu.state();
            for (int r = 0; r < K; r++) {
                double[] ta = m.thetaSpec().physical(a.params(), r * P), tb = m.thetaSpec().physical(b.params(), r * P);
                for (int i = 0; i < ta.length; i++) worstTheta = Math.max(worstTheta, Math.abs(ta[i] - tb[i]) / Math.abs(tb[i]));
            }
            for (int i = 0; i < a.params().length; i++) {
                worstAll = Math.max(worstAll, Math.abs(a.params()[i] - b.params()[i]));
                scale = Math.max(scale, Math.abs(b.params()[i]));
            }
            assertEquals(b.step(), a.step());
        }
        System.out.printf("nested %s stand-in vs cpu: loss rel %.2e, theta rel %.2e, params max abs %.2e (scale %.2e)%n",
                engine.id(), worstLoss, worstTheta, worstAll, scale);
        assertTrue(worstLoss < 1e-4, "loss rel " + worstLoss);
        assertTrue(worstTheta < THETA_REL, "theta rel " + worstTheta);
        assertTrue(worstAll < 1e-3 * scale, "params off by " + worstAll);
    }
}
