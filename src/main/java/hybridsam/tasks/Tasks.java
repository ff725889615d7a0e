package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.ScientificModel;
import hybridsam.tasks.data.DuffingData;
import hybridsam.tasks.data.OdeDataSettings;
import hybridsam.tasks.data.PendulumData;
import hybridsam.train.ConfigException;

import java.util.List;

/** The tasks this build provides. */
public final class Tasks {
    private Tasks() {
    }

    /** Tasks of the paper that later releases add; named so an unknown-task error can say so. */
    public static final List<String> PLANNED = List.of("pendulum-images", "reaction-diffusion", "wind-tunnel", "light-tunnel");

    public static final Task PENDULUM = new Task() {
        private final PendulumModel model = new PendulumModel();

        public String name() {
            return "pendulum";
        }

        public String summary() {
            return "damped pendulum time series; science q'=p, p'=-theta sin q, theta = omega0^2; the network supplies friction";
        }

        public ScientificModel science() {
            return model;
        }

        public double[] thetaStar() {
            return PendulumData.THETA_STAR.clone();
        }

        public TaskDefaults defaults() {
            // ρ tuned on the full preset (README, "Results"): sam 0.1, asam 1.0, fsam 0.05
            return new TaskDefaults(160, 64, 1e-2, 1e-3, 5.0, 0.1, 1.0, 0.05, 1e-3,
                    new int[]{64, 64}, Activation.TANH, 0.1);
        }

        public Dataset generate(String preset, long seed) {
            return PendulumData.generate(preset, OdeDataSettings.preset(preset), seed);
        }
    };

    public static final Task DUFFING = new Task() {
        private final DuffingModel model = new DuffingModel();

        public String name() {
            return "duffing";
        }

        public String summary() {
            return "Duffing oscillator; science x'=v, v'=-alpha x - beta x^3 (undamped); the network supplies damping";
        }

        public ScientificModel science() {
            return model;
        }

        public double[] thetaStar() {
            return DuffingData.THETA_STAR.clone();
        }

        public TaskDefaults defaults() {
            // ρ tuned on the full preset (README, "Results"): sam 0.05, asam 0.5, fsam 0.05
            return new TaskDefaults(160, 64, 1e-2, 1e-3, 5.0, 0.05, 0.5, 0.05, 1e-3,
                    new int[]{64, 64}, Activation.TANH, 0.1);
        }

        public Dataset generate(String preset, long seed) {
            return DuffingData.generate(preset, OdeDataSettings.preset(preset), seed);
        }
    };

    public static final List<Task> ALL = List.of(PENDULUM, DUFFING);

    public static Task byName(String name) {
        for (Task t : ALL) if (t.name().equals(name)) return t;
        String hint = PLANNED.contains(name) ? " ('" + name + "' is planned but not in this release)" : "";
        throw new ConfigException("--task: unknown task '" + name + "'" + hint + "; available: "
                + String.join(", ", ALL.stream().map(Task::name).toList()));
    }
}
