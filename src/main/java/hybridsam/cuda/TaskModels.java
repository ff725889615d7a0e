package hybridsam.cuda;

import hybridsam.cpu.CpuBackend;
import hybridsam.model.Hybrid;
import hybridsam.tasks.LightTunnelBackend;
import hybridsam.tasks.LightTunnelHybrid;
import hybridsam.tasks.LightTunnelModel;
import hybridsam.tasks.LightTunnelSplit;
import hybridsam.tasks.WindTunnelBackend;
import hybridsam.tasks.WindTunnelHybrid;
import hybridsam.tasks.WindTunnelModel;
import hybridsam.tasks.WindTunnelSplit;

/**
 * The tasks' hybrids as the device programs read them: the light tunnel's as a {@link LightHybrid},
 * the wind tunnel's as a {@link WindHybrid}, every constant and the mask taken from the task's own
 * classes (so that there is one source for each), and the tasks' CPU backends for evaluation.
 */
final class TaskModels {
    private TaskModels() {
    }

    /** The device program's model of a task's hybrid; null for a hybrid no program runs. */
    static Hybrid onDevice(Hybrid model) {
        if (model instanceof LightTunnelHybrid h) return light(h);
        if (model instanceof WindTunnelHybrid h) return wind(h);
        return null;
    }

    /** The task's CPU backend of a hybrid {@link #onDevice} translates; null for others. */
    static CpuBackend cpu(Hybrid model, int threads) {
        if (model instanceof LightTunnelHybrid h) return new LightTunnelBackend(h, threads);
        if (model instanceof WindTunnelHybrid h) return new WindTunnelBackend(h, threads);
        return null;
    }

    static LightHybrid light(LightTunnelHybrid h) {
        double[] colour = new double[3];
        for (int c = 0; c < 3; c++) colour[c] = LightTunnelModel.EXPOSURE * LightTunnelModel.W[c] / 255.0;
        double a = 1.0 / LightTunnelHybrid.ANGLE_SCALE;
        return new LightHybrid(h.thetaSpec(), h.net(), LightTunnelModel.hexagonMask(h.height(), h.width()), colour,
                new double[]{1.0 / 255, 1.0 / 255, 1.0 / 255, a, a}, new double[LightHybrid.INPUTS], split -> {
                    if (split instanceof LightHybrid.Samples already) return already;
                    if (!(split instanceof LightTunnelSplit s)) {
                        throw new IllegalArgumentException("light-tunnel trains on a LightTunnelSplit, not " + split.getClass().getSimpleName());
                    }
                    if (s.height() != h.height() || s.width() != h.width()) {
                        throw new IllegalArgumentException("the data's images are " + s.height() + "x" + s.width() + ", the model's "
                                + h.height() + "x" + h.width());
                    }
                    return new LightHybrid.Samples(s.inputs(), s.images(), s.count());
                });
    }

    static WindHybrid wind(WindTunnelHybrid h) {
        WindHybrid.Constants c = new WindHybrid.Constants(WindTunnelModel.OMEGA_MAX, WindTunnelModel.S_MAX, WindTunnelModel.HATCH_MAX,
                WindTunnelModel.LOAD_MIN, WindTunnelModel.C_MAX - WindTunnelModel.C_MIN, WindTunnelHybrid.FAN_SCALE,
                WindTunnelHybrid.PRESSURE_SCALE);
        return new WindHybrid(h.thetaSpec(), h.fan(), h.pressure(), c, WindTunnelHybrid.SUBSTEPS, split -> {
            if (split instanceof WindHybrid.Samples already) return already;
            if (!(split instanceof WindTunnelSplit s)) {
                throw new IllegalArgumentException("wind-tunnel trains on a WindTunnelSplit, not " + split.getClass().getSimpleName());
            }
            return new WindHybrid.Samples(s.obs(), s.inputs(), s.times(), s.sequences(), s.frames());
        });
    }
}
