package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.Corrector;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.tasks.data.DuffingData;
import hybridsam.tasks.data.OdeDataSettings;
import hybridsam.tasks.data.PendulumData;
import hybridsam.tasks.data.ReactionDiffusionData;
import hybridsam.io.ConfigException;

import java.util.List;
import java.util.Map;

/** The tasks this build provides. */
public final class Tasks {
    private Tasks() {
    }

    /** Tasks of the paper that later releases add; named so an unknown-task error can say so (none left). */
    public static final List<String> PLANNED = List.of();

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
            // ρ tuned on the full preset (README, "Results"): sam 0.1, asam 1.0, fsam 0.05; 320 epochs from
            // the accuracy study (README, "Accuracy"): fsam's median θ error 0.026 at 160, 0.019 at 320
            return new TaskDefaults(320, 64, 1e-2, 1e-3, 5.0, 0.1, 1.0, 0.05, 1e-3,
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
            // ρ tuned on the full preset (README, "Results"): sam 0.05, asam 0.5, fsam 0.05; 480 epochs from
            // the accuracy study (README, "Accuracy"): fsam's median θ error 0.137 at 160, 0.043 at 480
            return new TaskDefaults(480, 64, 1e-2, 1e-3, 5.0, 0.05, 0.5, 0.05, 1e-3,
                    new int[]{64, 64}, Activation.TANH, 0.1);
        }

        public Dataset generate(String preset, long seed) {
            return DuffingData.generate(preset, OdeDataSettings.preset(preset), seed);
        }
    };

    /**
     * FitzHugh–Nagumo on a grid (tasks.md); the scientific model is diffusion alone, the network
     * (a 3 × 3 convolutional net) has to supply the reaction.
     */
    public static final Task REACTION_DIFFUSION = new Task() {
        private final ReactionDiffusionModel nominal = ReactionDiffusionModel.onUnitSquare(32, 32);

        public String name() {
            return ReactionDiffusionData.TASK;
        }

        public String summary() {
            return "FitzHugh-Nagumo on a 2-D grid; science (a Lap U, b Lap V), theta = (a, b); a 3x3 conv net supplies the reaction";
        }

        public ScientificModel science() {
            return nominal;
        }

        @Override
        public ScientificModel science(int[] frame, String where) {
            if (frame.length != 3 || frame[0] != 2 || frame[1] < 2 || frame[2] < 2) {
                throw new DataException(where + ": each frame has shape " + java.util.Arrays.toString(frame) + ", "
                        + name() + " observes [2, height, width] (U and V on a grid of at least 2 x 2)");
            }
            if ((long) frame[1] * frame[2] > 1 << 20) {
                throw new DataException(where + ": a " + frame[1] + " x " + frame[2] + " grid is larger than the "
                        + (1 << 20) + " cells this release handles");
            }
            return ReactionDiffusionModel.onUnitSquare(frame[1], frame[2]);
        }

        @Override
        public Corrector corrector(ScientificModel science, int[] hidden, Activation activation) {
            ReactionDiffusionModel rd = (ReactionDiffusionModel) science;
            int[] ch = new int[hidden.length + 2];
            ch[0] = 2;
            System.arraycopy(hidden, 0, ch, 1, hidden.length);
            ch[ch.length - 1] = 2;
            return new ConvShape(ch, rd.height(), rd.width(), activation);
        }

        public double[] thetaStar() {
            return ReactionDiffusionData.THETA_STAR.clone();
        }

        public TaskDefaults defaults() {
            // hidden = channels of the 3x3 net (tasks.md: 2-16-16-2, leaky ReLU); ρ as the ODE tasks' fsam
            return new TaskDefaults(60, 16, 1e-2, 1e-3, 5.0, 0.05, 0.5, 0.05, 1e-3,
                    new int[]{16, 16}, Activation.LEAKY_RELU, 0.1);
        }

        public Dataset generate(String preset, long seed) {
            return ReactionDiffusionData.generate(preset, seed);
        }
    };

    /** The Causal Chambers' wind tunnel: two fans driven by loads, and the downwind pressure (tasks.md). */
    public static final Task WIND_TUNNEL = WindTunnelTask.INSTANCE;

    /** The Causal Chambers' light tunnel: camera images of an LED through two polarisers (tasks.md). */
    public static final Task LIGHT_TUNNEL = LightTunnelTask.INSTANCE;

    /** The damped pendulum seen through a camera: encoder, pendulum hybrid ODE, decoder (tasks.md). */
    public static final Task PENDULUM_IMAGES = PendulumImagesTask.INSTANCE;

    public static final List<Task> ALL = List.of(PENDULUM, DUFFING, REACTION_DIFFUSION, PENDULUM_IMAGES, WIND_TUNNEL,
            LIGHT_TUNNEL);

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
        List<String> names = task.theta().names();
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
     * The frame spacing a data set's manifest records: "frame_dt" under "generator" (as the
     * generators write it), else at the top level (as a user's own manifest may); a missing or
     * non-numeric one is a {@link DataException} naming where and the field.
     *
     * @param where the manifest's path, for messages
     */
    public static double frameDt(Map<String, Object> manifest, String where) {
        if (manifest.get("generator") instanceof Map<?, ?> g && g.containsKey("frame_dt")) {
            @SuppressWarnings("unchecked") Map<String, Object> gen = (Map<String, Object>) g;
            return hybridsam.io.Json.number(gen, "frame_dt", where + " (generator)");
        }
        return hybridsam.io.Json.number(manifest, "frame_dt", where);
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
