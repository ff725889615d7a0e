package hybridsam.tasks;

import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.io.Dataset;
import hybridsam.model.Hybrid;
import hybridsam.model.ThetaSpec;
import hybridsam.train.Method;
import hybridsam.train.Progress;
import hybridsam.train.RuleConfig;
import hybridsam.train.Trainer;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training end to end on the small preset: the CPU engine and the trainer drive the wind-tunnel backend. */
class WindTunnelTrainingTest {

    @Test
    void lossFallsAndThetaMovesOnTheSmallPreset() {
        WindTunnelTask task = WindTunnelTask.INSTANCE;
        TaskDefaults d = task.defaults();
        Dataset data = task.generate("small", 1);
        ComposedTask.Splits s = task.splits(data, Path.of("small"));
        Hybrid model = task.model(s, d.hidden(), d.activation());
        ThetaSpec spec = model.thetaSpec();
        double[] star = task.thetaStar();
        double[] init = {star[0] * 2, star[1] * 0.5};
        float[] p = new float[model.parameterCount()];
        for (int i = 0; i < 2; i++) p[i] = (float) spec.toUnconstrained(i, init[i]);
        model.initializeNetworks(p, 0, new SplittableRandom(7));
        RuleConfig rule = new RuleConfig(Method.FSAM, d.rhoFsam(), RuleConfig.DEFAULT_SIGMA, RuleConfig.DEFAULT_LAMBDA,
                RuleConfig.DEFAULT_ETA, 0, false, false, d.lrTheta(), d.lrNn(), d.clip(), 0);
        int epochs = 12;
        Trainer.Plan plan = new Trainer.Plan(s.train(), s.valid(), s.test(), spec, star, null, epochs, d.batchSize(), 0,
                new long[]{7});
        Map<String, Object> r;
        try (CpuTrainingEngine e = new CpuTrainingEngine(task.cpu(model, 2), s.train(), new RuleConfig[]{rule}, p)) {
            r = new Trainer(e, plan, null, Progress.NONE).run(null).get(0);
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> h = (List<Map<String, Object>>) r.get("history");
        assertEquals(epochs, h.size());
        double first = ((Number) h.get(0).get("train_loss")).doubleValue();
        double last = ((Number) h.get(epochs - 1).get("train_loss")).doubleValue();
        @SuppressWarnings("unchecked")
        Map<String, Object> fin = (Map<String, Object>) r.get("final");
        @SuppressWarnings("unchecked")
        double[] theta = (double[]) ((Map<String, Object>) r.get("last_epoch")).get("theta");
        System.out.println("wind-tunnel small, " + epochs + " epochs fsam: train loss " + first + " -> " + last
                + ", theta " + java.util.Arrays.toString(theta) + " from " + java.util.Arrays.toString(init) + ", history " + h + ", final " + fin);
        assertTrue(last < 0.5 * first, "the training loss falls: " + first + " -> " + last);
        double err0 = Trainer.thetaError(init, star);
        double err = ((Number) fin.get("theta_error")).doubleValue();
        assertTrue(err < err0, "θ moves towards θ*: error " + err0 + " -> " + err);
        assertTrue(Double.isFinite((Double) fin.get("test_mse")));
    }
}
