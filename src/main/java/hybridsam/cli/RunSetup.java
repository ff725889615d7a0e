package hybridsam.cli;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.Json;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.Task;
import hybridsam.tasks.TaskDefaults;
import hybridsam.tasks.Tasks;
import hybridsam.train.ConfigException;
import hybridsam.train.CpuTrainingEngine;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import hybridsam.train.TrainingEngine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Everything a `train` or `evaluate` run is made of, resolved from its options and the task's defaults. */
final class RunSetup {
    static final java.util.Set<String> VALUED = java.util.Set.of("--task", "--preset", "--data-seed", "--data",
            "--cache", "--method", "--seed", "--epochs", "--batch", "--lr-theta", "--lr-nn", "--clip",
            "--weight-decay", "--rho", "--sigma", "--lambda", "--eta", "--l2", "--perturb", "--theta-grad",
            "--patience", "--threads", "--activation", "--hidden", "--rk4-step", "--theta-init", "--out",
            "--device", "--log-every");

    final Options options;
    final Task task;
    final String preset;
    final long dataSeed;
    final Path dataDir;
    final Path cacheRoot;
    final long seed;
    final int epochs, batch, patience, threads;
    final RuleConfig rule;
    final MlpShape corrector;
    final double rk4Step;
    final double[] thetaInit;

    RunSetup(Options o) {
        this.options = o;
        task = Tasks.byName(o.string("--task", "pendulum"));
        TaskDefaults d = task.defaults();
        preset = o.choice("--preset", "full", "full", "small");
        dataSeed = o.integer("--data-seed", 0);
        dataDir = o.has("--data") ? Path.of(o.string("--data", null)) : null;
        cacheRoot = o.has("--cache") ? Path.of(o.string("--cache", null)) : DatasetStore.defaultCacheRoot();
        Method method = Method.parse(o.string("--method", "fsam"));
        seed = o.integer("--seed", 0);
        epochs = o.intValue("--epochs", d.epochs());
        batch = o.intValue("--batch", d.batchSize());
        patience = o.intValue("--patience", 0);
        threads = o.intValue("--threads", Runtime.getRuntime().availableProcessors());
        if (epochs < 1) throw new ConfigException("--epochs must be at least 1 (got " + epochs + ")");
        if (batch < 1) throw new ConfigException("--batch must be at least 1 (got " + batch + ")");
        if (threads < 1) throw new ConfigException("--threads must be at least 1 (got " + threads + ")");
        rule = new RuleConfig(method,
                o.number("--rho", method.perturbs() ? d.rho(method) : 0.0),
                o.number("--sigma", 1.0), o.number("--lambda", 0.9), o.number("--eta", 0.01),
                o.number("--l2", d.l2()),
                o.choice("--perturb", "neural", "neural", "all").equals("all"),
                o.choice("--theta-grad", "perturbed", "perturbed", "clean").equals("clean"),
                o.number("--lr-theta", d.lrTheta()), o.number("--lr-nn", d.lrNn()),
                o.number("--clip", d.clip()), o.number("--weight-decay", 0.0));
        int[] hidden = o.ints("--hidden", d.hidden());
        Activation act;
        try {
            act = Activation.parse(o.string("--activation", d.activation().id()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--activation: " + e.getMessage());
        }
        int D = task.science().stateDim();
        int[] widths = new int[hidden.length + 2];
        widths[0] = D;
        widths[widths.length - 1] = D;
        for (int i = 0; i < hidden.length; i++) {
            if (hidden[i] < 1 || hidden[i] > 4096) throw new ConfigException("--hidden: widths must lie in 1..4096");
            widths[i + 1] = hidden[i];
        }
        corrector = new MlpShape(widths, act);
        rk4Step = o.number("--rk4-step", d.rk4Step());
        if (!(rk4Step > 0) || !Double.isFinite(rk4Step)) throw new ConfigException("--rk4-step must be > 0 (got " + rk4Step + ")");
        thetaInit = o.has("--theta-init") ? parseDoubles("--theta-init", o.string("--theta-init", null)) : null;
        o.choice("--device", "cpu", "cpu", "cuda", "auto");
    }

    private static double[] parseDoubles(String name, String v) {
        String[] parts = v.split(",");
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new ConfigException(name + ": '" + v + "' is not a comma-separated list of numbers");
            }
        }
        return out;
    }

    /** The three splits and what the manifest says about θ and the frame spacing. */
    record Data(Path dir, Map<String, Object> manifest, Sequences train, Sequences valid, Sequences test,
                double frameDt, double[] thetaStar, double[] thetaMn) {
    }

    Data loadData() {
        Path dir;
        Dataset ds;
        if (dataDir != null) {
            dir = dataDir.toAbsolutePath();
            ds = DatasetStore.load(dir);
        } else {
            dir = cacheRoot.resolve(task.name() + "-" + preset + "-seed" + dataSeed).toAbsolutePath();
            try {
                ds = DatasetStore.loadOrCreate(dir, () -> task.generate(preset, dataSeed));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the data cache " + dir + ": " + e.getMessage(), e);
            }
        }
        String where = dir.resolve(DatasetStore.MANIFEST).toString();
        Map<String, Object> m = ds.manifest();
        int D = task.science().stateDim();
        Sequences train = sequences(ds, "train_obs", dir, D);
        Sequences valid = sequences(ds, "valid_obs", dir, D);
        Sequences test = sequences(ds, "test_obs", dir, D);
        double frameDt;
        if (m.get("generator") instanceof Map<?, ?> g && ((Map<?, ?>) g).containsKey("frame_dt")) {
            @SuppressWarnings("unchecked") Map<String, Object> gen = (Map<String, Object>) g;
            frameDt = Json.number(gen, "frame_dt", where + " (generator)");
        } else {
            frameDt = Json.number(m, "frame_dt", where);
        }
        double ratio = frameDt / rk4Step;
        if (!(frameDt > 0) || Math.abs(ratio - Math.rint(ratio)) > 1e-6 || Math.rint(ratio) < 1) {
            throw new DataException(where + ": frame_dt " + frameDt + " is not a positive multiple of the RK4 step "
                    + rk4Step + " (set --rk4-step)");
        }
        int nTheta = task.science().theta().size();
        double[] star = m.containsKey("theta_star") ? Json.doubles(m, "theta_star", where) : null;
        double[] mn = m.containsKey("theta_mn") ? Json.doubles(m, "theta_mn", where) : null;
        if (star != null && star.length != nTheta) {
            throw new DataException(where + ": theta_star has " + star.length + " values, task " + task.name() + " has " + nTheta);
        }
        if (mn != null && mn.length != nTheta) {
            throw new DataException(where + ": theta_mn has " + mn.length + " values, task " + task.name() + " has " + nTheta);
        }
        if (m.containsKey("task") && !task.name().equals(m.get("task"))) {
            throw new DataException(where + ": data are for task '" + m.get("task") + "', not '" + task.name() + "'");
        }
        return new Data(dir, m, train, valid, test, frameDt, star, mn);
    }

    private static Sequences sequences(Dataset ds, String name, Path dir, int D) {
        NdArray a = ds.arrays().get(name);
        Path f = dir.resolve(name + ".npy");
        if (a == null) throw new DataException(dir.resolve(DatasetStore.MANIFEST) + ": no array '" + name + "' in arrays");
        int[] s = a.shape();
        if (s.length != 3 || s[2] != D || s[1] < 2 || s[0] < 1) {
            throw new DataException(f + ": shape " + java.util.Arrays.toString(s)
                    + " should be [sequences, frames >= 2, " + D + "]");
        }
        return new Sequences(a.data(), s[0], s[1], s[2]);
    }

    OdeHybrid model(Data data) {
        return new OdeHybrid(task.science(), corrector, rk4Step, (int) Math.rint(data.frameDt() / rk4Step));
    }

    /** u at the middle of θ's box (or at --theta-init), then the corrector's seeded initialization. */
    float[] initialParams(OdeHybrid model, long replicaSeed) {
        ThetaSpec spec = model.science().theta();
        float[] p = new float[model.parameterCount()];
        if (thetaInit != null) {
            if (thetaInit.length != spec.size()) {
                throw new ConfigException("--theta-init needs " + spec.size() + " values (" + String.join(", ", spec.names()) + ")");
            }
            for (int i = 0; i < spec.size(); i++) {
                try {
                    p[i] = (float) spec.toUnconstrained(i, thetaInit[i]);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("--theta-init: " + e.getMessage());
                }
            }
        }
        model.corrector().initialize(p, model.nnOffset(), new SplittableRandom(replicaSeed));
        return p;
    }

    TrainingEngine engine(OdeHybrid model, Data data) {
        String device = options.string("--device", "cpu");
        if (device.equals("cuda")) {
            throw new ConfigException("--device cuda: the CUDA backend is not part of this build yet; use --device cpu");
        }
        CpuOdeBackend backend = new CpuOdeBackend(model, threads);
        return new CpuTrainingEngine(backend, data.train(), new RuleConfig[]{rule}, initialParams(model, seed));
    }

    /** Every setting of the run, for results.json. */
    Map<String, Object> describe(Data data, OdeHybrid model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task.name());
        m.put("preset", dataDir == null ? preset : "user data");
        m.put("data", Map.of("dir", data.dir().toString(), "seed", dataDir == null ? (Object) dataSeed : "n/a",
                "train", data.train().count(), "valid", data.valid().count(), "test", data.test().count(),
                "frames", data.train().frames(), "frame_dt", data.frameDt()));
        m.put("seed", seed);
        m.put("epochs", epochs);
        m.put("batch_size", batch);
        m.put("patience", patience);
        m.put("hyperparameters", rule.toMap());
        Map<String, Object> mod = new LinkedHashMap<>();
        mod.put("form", "ode-additive");
        mod.put("corrector", corrector.describe());
        mod.put("corrector_parameters", corrector.parameterCount());
        mod.put("integrator", "rk4");
        mod.put("rk4_step", rk4Step);
        mod.put("steps_per_frame", model.stepsPerFrame());
        mod.put("theta_names", task.science().theta().names());
        mod.put("theta_init", thetaInit == null ? "middle of the box" : thetaInit);
        m.put("model", mod);
        if (data.thetaStar() != null) m.put("theta_star", data.thetaStar());
        if (data.thetaMn() != null) m.put("theta_mn", data.thetaMn());
        m.put("args", options.args());
        return m;
    }

    static List<String> argsOf(Path runDir) {
        Path f = runDir.resolve("config.json");
        if (!Files.isRegularFile(f)) throw new DataException(f + ": not found (is " + runDir + " a hybridsam run folder?)");
        try {
            Map<String, Object> m = Json.object(Json.parse(Files.readString(f)), f.toString());
            List<Object> a = Json.array(m, "args", f.toString());
            return a.stream().map(String::valueOf).toList();
        } catch (IOException e) {
            throw new DataException(f + ": cannot read: " + e.getMessage(), e);
        } catch (Json.ParseException e) {
            throw new DataException(f + ": malformed JSON: " + e.getMessage(), e);
        }
    }
}
