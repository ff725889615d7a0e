package hybridsam.tasks;

import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.io.Dataset;
import hybridsam.model.Hybrid;
import hybridsam.train.Method;
import hybridsam.train.Progress;
import hybridsam.train.RuleConfig;
import hybridsam.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end: the small preset trained through CpuTrainingEngine and Trainer with the task's defaults. */
class LightTunnelTrainingTest {

    @Test
    void smallPresetTrainsAndTheSensorMatrixTurnsTowardsSStar() {
        LightTunnelTask task = LightTunnelTask.INSTANCE;
        Dataset data = task.generate("small", 1);
        ComposedTask.Splits s = task.splits(data, null);
        TaskDefaults d = task.defaults();
        Hybrid model = task.model(s, d.hidden(), d.activation());
        float[] p = new float[model.parameterCount()];  // u = 0: every S entry 1.5, the middle of its box
        model.initializeNetworks(p, 0, new SplittableRandom(7));
        double cos0 = LightTunnelModel.cosine(model.physicalTheta(p, 0), LightTunnelModel.S_STAR);
        RuleConfig rule = new RuleConfig(Method.SAM, d.rho(Method.SAM), RuleConfig.DEFAULT_SIGMA, RuleConfig.DEFAULT_LAMBDA,
                RuleConfig.DEFAULT_ETA, 0, false, false, d.lrTheta(), d.lrNn(), d.clip(), 0);
        int epochs = d.epochs();
        Trainer.Plan plan = new Trainer.Plan(s.train(), s.valid(), s.test(), model.thetaSpec(), task.thetaStar(), null,
                epochs, d.batchSize(), 0, new long[] {7});
        Map<String, Object> r;
        long t0 = System.nanoTime();
        try (CpuTrainingEngine e = new CpuTrainingEngine(task.cpu(model, 2), s.train(), new RuleConfig[] {rule}, p)) {
            r = new Trainer(e, plan, null, Progress.NONE).run(null).get(0);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> history = (List<Map<String, Object>>) r.get("history");
        double first = ((Number) history.get(0).get("train_loss")).doubleValue();
        double last = ((Number) history.get(history.size() - 1).get("train_loss")).doubleValue();
        @SuppressWarnings("unchecked")
        Map<String, Object> fin = (Map<String, Object>) r.get("final");
        double[] theta = (double[]) fin.get("theta");
        double cos = LightTunnelModel.cosine(theta, LightTunnelModel.S_STAR);
        System.out.printf("light-tunnel small, sam, %d epochs in %.1f s: train loss %.5f -> %.5f, test mse %.5f"
                        + " (science only %.5f), network share %.3f, cosine(S, S*) %.4f -> %.4f, S = %s%n",
                epochs, seconds, first, last, fin.get("test_mse"), fin.get("test_mse_science_only"), fin.get("network_share"),
                cos0, cos, java.util.Arrays.toString(theta));
        assertTrue(last < 0.5 * first, "loss falls: " + first + " -> " + last);
        assertTrue(cos > cos0 + 0.1 && cos > 0.9, "S turns towards S*: cosine " + cos0 + " -> " + cos);
    }
}
