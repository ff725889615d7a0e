package hybridsam.cli;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cuda.CudaProbe;
import hybridsam.cuda.CudaTrainingEngine;
import hybridsam.cuda.DeviceOutOfMemoryException;
import hybridsam.cuda.NnEngine;
import hybridsam.cuda.NnEngines;
import hybridsam.cuda.StandIn;
import hybridsam.io.DataException;
import hybridsam.io.DataFingerprint;
import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.Json;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.Corrector;
import hybridsam.model.Hybrid;
import hybridsam.model.ImageSequences;
import hybridsam.model.Split;
import hybridsam.cpu.CpuBackend;
import hybridsam.tasks.ComposedTask;
import hybridsam.model.ScientificModel;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.Task;
import hybridsam.tasks.TaskDefaults;
import hybridsam.tasks.Tasks;
import hybridsam.train.Checkpoint;
import hybridsam.io.ConfigException;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import hybridsam.train.Schedule;
import hybridsam.train.Schedules;
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
    /**
     * Every option of a run (train's, and what config.json records), in the order and sections
     * of the help: picocli's option specs, the help and the completion are made from this table.
     * (Options with completion candidates need labels of their own: picocli's bash script keeps
     * the candidates in a variable named after the label.)
     */
    static final List<Options.Def> OPTIONS = List.of(
            new Options.Def("--task", Options.Type.TEXT, "TASK", "data", "pendulum (default), duffing, reaction-diffusion, pendulum-images, wind-tunnel or light-tunnel",
                    Tasks.ALL.stream().map(Task::name).toList()),
            new Options.Def("--preset", Options.Type.CHOICE, "PRESET", "data",
                    "full (default) or small (seconds on a laptop, for trying things)", List.of("full", "small")),
            new Options.Def("--data-seed", Options.Type.LONG, "N", "data", "seed of the generated data (default 0)"),
            new Options.Def("--data", Options.Type.PATH, "DIR", "data", "train on your own data: a folder with manifest.json and"
                    + " train_obs.npy, valid_obs.npy, test_obs.npy, each float32 [sequences, frames, state]; for pendulum-images"
                    + " train_images.npy, valid_images.npy, test_images.npy, each [sequences, frames, height, width] (see datasets/README.md)"),
            new Options.Def("--data-format", Options.Type.CHOICE, "FORMAT", "data", "the layout of --data: npy (manifest.json"
                    + " and .npy arrays), causal-chambers (the Causal Chambers' published CSV files and images, for"
                    + " wind-tunnel and light-tunnel; split by --data-seed), or auto (default: npy when there is a"
                    + " manifest.json, else the chambers' layout when it is recognised)", List.of("auto", "npy", "causal-chambers")),
            new Options.Def("--image-size", Options.Type.INT, "N", "data", "light-tunnel on the chambers' published images:"
                    + " the side they are resized to, 4 to 1024 (default 64)"),
            new Options.Def("--cache", Options.Type.PATH, "DIR", "data",
                    "where generated data are kept (default $HYBRIDSAM_CACHE or ~/.cache/hybridsam)"),
            new Options.Def("--method", Options.Type.TEXTS, "METHOD", "rule", "erm, l2, sam, asam or fsam (default fsam)",
                    List.of("erm", "l2", "sam", "asam", "fsam")),
            new Options.Def("--rho", Options.Type.NUMBERS, "RHO", "rule", "perturbation radius (task default: see README);"
                    + " or auto: chosen from validation error alone, as hybridsam tune chooses it (erm and the method trained"
                    + " at each of --rho-candidates in OUT/tune, then this run with the chosen value)", List.of("auto")),
            new Options.Def("--rho-candidates", Options.Type.NUMBERS, "X", "rule", "with --rho auto: the radii tried (default"
                    + " " + Tune.text(Tune.DEFAULT_CANDIDATES) + "; asam " + Tune.text(Tune.ASAM_CANDIDATES) + ")"),
            new Options.Def("--tune-factor", Options.Type.NUMBER, "F", "rule", "with --rho auto: choose the largest candidate"
                    + " whose best validation MSE is at most F times erm's (default 3; must be > 1)"),
            new Options.Def("--sigma", Options.Type.NUMBERS, "X", "rule", "fsam: share of the gradient average removed (default 1)"),
            new Options.Def("--lambda", Options.Type.NUMBERS, "X", "rule", "fsam: decay of the gradient average, in [0, 1) (default 0.9)"),
            new Options.Def("--eta", Options.Type.NUMBERS, "X", "rule", "asam: eta in T = |phi| + eta (default 0.01)"),
            new Options.Def("--l2", Options.Type.NUMBERS, "X", "rule", "l2: weight of (l2/2)|phi|^2 (default 1e-3)"),
            new Options.Def("--perturb", Options.Type.CHOICE, "WHAT", "rule",
                    "neural (default: perturb the network only) or all (theta too)", List.of("neural", "all")),
            new Options.Def("--theta-grad", Options.Type.CHOICE, "PASS", "rule",
                    "perturbed (default) or clean: theta's gradient from which pass", List.of("perturbed", "clean")),
            new Options.Def("--rho-schedule", Options.Type.TEXTS, "RHO_SCHEDULE", "rule", "a factor on rho per epoch e of E:"
                    + " constant (default), warmup (min(1, (e+1)/(E/4)), a linear ramp over the first quarter of the epochs)"
                    + " or cosine (0.01 + 0.99 (1 + cos(pi e/E))/2, from 1 down to about 0.01). Only sam, asam and fsam"
                    + " use rho: erm and l2 accept it and it has no effect on them", Schedule.ids(Schedule.RHO)),
            new Options.Def("--lr-theta", Options.Type.NUMBERS, "X", "optimizer", "Adam learning rate for theta (default 1e-2)"),
            new Options.Def("--lr-nn", Options.Type.NUMBERS, "X", "optimizer", "Adam learning rate for the network (default 1e-3)"),
            new Options.Def("--lr-schedule", Options.Type.TEXTS, "LR_SCHEDULE", "optimizer", "a factor on both learning rates"
                    + " (theta's and the network's) per epoch e of E: constant (default), cosine (0.01 + 0.99 (1 + cos(pi e/E))/2,"
                    + " from 1 down to about 0.01) or step (1 for the first half of the epochs, 0.1 to three quarters,"
                    + " then 0.01)", Schedule.ids(Schedule.LEARNING_RATE)),
            new Options.Def("--clip", Options.Type.NUMBERS, "X", "optimizer", "gradient-norm clip over (theta, phi); 0 = off (default 5)"),
            new Options.Def("--weight-decay", Options.Type.NUMBERS, "X", "optimizer", "decoupled weight decay on the network (default 0)"),
            new Options.Def("--epochs", Options.Type.INT, "N", "run", "epochs (default: pendulum 320, duffing 480, reaction-diffusion 60, wind-tunnel 150, light-tunnel 30, pendulum-images 300)"),
            new Options.Def("--batch", Options.Type.INT, "N", "run", "minibatch size (default 64)"),
            new Options.Def("--seed", Options.Type.LONGS, "N", "run", "initialization and shuffling (default 0)"),
            new Options.Def("--patience", Options.Type.INT, "N", "run",
                    "stop after N epochs without a better validation error (default 0 = off)"),
            new Options.Def("--out", Options.Type.PATH, "DIR", "run",
                    "output folder (default runs/TASK-METHOD-seedN, or runs/TASK-METHOD-replicasK); must not hold a run"),
            new Options.Def("--threads", Options.Type.INT, "N", "run", "CPU threads (default: all cores; results do not depend on it)"),
            new Options.Def("--device", Options.Type.CHOICE, "DEVICE", "run", "cpu (default), cuda (refused with the reason when no"
                    + " GPU can run it), or auto (cuda when available, else cpu with a one-line notice)."
                    + " HYBRIDSAM_CUDA_STANDIN=1 in the environment runs --device cuda on CPU stand-ins for the NVIDIA"
                    + " libraries (slow; for seeing the GPU path run); auto never picks them."
                    + " HYBRIDSAM_CUDA_SYNC=1 names the kernel that faults.", List.of("cpu", "cuda", "auto")),
            new Options.Def("--nn-engine", Options.Type.CHOICE, "ENGINE", "run", "on the GPU, what runs the corrector: kernels"
                    + " (default: the project's fused kernels), cublas (CUDA 12's libcublas.so.12), cudnn (cuDNN 9),"
                    + " or auto (the first of cudnn, cublas, kernels that loads)", List.of("kernels", "cublas", "cudnn", "auto")),
            new Options.Def("--quiet", Options.Type.FLAG, null, "run", "no progress output"),
            new Options.Def("--log-every", Options.Type.INT, "N", "run", "an epoch line every N epochs (default 10)"),
            new Options.Def("--no-plots", Options.Type.FLAG, null, "run", "do not draw loss.png and theta.png into the run folder"
                    + " when the run finishes (hybridsam plot --run DIR draws them later)"),
            new Options.Def("--replicas", Options.Type.INT, "K", "replicas", "train K independent runs at once, advanced together"
                    + " by one engine (1..4096, default 1); each equals the same run trained alone. Without lists the replicas"
                    + " take seeds N, N+1, ..., N+K-1; with a list of another option they all start from --seed N (a sweep)."),
            new Options.Def("--hidden", Options.Type.INTS, "W1,W2,...", "model", "hidden widths of the corrector MLP, or hidden channels of the"
                    + " convolutional net of a grid or image task (default 64,64; reaction-diffusion and light-tunnel 16,16;"
                    + " wind-tunnel 32,32, for both its fan and pressure MLPs; for pendulum-images the widths of its ODE's"
                    + " corrector, its encoder and decoder having 128 units)"),
            new Options.Def("--activation", Options.Type.TEXT, "ACTIVATION", "model", "tanh (default; reaction-diffusion and light-tunnel: leaky_relu), relu, elu,"
                    + " softplus, leaky_relu", List.of("tanh", "relu", "elu", "softplus", "leaky_relu")),
            new Options.Def("--rk4-step", Options.Type.NUMBER, "X", "model", "RK4 step; must divide the frame spacing (default 0.1, also"
                    + " pendulum-images; not for wind-tunnel, which takes 4 RK4 steps between time stamps, nor light-tunnel)"),
            new Options.Def("--theta-init", Options.Type.NUMBERS, "X[,Y]", "model",
                    "starting theta in physical units (default: middle of its box; wind-tunnel, whose box is centred on the chambers' values: twice the first and half the second)"));

    /** The options of a run that take a value. */
    static final java.util.Set<String> VALUED = OPTIONS.stream().filter(Options.Def::valued).map(Options.Def::name)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());

    /**
     * The options that may hold one value per replica (a comma-separated list), in the order the
     * results show them.
     */
    static final List<String> PER_REPLICA = List.of("--method", "--seed", "--rho", "--sigma", "--lambda", "--eta",
            "--l2", "--lr-theta", "--lr-nn", "--clip", "--weight-decay", "--lr-schedule", "--rho-schedule");

    /**
     * The hyperparameters (RuleConfig.toMap's keys) that only some methods use, and those methods:
     * a value another method ignores is left out where replicas are told apart (plot legends) and
     * does not multiply that method's cells in a sweep. The others (lr_theta, lr_nn, clip,
     * weight_decay) every method uses.
     */
    static final Map<String, java.util.Set<String>> USED_BY = Map.of(
            "rho", java.util.Set.of("sam", "asam", "fsam"), "sigma", java.util.Set.of("fsam"), "lambda", java.util.Set.of("fsam"),
            "eta", java.util.Set.of("asam"), "l2", java.util.Set.of("l2"),
            "rho_schedule", java.util.Set.of("sam", "asam", "fsam"));

    /** Whether method (its id: "fsam") uses the hyperparameter key ("rho"). */
    static boolean uses(String method, String key) {
        java.util.Set<String> used = USED_BY.get(key);
        return used == null || used.contains(method);
    }

    /** The most replicas one engine advances together. */
    static final int MAX_REPLICAS = 4096;

    final Options options;
    final Task task;
    final String preset;
    final long dataSeed;
    final Path dataDir;
    final Path cacheRoot;
    /** Replica 0's seed and rule (the run's, when it has a single replica). */
    final long seed;
    final int epochs, batch, patience, threads;
    final RuleConfig rule;
    /** K, and each replica's seed and rule. */
    final int replicas;
    final long[] seeds;
    final RuleConfig[] rules;
    /** Each replica's learning-rate and rho schedules. */
    final Schedules[] schedules;
    /** The per-replica options given as lists whose values differ between replicas (--seed excluded). */
    final List<String> varied;
    /** The corrector's hidden widths (MLP) or channels (convolutional net), and its activation. */
    final int[] hidden;
    final Activation activation;
    final double rk4Step;
    final double[] thetaInit;
    /** Set by {@link #resuming}: the data the run started with, which {@link #loadData} insists on. */
    private DataFingerprint recordedData;
    private Map<String, Object> recordedShapes;

    RunSetup(Options o) {
        this.options = o;
        task = Tasks.byName(o.string("--task", "pendulum"));
        TaskDefaults d = task.defaults();
        preset = o.choice("--preset", "full", "full", "small");
        dataSeed = o.integer("--data-seed", 0);
        dataDir = o.has("--data") ? Path.of(o.string("--data", null)) : null;
        cacheRoot = o.has("--cache") ? Path.of(o.string("--cache", null)) : DatasetStore.defaultCacheRoot();
        epochs = o.intValue("--epochs", d.epochs());
        batch = o.intValue("--batch", d.batchSize());
        patience = o.intValue("--patience", 0);
        threads = o.intValue("--threads", Runtime.getRuntime().availableProcessors());
        if (epochs < 1) throw new ConfigException("--epochs must be at least 1 (got " + epochs + ")");
        if (batch < 1) throw new ConfigException("--batch must be at least 1 (got " + batch + ")");
        if (threads < 1) throw new ConfigException("--threads must be at least 1 (got " + threads + ")");
        for (String name : Tune.OWN_OPTIONS) {
            // a run's --rho is a number here: train --rho auto has chosen it (and taken these out) before
            if (o.has(name)) throw new ConfigException(name + " is used only with --rho auto (or by hybridsam tune)");
        }

        Map<String, String[]> lists = new LinkedHashMap<>();
        for (String name : PER_REPLICA) if (o.has(name)) lists.put(name, elements(name, o.string(name, null)));
        replicas = replicaCount(o, lists);
        int K = replicas;
        seeds = new long[K];
        String[] seedList = lists.get("--seed");
        if (seedList != null && seedList.length > 1) {
            for (int r = 0; r < K; r++) seeds[r] = wholeNumber("--seed", seedList[r], o.string("--seed", null));
        } else {
            // a sweep over a hyperparameter compares its values from the same seed; plain
            // replicas (no list) are repeats with consecutive seeds
            boolean sweep = lists.entrySet().stream().anyMatch(e -> !e.getKey().equals("--seed") && e.getValue().length > 1);
            long base = seedList == null ? 0 : wholeNumber("--seed", seedList[0], o.string("--seed", null));
            for (int r = 0; r < K; r++) seeds[r] = sweep ? base : base + r;
        }
        rules = new RuleConfig[K];
        for (int r = 0; r < K; r++) {
            Method method = Method.parse(element(lists, "--method", r, "fsam"));
            try {
                rules[r] = new RuleConfig(method,
                        number(o, lists, "--rho", r, method.perturbs() ? d.rho(method) : 0.0),
                        number(o, lists, "--sigma", r, RuleConfig.DEFAULT_SIGMA),
                        number(o, lists, "--lambda", r, RuleConfig.DEFAULT_LAMBDA),
                        number(o, lists, "--eta", r, RuleConfig.DEFAULT_ETA),
                        number(o, lists, "--l2", r, d.l2()),
                        o.choice("--perturb", "neural", "neural", "all").equals("all"),
                        o.choice("--theta-grad", "perturbed", "perturbed", "clean").equals("clean"),
                        number(o, lists, "--lr-theta", r, d.lrTheta()), number(o, lists, "--lr-nn", r, d.lrNn()),
                        number(o, lists, "--clip", r, d.clip()), number(o, lists, "--weight-decay", r, 0.0));
            } catch (ConfigException e) {
                throw K == 1 ? e : new ConfigException(e.getMessage() + " in replica " + r);
            }
        }
        schedules = new Schedules[K];
        for (int r = 0; r < K; r++) {
            schedules[r] = new Schedules(
                    Schedule.parse("--lr-schedule", element(lists, "--lr-schedule", r, "constant"), Schedule.LEARNING_RATE),
                    Schedule.parse("--rho-schedule", element(lists, "--rho-schedule", r, "constant"), Schedule.RHO));
        }
        List<String> v = new java.util.ArrayList<>();
        for (Map.Entry<String, String[]> e : lists.entrySet()) {
            if (e.getKey().equals("--seed") || e.getValue().length < 2) continue;
            String key = hyperparameterKey(e.getKey());
            if (java.util.stream.IntStream.range(0, K).mapToObj(r -> hyperparameters(r).get(key)).distinct().count() > 1) {
                v.add(e.getKey());
            }
        }
        varied = List.copyOf(v);
        seed = seeds[0];
        rule = rules[0];
        hidden = o.ints("--hidden", d.hidden());
        Activation act;
        try {
            act = Activation.parse(o.string("--activation", d.activation().id()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--activation: " + e.getMessage());
        }
        for (int h : hidden) {
            if (h < 1 || h > 4096) throw new ConfigException("--hidden: widths must lie in 1..4096");
        }
        activation = act;
        if (task instanceof ComposedTask composed && !composed.usesRk4Step()) {
            // its integrator (if any) is the task's own: a step that would be ignored is refused
            if (o.has("--rk4-step")) {
                throw new ConfigException("--rk4-step has no effect on " + task.name() + " (" + task.summary() + ")");
            }
            rk4Step = Double.NaN;
        } else {
            rk4Step = o.number("--rk4-step", d.rk4Step());
            if (!(rk4Step > 0) || !Double.isFinite(rk4Step)) throw new ConfigException("--rk4-step must be > 0 (got " + rk4Step + ")");
        }
        thetaInit = o.has("--theta-init") ? parseDoubles("--theta-init", o.string("--theta-init", null)) : task.thetaInit();
        o.choice("--device", "cpu", "cpu", "cuda", "auto");
    }

    /** Replica r's hyperparameters as results.json records them: its rule's, then its schedules. */
    Map<String, Object> hyperparameters(int r) {
        Map<String, Object> m = rules[r].toMap();
        m.putAll(schedules[r].toMap());
        return m;
    }

    /** The elements of a per-replica option's value: one value, or a comma-separated list. */
    static String[] elements(String name, String v) {
        if (v.isBlank()) throw new ConfigException(name + ": empty value (give one value, or a comma-separated list with one per replica)");
        String[] parts = v.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            parts[i] = parts[i].trim();
            if (parts[i].isEmpty()) {
                throw new ConfigException(name + ": element " + (i + 1) + " of '" + v + "' is empty");
            }
        }
        return parts;
    }

    /** K from --replicas and the lengths of the lists given; all must agree. */
    private static int replicaCount(Options o, Map<String, String[]> lists) {
        String first = null;
        int length = 1;
        for (Map.Entry<String, String[]> e : lists.entrySet()) {
            int n = e.getValue().length;
            if (n < 2) continue;
            if (first == null) {
                first = e.getKey();
                length = n;
            } else if (n != length) {
                throw new ConfigException(first + " has " + length + " values but " + e.getKey() + " has " + n
                        + "; every list must have one value per replica");
            }
        }
        if (!o.has("--replicas")) return length;
        long k = o.integer("--replicas", 1);
        if (k < 1 || k > MAX_REPLICAS) {
            throw new ConfigException("--replicas must lie in 1.." + MAX_REPLICAS + " (got " + k + ")");
        }
        if (first != null && k != length) {
            throw new ConfigException("--replicas " + k + " but " + first + " has " + length
                    + " values; give one value per replica, or leave --replicas out");
        }
        return (int) k;
    }

    /** Replica r's text of a per-replica option (a single value applies to every replica). */
    private static String element(Map<String, String[]> lists, String name, int r, String def) {
        String[] v = lists.get(name);
        if (v == null) return def;
        return v.length == 1 ? v[0] : v[r];
    }

    private static double number(Options o, Map<String, String[]> lists, String name, int r, double def) {
        String e = element(lists, name, r, null);
        if (e == null) return def;
        try {
            return Double.parseDouble(e);
        } catch (NumberFormatException x) {
            String whole = o.string(name, e);
            throw new ConfigException(name + ": '" + e + "'" + (whole.trim().equals(e) ? "" : " in '" + whole + "'") + " is not a number");
        }
    }

    private static long wholeNumber(String name, String e, String whole) {
        try {
            return Long.parseLong(e);
        } catch (NumberFormatException x) {
            throw new ConfigException(name + ": '" + e + "'" + (whole.trim().equals(e) ? "" : " in '" + whole + "'") + " is not a whole number");
        }
    }

    /** The key of RuleConfig.toMap that a per-replica option sets: --lr-theta -> lr_theta. */
    static String hyperparameterKey(String option) {
        return option.substring(2).replace('-', '_');
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

    /**
     * The three splits and what the manifest says about θ; for the ODE tasks that observe their
     * state also the frame spacing, frame shape and the scientific model sized for it; for a
     * {@link ComposedTask} its splits as it read them (frameDt the manifest's where the task takes
     * --rk4-step, else NaN; frame and science null).
     */
    record Data(Path dir, Map<String, Object> manifest, Split train, Split valid, Split test,
                double frameDt, double[] thetaStar, double[] thetaMn, DataFingerprint fingerprint,
                int[] frame, ScientificModel science, ComposedTask.Splits composed) {

        /** Whether the data were read from the Causal Chambers' published files (not .npy arrays). */
        boolean published() {
            return PUBLISHED_FORMAT.equals(manifest.get("format"));
        }
    }

    /** The --data-format value, and the manifest's "format", of the Causal Chambers' published layout. */
    static final String PUBLISHED_FORMAT = "causal-chambers";

    /** The network for a scientific model: the task's kind, sized by --hidden and --activation. */
    Corrector corrector(ScientificModel science) {
        return task.corrector(science, hidden, activation);
    }

    /** The data folder the options name, absolute and normalized: --data, or the task's folder in the cache. */
    Path resolvedDataDir() {
        Path d = dataDir != null ? dataDir : cacheRoot.resolve(task.name() + "-" + preset + "-seed" + dataSeed);
        return d.toAbsolutePath().normalize();
    }

    Data loadData() {
        if (task instanceof ComposedTask composed) return loadComposed(composed);
        if (options.choice("--data-format", "auto", "auto", "npy", PUBLISHED_FORMAT).equals(PUBLISHED_FORMAT)) {
            throw new ConfigException("--data-format " + PUBLISHED_FORMAT + " is for wind-tunnel and light-tunnel; " + task.name()
                    + " reads .npy arrays (--data-format npy)");
        }
        if (options.has("--image-size")) {
            throw new ConfigException("--image-size resizes the Causal Chambers' published images (light-tunnel); it has no effect on "
                    + task.name());
        }
        Path dir = resolvedDataDir();
        Dataset ds;
        DataFingerprint fingerprint;
        if (recordedData != null) {
            fingerprint = unchangedSinceStart(dir);
            ds = DatasetStore.load(dir);
        } else {
            ds = dataDir != null ? DatasetStore.load(dir) : loadOrCreate(dir);
            fingerprint = DataFingerprint.of(dir, DataFingerprint.filesOf(ds.manifest()));
        }
        String where = dir.resolve(DatasetStore.MANIFEST).toString();
        Map<String, Object> m = ds.manifest();
        Tasks.checkData(task, m, where);  // data of another task say so before any shape or count is compared
        int[] frame = frameShape(ds, "train_obs", dir);
        ScientificModel science = task.science(frame, dir.resolve("train_obs.npy") + ": shape "
                + java.util.Arrays.toString(ds.arrays().get("train_obs").shape()));
        Sequences train = sequences(ds, "train_obs", dir, frame);
        Sequences valid = sequences(ds, "valid_obs", dir, frame);
        Sequences test = sequences(ds, "test_obs", dir, frame);
        double frameDt = Tasks.frameDt(m, where);
        Tasks.stepsPerFrame(frameDt, rk4Step, where + " (frame_dt)");
        // the task, and one value per θ in theta_star and theta_mn, were checked by Tasks.checkData above
        double[] star = m.containsKey("theta_star") ? Json.doubles(m, "theta_star", where) : null;
        double[] mn = m.containsKey("theta_mn") ? Json.doubles(m, "theta_mn", where) : null;
        Data data = new Data(dir, m, train, valid, test, frameDt, star, mn, fingerprint, frame, science, null);
        checkRecordedShapes(data);
        return data;
    }

    /**
     * Resuming: the fingerprint of the files the run started with, which must be those files
     * byte for byte (a cache folder deleted since is generated again first); a difference is
     * refused, naming each file that changed.
     */
    private DataFingerprint unchangedSinceStart(Path dir) {
        if (dataDir == null && !Files.isRegularFile(dir.resolve(DatasetStore.MANIFEST))) loadOrCreate(dir);
        DataFingerprint now = DataFingerprint.of(dir, recordedData.files().keySet());
        List<String> diff = now.differencesFrom(recordedData);
        if (!diff.isEmpty()) {
            throw new DataException(dir + ": data changed since the run started: " + String.join("; ", diff)
                    + " (data fingerprint " + DataFingerprint.shortDigest(recordedData.digest()) + " at the start, now "
                    + DataFingerprint.shortDigest(now.digest()) + "); resume only with the data the run started with");
        }
        return now;
    }

    /**
     * The data of a task with its own layout: its .npy arrays (generated into the cache, or
     * --data), or with --data-format causal-chambers (or auto, recognising the layout) the
     * publishers' CSV files read by the task; resumed runs insist on the files they started with.
     */
    private Data loadComposed(ComposedTask composed) {
        Path dir = resolvedDataDir();
        String format = options.choice("--data-format", "auto", "auto", "npy", PUBLISHED_FORMAT);
        if (dataDir == null && !format.equals("auto") && !format.equals("npy")) {
            throw new ConfigException("--data-format " + format + " reads a folder you downloaded: give it with --data DIR");
        }
        boolean published = dataDir != null && (format.equals(PUBLISHED_FORMAT) || format.equals("auto")
                && !Files.isRegularFile(dir.resolve(DatasetStore.MANIFEST)) && composed.isPublishedLayout(dir));
        DataFingerprint before = recordedData != null ? unchangedSinceStart(dir) : null;
        int imageSide = 0;
        if (options.has("--image-size")) {
            if (!published || !composed.readsPublishedImages()) {
                throw new ConfigException("--image-size resizes the Causal Chambers' published images (light-tunnel with --data"
                        + " in their layout); it has no effect here");
            }
            imageSide = options.intValue("--image-size", 0);
            if (imageSide < 4 || imageSide > 1024) throw new ConfigException("--image-size must be from 4 to 1024 (got " + imageSide + ")");
        }
        Dataset ds = published ? composed.readPublished(dir, dataSeed, imageSide) : dataDir != null ? DatasetStore.load(dir) : loadOrCreate(dir);
        Map<String, Object> m = ds.manifest();
        String where = published ? dir.toString() : dir.resolve(DatasetStore.MANIFEST).toString();
        DataFingerprint fingerprint = before != null ? before
                : DataFingerprint.of(dir, published ? sourceFiles(m, where) : DataFingerprint.filesOf(m));
        Tasks.checkData(task, m, where);
        ComposedTask.Splits splits = composed.splits(ds, dir);
        double frameDt = Double.NaN;
        if (composed.usesRk4Step()) {
            frameDt = Tasks.frameDt(m, where);
            Tasks.stepsPerFrame(frameDt, rk4Step, where + " (frame_dt)");
        }
        double[] star = m.containsKey("theta_star") ? Json.doubles(m, "theta_star", where) : null;
        double[] mn = m.containsKey("theta_mn") ? Json.doubles(m, "theta_mn", where) : null;
        Data data = new Data(dir, m, splits.train(), splits.valid(), splits.test(), frameDt, star, mn, fingerprint,
                null, null, splits);
        checkRecordedShapes(data);
        return data;
    }

    /** The "source_files" a reader of published data lists in its manifest: every file it read, relative to the folder. */
    private static List<String> sourceFiles(Map<String, Object> manifest, String where) {
        List<String> names = new java.util.ArrayList<>();
        for (Object o : Json.array(manifest, "source_files", where)) {
            if (!(o instanceof String s)) throw new DataException(where + ": \"source_files\" should list file names, has " + o);
            names.add(s);
        }
        return names;
    }

    /** On resume: every array's shape must be the one config.json recorded when the run started. */
    private void checkRecordedShapes(Data data) {
        Path dir = data.dir();
        if (recordedShapes != null) {
            Map<String, Object> now = shapes(data);
            for (Map.Entry<String, Object> e : now.entrySet()) {
                Object was = recordedShapes.get(e.getKey());
                if (!e.getValue().equals(was)) {
                    throw new DataException(dir.resolve(e.getKey() + ".npy") + ": shape " + e.getValue() + " differs from "
                            + was + " recorded when the run started");
                }
            }
        }
    }

    private Dataset loadOrCreate(Path dir) {
        try {
            return DatasetStore.loadOrCreate(dir, () -> task.generate(preset, dataSeed));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the data cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The arrays' shapes, as config.json records them. */
    private static Map<String, Object> shapes(Data data) {
        Map<String, Object> s = new LinkedHashMap<>();
        if (data.composed() != null) {
            s.putAll(data.composed().shapes());
            return s;
        }
        for (String split : List.of("train", "valid", "test")) {
            Sequences q = (Sequences) (split.equals("train") ? data.train() : split.equals("valid") ? data.valid() : data.test());
            List<Long> shape = new java.util.ArrayList<>(List.of((long) q.count(), (long) q.frames()));
            for (int n : data.frame()) shape.add((long) n);
            s.put(split + "_obs", shape);
        }
        return s;
    }

    private static NdArray array(Dataset ds, String name, Path dir) {
        NdArray a = ds.arrays().get(name);
        if (a == null) throw new DataException(dir.resolve(DatasetStore.MANIFEST) + ": no array '" + name + "' in arrays");
        return a;
    }

    /** The shape of one frame of an observation array: its axes after [sequences, frames]. */
    private static int[] frameShape(Dataset ds, String name, Path dir) {
        int[] s = array(ds, name, dir).shape();
        if (s.length < 3) {
            throw new DataException(dir.resolve(name + ".npy") + ": shape " + java.util.Arrays.toString(s)
                    + " should be [sequences, frames >= 2, then the shape of one frame]");
        }
        return java.util.Arrays.copyOfRange(s, 2, s.length);
    }

    /** One split as [sequences, frames, state] with the frame's axes flattened, each frame of the given shape. */
    private static Sequences sequences(Dataset ds, String name, Path dir, int[] frame) {
        NdArray a = array(ds, name, dir);
        int[] s = a.shape();
        int[] want = new int[frame.length + 2];
        want[0] = s.length > 0 ? s[0] : 0;
        want[1] = s.length > 1 ? s[1] : 0;
        System.arraycopy(frame, 0, want, 2, frame.length);
        if (!java.util.Arrays.equals(s, want) || s[1] < 2 || s[0] < 1) {
            String expected = java.util.Arrays.toString(frame).replace("[", "[sequences, frames >= 2, ");
            throw new DataException(dir.resolve(name + ".npy") + ": shape " + java.util.Arrays.toString(s)
                    + " should be " + expected + " (the frame shape of train_obs)");
        }
        int D = 1;
        for (int n : frame) D *= n;
        return new Sequences(a.data(), s[0], s[1], D);
    }

    /** The hybrid for the data: the task's own for a {@link ComposedTask}, else the ODE with the task's corrector. */
    Hybrid model(Data data) {
        if (task instanceof ComposedTask composed) {
            return composed.usesRk4Step() ? composed.model(data.composed(), hidden, activation, rk4Step)
                    : composed.model(data.composed(), hidden, activation);
        }
        return new OdeHybrid(data.science(), corrector(data.science()), rk4Step,
                Tasks.stepsPerFrame(data.frameDt(), rk4Step, data.dir().resolve(DatasetStore.MANIFEST) + " (frame_dt)"));
    }

    /** u at the middle of θ's box (or at --theta-init), then the corrector's seeded initialization. */
    float[] initialParams(Hybrid model, long replicaSeed) {
        ThetaSpec spec = model.thetaSpec();
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
        model.initializeNetworks(p, 0, new SplittableRandom(replicaSeed));
        return p;
    }

    /** Every replica's starting parameters, one block of model.parameterCount() after another. */
    float[] initialParams(Hybrid model) {
        int P = model.parameterCount();
        float[] all = new float[replicas * P];
        for (int r = 0; r < replicas; r++) System.arraycopy(initialParams(model, seeds[r]), 0, all, r * P, P);
        return all;
    }

    /** The files of the task's figures that the run writes into its folder when it finishes. */
    List<String> figureFiles() {
        return task instanceof ComposedTask composed ? composed.figureFiles(replicas) : List.of();
    }

    /** Whether the run draws its plots (loss.png, theta.png) when it finishes (not with --no-plots). */
    boolean plots() {
        return !options.flag("--no-plots");
    }

    /** The files the run writes into its folder when it finishes, besides results.json: figures and plots. */
    List<String> finishFiles() {
        List<String> all = new java.util.ArrayList<>(figureFiles());
        if (plots()) all.addAll(Plots.FILES);
        return all;
    }

    /** The distinct methods of the replicas, joined by '+' (for names and messages). */
    String methodLabel() {
        return String.join("+", java.util.Arrays.stream(rules).map(x -> x.method().id()).distinct().toList());
    }

    /**
     * The engine --device asks for: cpu; cuda (refused with the probe's reason when no GPU can run
     * it); auto (cuda when the probe says yes, else cpu with a one-line notice on notices).
     */
    TrainingEngine engine(Hybrid model, Data data, java.io.PrintStream notices) {
        String device = options.string("--device", "cpu");
        // before anything of the run's size is allocated (the GPU path keeps host copies and evaluates on the CPU too)
        int B = Math.min(batch, data.train().count());
        if (model instanceof OdeHybrid ode) {
            hybridsam.cpu.MemoryBudget.checkCpu(ode, rules.length, B, ((Sequences) data.train()).frames(), threads,
                    "--replicas " + rules.length + " --hidden " + ode.corrector().describe() + " --batch " + batch + " --threads " + threads);
        } else if (model instanceof hybridsam.model.NestedHybrid nested) {
            // the per-thread workspace (encoder input, every stage, the decoder's T·C columns) counts too
            hybridsam.cpu.MemoryBudget.checkCpu(nested, rules.length, B, ((hybridsam.model.ImageSequences) data.train()).frames(),
                    threads, "--replicas " + rules.length + " --hidden " + nested.ode().corrector().describe() + " --batch " + batch
                    + " --threads " + threads);
        } else {
            hybridsam.cpu.MemoryBudget.checkCpu(model, rules.length, B, "--replicas " + rules.length + " --hidden "
                    + java.util.Arrays.toString(hidden).replaceAll("[\\[\\] ]", "") + " (" + model.parameterCount()
                    + " parameters) --batch " + batch);
        }
        float[] start = initialParams(model);
        String nnOption = options.choice("--nn-engine", "kernels", "kernels", "cublas", "cudnn", "auto");
        if (device.equals("cpu") && !nnOption.equals("kernels") && !nnOption.equals("auto")) {
            throw new ConfigException("--nn-engine " + nnOption + " runs the network on the GPU: use it with --device cuda or auto");
        }
        if (!device.equals("cpu")) {
            // what the GPU path cannot run is said before any library or device is touched
            java.util.Optional<String> unsupported = CudaTrainingEngine.supports(model);
            if (unsupported.isPresent()) {
                if (device.equals("cuda")) throw new ConfigException("--device cuda: " + unsupported.get());
                notices.println("hybridsam: " + unsupported.get() + "; training on the CPU");
                return cpuEngine(model, data, start);
            }
            // the corrector's library first: a missing libcublas / libcudnn is named even without a GPU
            NnEngine nn = NnEngines.select(nnOption, model);
            java.util.Optional<String> engineWhy = CudaTrainingEngine.supports(model, nn);
            if (engineWhy.isPresent()) throw new ConfigException("--nn-engine " + nn.id() + ": " + engineWhy.get());
            CudaProbe.Verdict v = CudaProbe.standard().probe();
            if (v.available() && StandIn.active() && device.equals("auto")) {
                // the stand-in is for seeing the GPU path run, never a silent choice of backend
                notices.println("hybridsam: cuda is the CPU stand-in (" + StandIn.ENV + "=1); --device auto trains on the CPU"
                        + " (--device cuda runs the GPU path on the stand-in)");
                return cpuEngine(model, data, start);
            }
            if (v.available()) {
                try {
                    return CudaTrainingEngine.onGpu(0, model, data.train(), rules, start, nn, cpuBackend(model));
                } catch (DeviceOutOfMemoryException e) {
                    throw new ConfigException("--device " + device + ": " + e.getMessage());
                }
            }
            if (device.equals("cuda")) throw new ConfigException("--device cuda: " + v.describe());
            notices.println("hybridsam: " + v.describe() + "; training on the CPU");
        }
        return cpuEngine(model, data, start);
    }

    /** The CPU engine. */
    private TrainingEngine cpuEngine(Hybrid model, Data data, float[] start) {
        return new CpuTrainingEngine(cpuBackend(model), data.train(), rules, start);
    }

    /** The CPU backend of the model: the task's own for a {@link ComposedTask}, else the ODE backend. */
    CpuBackend cpuBackend(Hybrid model) {
        if (task instanceof ComposedTask composed) return composed.cpu(model, threads);
        return new CpuOdeBackend((OdeHybrid) model, threads);
    }

    /** Every setting of the run, for results.json. */
    Map<String, Object> describe(Data data, Hybrid model) {
        refuseIgnoredOptions(data);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task.name());
        m.put("preset", dataDir == null ? preset : "user data");
        // what a resume checks: the resolved folder, the fingerprint of its files and the shapes
        Map<String, Object> dm = new LinkedHashMap<>();
        dm.put("dir", data.dir().toString());
        dm.put("seed", dataDir == null || data.published() ? (Object) dataSeed : "n/a");
        if (data.published()) dm.put("format", PUBLISHED_FORMAT);
        dm.put("train", data.train().count());
        dm.put("valid", data.valid().count());
        dm.put("test", data.test().count());
        if (data.train() instanceof Sequences s) {
            dm.put("frames", s.frames());
            dm.put("frame_dt", data.frameDt());
        } else if (data.train() instanceof ImageSequences s) {
            dm.put("frames", s.frames());
            dm.put("frame_dt", data.frameDt());
        }
        dm.put("shapes", shapes(data));
        dm.put("fingerprint", data.fingerprint().digest());
        dm.put("files", data.fingerprint().files());
        m.put("data", dm);
        // one layout for one run and for K replicas alike: a run is a list of replicas (of one)
        m.put("replica_count", replicas);
        m.put("epochs", epochs);
        m.put("batch_size", batch);
        m.put("patience", patience);
        m.put("varied", varied.stream().map(RunSetup::hyperparameterKey).toList());
        List<Object> reps = new java.util.ArrayList<>();
        for (int r = 0; r < replicas; r++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("replica", r);
            e.put("seed", seeds[r]);
            e.put("hyperparameters", hyperparameters(r));
            reps.add(e);
        }
        m.put("replicas", reps);
        Map<String, Object> mod = new LinkedHashMap<>(model.describe());
        List<String> names = task.theta().names();
        mod.put("theta_names", names);
        mod.put("theta_init", thetaInit == null ? "middle of the box" : RunResults.byName(thetaInit, names));
        m.put("model", mod);
        if (data.thetaStar() != null) m.put("theta_star", RunResults.byName(data.thetaStar(), names));
        if (data.thetaMn() != null) m.put("theta_mn", RunResults.byName(data.thetaMn(), names));
        m.put("args", resolvedArgs(options.args()));
        return m;
    }

    /** The options that choose data for the cache and are ignored when --data names the folder. */
    private static final List<String> IGNORED_WITH_DATA = List.of("--preset", "--data-seed", "--cache");

    /**
     * Refuses options that would be silently ignored: --preset, --data-seed and --cache choose
     * the generated data set, which --data replaces. (Checked for train only: evaluate --data
     * replaces the data of a run that was started with a preset on purpose.)
     */
    void refuseIgnoredOptions(Data data) {
        if (dataDir == null) return;
        for (String name : IGNORED_WITH_DATA) {
            if (name.equals("--data-seed") && data.published()) continue;  // it splits the published sequences
            if (options.has(name)) {
                throw new ConfigException(name + " " + options.string(name, "") + " has no effect with --data " + dataDir
                        + " (it chooses the generated data set, which --data replaces): give one or the other");
            }
        }
    }

    /**
     * The command line as config.json records it: --data and --cache made absolute, so that a
     * resume from another working folder reads the same folder.
     */
    static List<String> resolvedArgs(List<String> args) {
        List<String> out = new java.util.ArrayList<>(args);
        for (int i = 0; i < out.size(); i++) {
            String a = out.get(i);
            for (String name : List.of("--data", "--cache")) {
                if (a.equals(name) && i + 1 < out.size()) {
                    out.set(i + 1, absolute(out.get(i + 1)));
                } else if (a.startsWith(name + "=")) {
                    out.set(i, name + "=" + absolute(a.substring(name.length() + 1)));
                }
            }
        }
        return out;
    }

    private static String absolute(String path) {
        if (path.isBlank()) return path;
        try {
            return Path.of(path).toAbsolutePath().normalize().toString();
        } catch (java.nio.file.InvalidPathException e) {
            return path;
        }
    }

    /**
     * Called by train --resume before anything is loaded: checks what config.json recorded when
     * the run started against what its settings give now (task, the network's and the replicas'
     * shapes, the resolved data folder) and reads and checks the checkpoint against them; keeps
     * the data's fingerprint for {@link #loadData} to compare. Refuses with the file and field.
     */
    void resuming(Path runDir) {
        Path f = runDir.resolve("config.json");
        Map<String, Object> config = readConfig(f);
        String recordedTask = text(f, config, "task");
        if (!recordedTask.equals(task.name())) {
            throw new DataException(f + ": the run started with task " + recordedTask + " (field \"task\"), its args now say "
                    + task.name() + ": the task cannot change on resume");
        }
        Map<String, Object> data = object(f, config, "data");
        Map<String, Object> mod = object(f, config, "model");
        if (!data.containsKey("fingerprint")) {
            throw new DataException(f + ": no data fingerprint (field \"data.fingerprint\"): the run was started by an older"
                    + " hybridsam, so a resume cannot check its data; start the run again");
        }
        String digest = text(f, data, "data.fingerprint");
        if (!DataFingerprint.wellFormed(digest) || digest.equals(DataFingerprint.MISSING)) {
            throw new DataException(f + ": field \"data.fingerprint\" is not a SHA-256 fingerprint: \"" + digest + "\"");
        }
        Map<String, Object> fileMap = object(f, data, "data.files");
        Map<String, String> files = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : fileMap.entrySet()) {
            String field = "data.files." + e.getKey();
            if (!(e.getValue() instanceof String v)) throw wrongType(f, field, "a string", e.getValue());
            if (!DataFingerprint.wellFormed(v)) throw new DataException(f + ": field \"" + field + "\" is not a SHA-256 fingerprint: \"" + v + "\"");
            files.put(e.getKey(), v);
        }
        if (!files.containsKey(DatasetStore.MANIFEST) && !PUBLISHED_FORMAT.equals(data.get("format"))) {
            throw new DataException(f + ": field \"data.files\" lacks " + DatasetStore.MANIFEST);
        }
        Map<String, Object> shapes = object(f, data, "data.shapes");
        for (Map.Entry<String, Object> e : shapes.entrySet()) {
            if (!(e.getValue() instanceof List<?> l) || !l.stream().allMatch(x -> x instanceof Long)) {
                throw wrongType(f, "data.shapes." + e.getKey(), "an array of integers", e.getValue());
            }
        }
        String recordedDir = text(f, data, "data.dir");
        String recordedCorrector = task instanceof ComposedTask ? "" : text(f, mod, "model.corrector");
        long recordedParams = integer(f, mod, "model.parameters");
        long recordedReplicas = config.containsKey("replica_count") ? integer(f, config, "replica_count") : 1;

        recordedData = new DataFingerprint(digest, files);
        recordedShapes = shapes;
        // a composed task's networks follow its arrays' shapes, which loadData checks against the record
        if (!(task instanceof ComposedTask)) {
            // the network's size follows the recorded frame shape (a grid task's net is sized by its grid)
            List<?> trainShape = shapes.get("train_obs") instanceof List<?> l ? l : List.of();
            if (trainShape.size() < 3) throw wrongType(f, "data.shapes.train_obs", "the shape of an observation array", trainShape);
            int[] frame = trainShape.subList(2, trainShape.size()).stream().mapToInt(x -> (int) (long) (Long) x).toArray();
            Corrector corrector = corrector(task.science(frame, f + " (field \"data.shapes.train_obs\")"));
            int nTheta = task.theta().size();
            int P = nTheta + corrector.parameterCount();
            if (!recordedCorrector.equals(corrector.describe()) || recordedParams != P) {
                throw new DataException(f + ": the network was " + recordedCorrector + " (" + recordedParams + " parameters, fields"
                        + " \"model.corrector\" and \"model.parameters\") when the run started, its args now give "
                        + corrector.describe() + " (" + P + "): the shapes cannot change on resume");
            }
        }
        if (recordedReplicas != replicas) {
            throw new DataException(f + ": the run started with " + recordedReplicas + " replica(s) (field \"replica_count\"),"
                    + " its args now give " + replicas + ": the shapes cannot change on resume");
        }
        Path now = resolvedDataDir();
        Path was;
        try {
            was = Path.of(recordedDir).toAbsolutePath().normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new DataException(f + ": field \"data.dir\" is not a path: " + e.getMessage());
        }
        if (!was.equals(now)) {
            throw new DataException(f + ": the data folder resolved to " + recordedDir + " when the run started (field"
                    + " \"data.dir\"), now to " + now
                    + (dataDir == null ? " (another --cache or HYBRIDSAM_CACHE)" : " (--data " + dataDir + ")")
                    + "; resume with the data the run started with");
        }
    }

    /**
     * A field of dir/config.json besides the run's settings, as {key: value}, or null when the
     * file does not have it (train --resume carries train --rho auto's record this way).
     */
    static Map<String, Object> recorded(Path dir, String key) {
        Map<String, Object> config = readConfig(dir.resolve("config.json"));
        if (!config.containsKey(key)) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(key, config.get(key));
        return m;
    }

    private static Map<String, Object> readConfig(Path f) {
        if (!Files.isRegularFile(f)) throw new DataException(f + ": not found (is " + f.getParent() + " a hybridsam run folder?)");
        try {
            return Json.object(Json.parse(Files.readString(f)), f.toString());
        } catch (IOException e) {
            throw new DataException(f + ": cannot read: " + e.getMessage(), e);
        } catch (Json.ParseException e) {
            throw new DataException(f + ": malformed JSON: " + e.getMessage(), e);
        }
    }

    private static String text(Path f, Map<String, Object> m, String field) {
        Object v = m.get(last(field));
        if (!(v instanceof String s)) throw wrongType(f, field, "a string", v);
        return s;
    }

    private static long integer(Path f, Map<String, Object> m, String field) {
        Object v = m.get(last(field));
        if (!(v instanceof Long l)) throw wrongType(f, field, "an integer", v);
        return l;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Path f, Map<String, Object> m, String field) {
        Object v = m.get(last(field));
        if (!(v instanceof Map)) throw wrongType(f, field, "an object", v);
        return (Map<String, Object>) v;
    }

    private static String last(String field) {
        return field.substring(field.lastIndexOf('.') + 1);
    }

    private static DataException wrongType(Path f, String field, String expected, Object v) {
        String found = v == null ? "missing" : v instanceof String s ? "the string \"" + s + "\"" : v instanceof Map ? "an object"
                : v instanceof List ? "an array" : v instanceof Boolean ? "the boolean " + v : "the number " + v;
        return new DataException(f + ": field \"" + field + "\" must be " + expected + " but is " + found);
    }

    /** A run's settings parsed from its command line (train's, without --resume, or a recorded one). */
    static RunSetup of(List<String> args) {
        return new RunSetup(options(args));
    }

    private static Options options(List<String> args) {
        return Options.parse("train", OPTIONS, args);
    }

    /**
     * The command line a run was started with, from its config.json; every element must be a
     * string and the options must still make a valid run (an edited config.json is refused with
     * the file and the field, never half-used).
     */
    static List<String> argsOf(Path runDir) {
        Path f = runDir.resolve("config.json");
        if (!Files.isRegularFile(f)) throw new DataException(f + ": not found (is " + runDir + " a hybridsam run folder?)");
        Map<String, Object> m = readConfig(f);
        Object a = m.get("args");
        if (!(a instanceof List<?> list)) throw wrongType(f, "args", "an array of strings", a);
        List<String> args = new java.util.ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String s)) throw wrongType(f, "args[" + i + "]", "a string", list.get(i));
            args.add(s);
        }
        try {
            new RunSetup(options(args));
        } catch (ConfigException e) {
            throw new DataException(f + ": field \"args\": " + e.getMessage());
        }
        return List.copyOf(args);
    }
}
