package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.tasks.data.DuffingData;
import hybridsam.tasks.data.OdeDataSettings;
import hybridsam.tasks.data.PendulumData;
import hybridsam.io.ConfigException;

import java.util.List;
import java.util.Map;

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

    /**
     * Checks that a loaded data set's manifest is for this task, before anything else about it:
     * the recorded "task" (or, without one, "theta_names") must be this task's, and "theta_star"
     * and "theta_mn", where present, must have one value per θ. The first disagreement is a
     * {@link DataException} naming the manifest, the field and both tasks, e.g. "this data set is
     * for duffing, not pendulum".
     *
     * @param where the manifest's path, for messages
     */
    public static void checkData(Task task, Map<String, Object> manifest, String where) {
        Object recorded = manifest.get("task");
        List<String> names = task.science().theta().names();
        if (recorded != null) {
            if (!(recorded instanceof String other)) {
                throw new DataException(where + ": field \"task\" should be a task name (a string), is " + recorded);
            }
            if (!other.equals(task.name())) {
                boolean known = ALL.stream().anyMatch(t -> t.name().equals(other));
                throw new DataException(where + ": this data set is for " + other + ", not " + task.name()
                        + " (field \"task\"); " + (known ? "train it with --task " + other + ", or give --data a "
                        + task.name() + " data set" : "this release has no task '" + other + "'; give --data a "
                        + task.name() + " data set"));
            }
        } else if (manifest.get("theta_names") instanceof List<?> given && !given.equals(names)) {
            throw new DataException(where + ": this data set's theta_names " + given + " are not " + task.name()
                    + "'s " + names + " (field \"theta_names\"); is it for another task?");
        }
        for (String key : new String[] {"theta_star", "theta_mn"}) {
            if (manifest.get(key) instanceof List<?> values && values.size() != names.size()) {
                throw new DataException(where + ": field \"" + key + "\" has " + values.size() + " value"
                        + (values.size() == 1 ? "" : "s") + " but " + task.name() + "'s θ has " + names.size()
                        + " " + names);
            }
        }
    }

    /**
     * RK4 steps between two frames, frameDt / rk4Step, refused (naming frame_dt and --rk4-step)
     * unless frameDt is positive and finite and the ratio is a whole number from 1 to
     * {@link OdeHybrid#MAX_STEPS_PER_FRAME}: a larger one makes the rollout's arrays overflow, and
     * casting it to int would silently saturate.
     *
     * @param frameDtWhere where frame_dt was read (the manifest's path and field), for messages
     */
    public static int stepsPerFrame(double frameDt, double rk4Step, String frameDtWhere) {
        if (!(frameDt > 0) || !Double.isFinite(frameDt)) {
            throw new DataException(frameDtWhere + ": frame_dt " + frameDt + " should be a positive finite number");
        }
        if (!(rk4Step > 0) || !Double.isFinite(rk4Step)) {
            throw new ConfigException("--rk4-step must be > 0 (got " + rk4Step + ")");
        }
        double ratio = frameDt / rk4Step;
        if (ratio > OdeHybrid.MAX_STEPS_PER_FRAME + 0.5) {
            throw new ConfigException("--rk4-step " + rk4Step + ": frames " + frameDt + " apart (frame_dt in "
                    + frameDtWhere + ") would take " + (ratio >= 0x1p63 ? String.valueOf(ratio) : Long.toString(Math.round(ratio)))
                    + " RK4 steps each, more than the " + OdeHybrid.MAX_STEPS_PER_FRAME + " allowed (the rollout's"
                    + " arrays would overflow); use a larger --rk4-step that divides frame_dt");
        }
        if (Math.abs(ratio - Math.rint(ratio)) > 1e-6 || Math.rint(ratio) < 1) {
            throw new DataException(frameDtWhere + ": frame_dt " + frameDt + " is not a positive multiple of the RK4 step "
                    + rk4Step + " (set --rk4-step)");
        }
        return (int) Math.rint(ratio);
    }
}
