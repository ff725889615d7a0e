package hybridsam.cli;

import hybridsam.io.AtomicFiles;
import hybridsam.io.ConfigException;
import hybridsam.io.DataException;
import hybridsam.io.Json;
import hybridsam.io.PngMark;
import hybridsam.io.RunLock;
import hybridsam.tasks.Tasks;
import hybridsam.train.Checkpoint;
import hybridsam.train.Method;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code hybridsam sweep}: a grid over tasks × methods × hyperparameter lists × seeds, trained as
 * replica groups ({@code train --replicas K} with per-replica lists, in this JVM) in
 * {@code DIR/groups/TASK[-N]/}, resumable, with one summary over the seeds of each cell
 * ({@code summary.csv}, {@code summary.json}, {@code summary.md}) and two charts
 * ({@code sweep-theta.png}, {@code sweep-mse.png}).
 *
 * <p>A cell is a method with one value of each listed hyperparameter that the method uses
 * ({@link RunSetup#USED_BY}): erm with {@code --rho 0.02,0.05} is one cell. {@code DIR/sweep.json}
 * records the grid when the sweep starts; a rerun of the same command (or {@code sweep --resume
 * DIR}) skips the groups that finished, continues the others with {@code train --resume}, and
 * refuses another grid. Each group is a normal run folder that train locks while it trains; the
 * sweep locks DIR only while it writes its own files there.
 */
final class Sweep {
    static final String FILE = "sweep.json";
    /** The schema of sweep.json and of summary.json. */
    static final String SCHEMA = "hybridsam-sweep", SUMMARY_SCHEMA = "hybridsam-sweep-summary";
    static final int SCHEMA_VERSION = 1;
    static final String CSV = "summary.csv", JSON = "summary.json", MD = "summary.md";
    static final String THETA_PNG = "sweep-theta.png", MSE_PNG = "sweep-mse.png";
    /** The folder under DIR that holds the groups' run folders. */
    static final String GROUPS = "groups";
    /** The files the sweep writes into DIR (besides groups/ and the lock). */
    static final List<String> FILES = List.of(FILE, JSON, CSV, MD, THETA_PNG, MSE_PNG);

    /**
     * The options that say where the runs train, what they print and whether charts are drawn,
     * not what they compute: a rerun may change them (the others make the grid). A group that
     * already started keeps its own (train --resume takes only where it continues).
     */
    static final Set<String> NOT_GRID = Set.of("--threads", "--device", "--nn-engine", "--quiet", "--log-every", "--no-plots");

    /** The hyperparameter axes of the grid: train's per-replica options but --method and --seed. */
    static final List<String> AXES = RunSetup.PER_REPLICA.stream().filter(n -> !n.equals("--method") && !n.equals("--seed")).toList();

    /**
     * sweep's options: train's table (RunSetup.OPTIONS) with --task taking a list, --seeds N
     * beside --seed, --group-size in place of --replicas and the sweep's own --out; every other
     * option is train's and passed to each group as it is.
     */
    static final List<Options.Def> OPTIONS = options();

    /** The options that make the grid itself (the rest are passed to train). */
    private static final Set<String> OWN = ownOptions();

    /** The options without a value. */
    private static final Set<String> FLAGS = OPTIONS.stream().filter(d -> !d.valued()).map(Options.Def::name).collect(Collectors.toUnmodifiableSet());

    private static List<Options.Def> options() {
        List<Options.Def> l = new ArrayList<>();
        for (Options.Def d : RunSetup.OPTIONS) {
            switch (d.name()) {
                case "--task" -> l.add(new Options.Def("--task", Options.Type.TEXTS, d.label(), d.section(),
                        "the tasks, comma-separated: " + d.description(), d.candidates()));
                case "--seed" -> {
                    l.add(new Options.Def("--seeds", Options.Type.INT, "N", d.section(), "train every cell with seeds 0..N-1 (default: seed 0 alone)"));
                    l.add(new Options.Def("--seed", d.type(), d.label(), d.section(), "the seeds, comma-separated (instead of --seeds N)"));
                }
                case "--out" -> l.add(new Options.Def("--out", Options.Type.PATH, "DIR", d.section(), "the sweep's folder: new or empty,"
                        + " or a sweep of the same grid, which the sweep continues (default runs/sweep-TASKS-METHODS)"));
                case "--no-plots" -> l.add(new Options.Def("--no-plots", Options.Type.FLAG, null, d.section(),
                        "draw neither the sweep's charts (sweep-theta.png, sweep-mse.png) nor the groups' loss.png and theta.png"));
                case "--replicas" -> l.add(new Options.Def("--group-size", Options.Type.INT, "G", d.section(),
                        "at most G runs in a replica group (default: all of a task's runs in one group)"));
                default -> l.add(d);
            }
        }
        return List.copyOf(l);
    }

    private static Set<String> ownOptions() {
        Set<String> s = new HashSet<>(List.of("--task", "--method", "--seed", "--seeds", "--out", "--group-size", "--resume"));
        s.addAll(AXES);
        return Set.copyOf(s);
    }

    private final PrintStream out, err;

    Sweep(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    // ---------------------------------------------------------------- the grid

    /** A cell: a method and the value of each listed hyperparameter it uses (by key: "rho", "lr_nn"). */
    record Cell(String method, Map<String, Double> values) {
        /** "fsam ρ=0.05": the method and its values of the given keys (those that tell cells apart). */
        String label(List<String> keys) {
            StringBuilder b = new StringBuilder(method);
            for (Map.Entry<String, Double> e : values.entrySet()) {
                if (keys.contains(e.getKey())) b.append(' ').append(Plots.symbol(e.getKey())).append('=').append(Plots.value(e.getValue()));
            }
            return b.toString();
        }
    }

    /** One run: a cell (its index) and a seed. */
    record Run(int cell, long seed) {
    }

    /**
     * A replica group: its folder's name under groups/, its task, its runs (replica r is run r),
     * train's options that make it (without --out and the options of NOT_GRID) and its epochs.
     */
    record Group(String name, String task, List<Run> runs, List<String> train, int epochs) {
        String folder() {
            return GROUPS + "/" + name;
        }
    }

    /** The grid of a sweep's options: its cells and groups, checked as train would check them. */
    static final class Plan {
        final List<String> tasks = new ArrayList<>(), methods = new ArrayList<>();
        final List<Long> seeds = new ArrayList<>();
        /** The hyperparameter axes given: option name to values, in the order of RunSetup.PER_REPLICA. */
        final Map<String, List<Double>> axes = new LinkedHashMap<>();
        /** At most this many runs a group (0: a task's runs in one group). */
        final int groupSize;
        /** The options passed to train as given (a flag's value "true"; --data and --cache made absolute). */
        final Map<String, String> passed = new LinkedHashMap<>();
        final List<Cell> cells = new ArrayList<>();
        final List<Group> groups = new ArrayList<>();
        /** Each task's and method's default value of a hyperparameter, for the methods that do not use it. */
        private final Map<String, Map<String, Object>> defaults = new HashMap<>();

        Plan(Options o) {
            for (String t : distinct("--task", RunSetup.elements("--task", o.string("--task", "pendulum")))) tasks.add(Tasks.byName(t).name());
            for (String m : distinct("--method", RunSetup.elements("--method", o.string("--method", "fsam")))) methods.add(Method.parse(m).id());
            if (new HashSet<>(methods).size() < methods.size()) throw new ConfigException("--method: a method is listed twice");
            if (o.has("--seeds") && o.has("--seed")) {
                throw new ConfigException("--seeds " + o.string("--seeds", "") + " and --seed " + o.string("--seed", "")
                        + " both give the seeds: give one (--seeds N: 0..N-1; --seed a,b,c: those)");
            }
            if (o.has("--seeds")) {
                int n = o.intValue("--seeds", 1);
                if (n < 1) throw new ConfigException("--seeds must be at least 1 (got " + n + ")");
                for (long s = 0; s < n; s++) seeds.add(s);
            } else if (o.has("--seed")) {
                for (String s : distinct("--seed", RunSetup.elements("--seed", o.string("--seed", null)))) seeds.add(whole("--seed", s));
            } else {
                seeds.add(0L);
            }
            for (String name : AXES) {
                if (!o.has(name)) continue;
                List<Double> values = new ArrayList<>();
                for (String v : RunSetup.elements(name, o.string(name, null))) {
                    double x = number(name, v);
                    if (values.contains(x)) throw new ConfigException(name + ": " + v + " is listed twice (in '" + o.string(name, "") + "')");
                    values.add(x);
                }
                String key = RunSetup.hyperparameterKey(name);
                if (methods.stream().noneMatch(m -> RunSetup.uses(m, key))) {
                    // a list that would change nothing is refused, not ignored
                    throw new ConfigException(name + " " + o.string(name, "") + ": no method of the sweep (" + String.join(", ", methods)
                            + ") uses it (" + key + " is " + String.join(", ", RunSetup.USED_BY.get(key).stream().sorted().toList()) + "'s)");
                }
                axes.put(name, List.copyOf(values));
            }
            if (o.has("--group-size")) {
                groupSize = o.intValue("--group-size", 0);
                if (groupSize < 1) throw new ConfigException("--group-size must be at least 1 (got " + groupSize + ")");
            } else {
                groupSize = 0;
            }
            for (String name : o.names()) {
                if (OWN.contains(name)) continue;
                String v = o.string(name, "");
                if (name.equals("--data") || name.equals("--cache")) v = RunSetup.resolvedArgs(List.of(name, v)).get(1);
                passed.put(name, v);
            }
            for (String m : methods) {
                List<Map<String, Double>> combos = new ArrayList<>();
                combos.add(new LinkedHashMap<>());
                for (Map.Entry<String, List<Double>> axis : axes.entrySet()) {
                    String key = RunSetup.hyperparameterKey(axis.getKey());
                    if (!RunSetup.uses(m, key)) continue; // a value the method ignores does not multiply its cells
                    List<Map<String, Double>> next = new ArrayList<>();
                    for (Map<String, Double> c : combos) {
                        for (double v : axis.getValue()) {
                            Map<String, Double> n = new LinkedHashMap<>(c);
                            n.put(key, v);
                            next.add(n);
                        }
                    }
                    combos = next;
                }
                for (Map<String, Double> c : combos) cells.add(new Cell(m, c));
            }
            for (String task : tasks) {
                List<Run> runs = new ArrayList<>();
                for (int c = 0; c < cells.size(); c++) for (long s : seeds) runs.add(new Run(c, s));
                int size = groupSize == 0 ? runs.size() : groupSize;
                if (size > RunSetup.MAX_REPLICAS) {
                    throw new ConfigException(task + ": " + runs.size() + " runs (" + cells.size() + " cells x " + seeds.size()
                            + " seeds), more than one replica group holds (" + RunSetup.MAX_REPLICAS + "); give --group-size G");
                }
                int count = (runs.size() + size - 1) / size;
                for (int k = 0; k < count; k++) {
                    List<Run> part = List.copyOf(runs.subList(k * size, Math.min(runs.size(), (k + 1) * size)));
                    String name = count == 1 ? task : task + "-" + (k + 1);
                    List<String> train = trainArgs(task, part);
                    RunSetup setup;
                    try {
                        // every replica's settings checked as train checks them, before anything is written
                        List<String> all = new ArrayList<>(train);
                        all.addAll(notGrid());
                        setup = RunSetup.of(all);
                    } catch (ConfigException e) {
                        throw new ConfigException(e.getMessage() + " (group " + name + ")");
                    }
                    groups.add(new Group(name, task, part, List.copyOf(train), setup.epochs));
                }
            }
        }

        private static long whole(String option, String v) {
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new ConfigException(option + ": '" + v + "' is not a whole number");
            }
        }

        private static double number(String option, String v) {
            try {
                return Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new ConfigException(option + ": '" + v + "' is not a number");
            }
        }

        /** The elements, refusing one given twice. */
        private static List<String> distinct(String option, String[] elements) {
            Set<String> seen = new HashSet<>();
            for (String e : elements) {
                if (!seen.add(e)) throw new ConfigException(option + ": " + e + " is listed twice");
            }
            return List.of(elements);
        }

        /** train's options for the runs of a group (without --out and the options of NOT_GRID). */
        private List<String> trainArgs(String task, List<Run> runs) {
            List<String> a = new ArrayList<>(List.of("--task", task));
            for (Map.Entry<String, String> e : passed.entrySet()) {
                if (NOT_GRID.contains(e.getKey())) continue;
                a.add(e.getKey());
                if (!FLAGS.contains(e.getKey())) a.add(e.getValue());
            }
            a.add("--replicas");
            a.add(String.valueOf(runs.size()));
            a.add("--method");
            a.add(runs.stream().map(r -> cells.get(r.cell()).method()).collect(Collectors.joining(",")));
            a.add("--seed");
            a.add(runs.stream().map(r -> String.valueOf(r.seed())).collect(Collectors.joining(",")));
            for (String name : axes.keySet()) {
                String key = RunSetup.hyperparameterKey(name);
                a.add(name);
                a.add(runs.stream().map(r -> {
                    Cell c = cells.get(r.cell());
                    // a method that does not use the hyperparameter gets the value it has when it is not
                    // given, so that its replica is the run trained alone, recorded settings included
                    return text(c.values().containsKey(key) ? c.values().get(key) : ((Number) defaultOf(task, c.method(), key)).doubleValue());
                }).collect(Collectors.joining(",")));
            }
            return a;
        }

        private Object defaultOf(String task, String method, String key) {
            return defaults.computeIfAbsent(task + " " + method, k -> RunSetup.of(List.of("--task", task, "--method", method)).rule.toMap()).get(key);
        }

        /** The options of NOT_GRID given, as train takes them. */
        List<String> notGrid() {
            List<String> a = new ArrayList<>();
            for (Map.Entry<String, String> e : passed.entrySet()) {
                if (!NOT_GRID.contains(e.getKey())) continue;
                a.add(e.getKey());
                if (!FLAGS.contains(e.getKey())) a.add(e.getValue());
            }
            return a;
        }

        /**
         * The keys ("rho", "lr_nn") of the hyperparameters listed with more than one value: those
         * that tell cells apart, shown as the summary's columns and in the charts' labels (a single
         * value applies to every cell, as in train).
         */
        List<String> variedKeys() {
            return axes.entrySet().stream().filter(e -> e.getValue().size() > 1).map(e -> RunSetup.hyperparameterKey(e.getKey())).toList();
        }

        boolean plots() {
            return !passed.containsKey("--no-plots");
        }

        boolean quiet() {
            return passed.containsKey("--quiet");
        }

        /**
         * What makes the grid, as sweep.json records it and a rerun must match: option name (and
         * "seeds") to value; the options of NOT_GRID left out.
         */
        Map<String, Object> grid() {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("--task", tasks);
            g.put("--method", methods);
            g.put("seeds", seeds);
            g.putAll(axes);
            if (groupSize > 0) g.put("--group-size", groupSize);
            for (Map.Entry<String, String> e : passed.entrySet()) {
                if (!NOT_GRID.contains(e.getKey())) g.put(e.getKey(), FLAGS.contains(e.getKey()) ? (Object) true : e.getValue());
            }
            return normalized(g);
        }

        /** sweep.json's groups: each one's folder, task, runs (with their cell's settings), epochs and train's options. */
        List<Object> groupRecords() {
            List<Object> l = new ArrayList<>();
            for (Group g : groups) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", g.name());
                m.put("folder", g.folder());
                m.put("task", g.task());
                List<Object> runs = new ArrayList<>();
                for (int r = 0; r < g.runs().size(); r++) {
                    Run run = g.runs().get(r);
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("replica", r);
                    e.put("cell", run.cell());
                    e.put("method", cells.get(run.cell()).method());
                    e.put("hyperparameters", cells.get(run.cell()).values());
                    e.put("seed", run.seed());
                    runs.add(e);
                }
                m.put("runs", runs);
                m.put("epochs", g.epochs());
                m.put("train", g.train());
                l.add(m);
            }
            return normalized(l);
        }

        String defaultOut() {
            return "runs/sweep-" + String.join("+", tasks) + "-" + String.join("+", methods);
        }
    }

    /** A value as JSON reads it back (Integer as Long, ...), for comparisons with a file's. */
    @SuppressWarnings("unchecked")
    private static <T> T normalized(T value) {
        return (T) Json.parse(Json.write(value));
    }

    /** A number as short as it reads back exactly (0.05, 0.001, 1.0E-10). */
    static String text(double v) {
        String plain = BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
        return plain.length() <= 12 ? plain : Double.toString(v);
    }

    // ---------------------------------------------------------------- the command

    /** hybridsam sweep (its options parsed by picocli); the exit status. */
    int run(Options given) {
        Path resume = null;
        Options o = given;
        if (given.has("--resume")) {
            String where = given.string("--resume", "");
            if (where.isBlank()) throw new ConfigException("--resume: empty value (give the sweep's folder)");
            resume = Path.of(where);
            List<String> overrides = Main.resumeOverrides(given);
            if (!Files.isDirectory(resume)) throw new DataException(resume + ": no such folder (give a sweep's folder)");
            Recorded rec = Recorded.read(resume.resolve(FILE));
            try {
                o = Options.parse("sweep", OPTIONS, Main.resumedArgs(rec.command(), overrides));
            } catch (ConfigException e) {
                if (overrides.isEmpty()) throw new DataException(rec.file() + ": field \"command\": " + e.getMessage());
                throw e;
            }
        }
        Plan plan = new Plan(o);
        if (resume == null && o.has("--out") && o.string("--out", "").isBlank()) {
            throw new ConfigException("--out: empty value (give the sweep's folder)");
        }
        Path dir = resume != null ? resume : Path.of(o.string("--out", plan.defaultOut()));
        Main.checkWritable(dir);
        if (isSweep(dir)) {
            // a sweep.json that is not a sweep's, or a file the sweep would replace that is not its own, is
            // refused before the folder is touched (the lock below would add a file to it)
            Recorded.read(dir.resolve(FILE));
            refuseForeign(dir, plan);
        }
        List<String> command = RunSetup.resolvedArgs(o.args());
        // sweep.json: written when the sweep starts, checked against the grid on a rerun
        try (RunLock lock = lock(dir)) {
            removeLeftoverTemps(dir);
            if (!isSweep(dir)) {
                writeJson(dir.resolve(FILE), record(plan, command), false);
            } else {
                Recorded rec = Recorded.read(dir.resolve(FILE));
                List<String> diff = differences(rec.grid(), plan.grid());
                if (diff.isEmpty() && !Objects.equals(rec.groups(), plan.groupRecords())) {
                    diff = List.of("its groups (" + rec.file() + ", field \"groups\") are not those this hybridsam makes of the same grid");
                }
                if (!diff.isEmpty()) {
                    if (anyGroupStarted(dir)) {
                        throw new ConfigException(dir + " holds a sweep of another grid: " + String.join("; ", diff)
                                + ". Nothing was changed: continue that sweep with hybridsam sweep --resume " + dir
                                + ", or give this grid another --out");
                    }
                    err.println("hybridsam sweep: " + dir.resolve(FILE) + " recorded another grid (" + String.join("; ", diff)
                            + ") but no group had started; it now records this one");
                    writeJson(dir.resolve(FILE), record(plan, command), true);
                }
            }
        }
        int status = trainGroups(plan, dir);
        if (status != Main.OK && status != Main.DIVERGED) return status;
        Set<String> failed = new HashSet<>();
        for (Group g : plan.groups) if (!Files.exists(dir.resolve(g.folder()).resolve("results.json"))) failed.add(g.name());
        SweepSummary summary = SweepSummary.of(plan, dir, failed);
        try (RunLock lock = lock(dir)) {
            refuseForeign(dir, plan);
            removeLeftoverTemps(dir);
            writeText(dir.resolve(JSON), Json.write(summary.json(plan)));
            writeText(dir.resolve(CSV), summary.csv(plan));
            String md = summary.markdown(plan);
            writeText(dir.resolve(MD), md);
            List<Path> figures = plan.plots() ? charts(dir, summary, plan) : List.of();
            out.print(md);
            out.println();
            for (String f : List.of(CSV, JSON, MD)) out.println("summary         " + dir.resolve(f));
            for (Path f : figures) out.println("figure          " + f);
        }
        if (!failed.isEmpty()) {
            err.println("hybridsam sweep: every run of group" + (failed.size() == 1 ? " " : "s ") + String.join(", ", failed)
                    + " diverged; the summary counts them as diverged");
            return Main.DIVERGED;
        }
        int runs = plan.groups.stream().mapToInt(g -> g.runs().size()).sum();
        err.println("hybridsam sweep: done: " + runs + " run" + (runs == 1 ? "" : "s") + " in " + plan.groups.size() + " group"
                + (plan.groups.size() == 1 ? "" : "s") + "; summary in " + dir);
        return Main.OK;
    }

    /** sweep.json's contents. */
    private static Map<String, Object> record(Plan plan, List<String> command) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("schema_version", SCHEMA_VERSION);
        m.put("command", command);
        m.put("grid", plan.grid());
        List<Object> cells = new ArrayList<>();
        for (Cell c : plan.cells) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("method", c.method());
            e.put("hyperparameters", c.values());
            cells.add(e);
        }
        m.put("cells", cells);
        m.put("groups", plan.groupRecords());
        return m;
    }

    /**
     * Trains the groups in order: skips those with results.json, continues those with a
     * config.json (train --resume: from the checkpoint, or from the beginning when the run stopped
     * before its first one), starts the others. A group whose every run diverged (exit 3) is
     * reported and the others go on; any other failure ends the sweep with its status.
     */
    private int trainGroups(Plan plan, Path dir) {
        int n = plan.groups.size();
        long total = 0, before = 0;
        long[] doneAtStart = new long[n];
        for (int i = 0; i < n; i++) {
            Group g = plan.groups.get(i);
            long work = (long) g.epochs() * g.runs().size();
            total += work;
            Path gdir = dir.resolve(g.folder());
            if (Files.exists(gdir.resolve("results.json"))) doneAtStart[i] = work;
            else if (Files.exists(gdir.resolve(Checkpoint.FILE))) doneAtStart[i] = (long) epochsDone(gdir) * g.runs().size();
            before += doneAtStart[i];
        }
        Progress progress = new Progress(total, before);
        boolean diverged = false;
        // a group's stdout (its replica table and figures) is progress here; the sweep's stdout is its summary
        PrintStream groupOut = plan.quiet() ? new PrintStream(OutputStream.nullOutputStream()) : err;
        for (int i = 0; i < n; i++) {
            Group g = plan.groups.get(i);
            Path gdir = dir.resolve(g.folder());
            String name = "group " + (i + 1) + "/" + n + " " + g.name() + " (" + g.runs().size() + " run" + (g.runs().size() == 1 ? "" : "s") + ")";
            long work = (long) g.epochs() * g.runs().size();
            if (Files.exists(gdir.resolve("results.json"))) {
                err.println("hybridsam sweep: " + name + " finished before (results.json): skipped | " + progress.line());
                continue;
            }
            List<String> argv = new ArrayList<>(List.of("train"));
            String how;
            if (Files.exists(gdir.resolve("config.json"))) {
                argv.addAll(List.of("--resume", gdir.toString()));
                // where it continues may change (as train --resume allows), what it computes may not
                for (String opt : new java.util.TreeSet<>(Main.RESUME_OVERRIDES)) {
                    if (plan.passed.containsKey(opt)) argv.addAll(List.of(opt, plan.passed.get(opt)));
                }
                how = !Files.exists(gdir.resolve(Checkpoint.FILE)) ? "starting again from the beginning (it stopped before its first checkpoint)"
                        : doneAtStart[i] > 0 ? "resuming after epoch " + doneAtStart[i] / g.runs().size() : "resuming from its checkpoint";
            } else {
                argv.addAll(g.train());
                argv.addAll(plan.notGrid());
                argv.addAll(List.of("--out", gdir.toString()));
                how = "starting, " + g.epochs() + " epoch" + (g.epochs() == 1 ? "" : "s");
            }
            err.println("hybridsam sweep: " + name + " " + how + " | " + progress.line());
            long t0 = System.nanoTime();
            int status = new Main(groupOut, err).run(argv.toArray(String[]::new));
            String took = duration((System.nanoTime() - t0) / 1e9);
            if (status == Main.OK) {
                progress.add(work - doneAtStart[i]);
                err.println("hybridsam sweep: " + name + " done in " + took + " | " + progress.line());
            } else if (status == Main.DIVERGED) {
                diverged = true;
                progress.add(work - doneAtStart[i]);
                err.println("hybridsam sweep: " + name + ": every run diverged (after " + took + "); going on with the other groups | " + progress.line());
            } else {
                err.println("hybridsam sweep: " + name + " failed (exit " + status + ", above); the sweep stops here. Rerun the same"
                        + " command, or hybridsam sweep --resume " + dir + ", to continue where it stopped");
                return status;
            }
        }
        return diverged ? Main.DIVERGED : Main.OK;
    }

    /** The epochs a group's checkpoint has done (0 where it cannot be read: train --resume then says why). */
    private static int epochsDone(Path gdir) {
        try {
            return Checkpoint.read(gdir).epochsDone();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** The whole sweep's progress: run-epochs (a group's epochs times its runs) done of all, and an estimate of the time left. */
    private static final class Progress {
        private final long total, before;
        private long done;
        private final long t0 = System.nanoTime();

        Progress(long total, long before) {
            this.total = total;
            this.before = before;
            this.done = before;
        }

        void add(long work) {
            done += work;
        }

        String line() {
            double elapsed = (System.nanoTime() - t0) / 1e9;
            long now = done - before;
            String left = done >= total ? "" : now > 0 ? ", about " + duration((total - done) * elapsed / now) + " left" : "";
            return String.format(Locale.ROOT, "sweep %d/%d run-epochs (%d%%), %s elapsed%s", done, total,
                    total == 0 ? 100 : 100 * done / total, duration(elapsed), left);
        }
    }

    /** 7s, 3m 05s, 2h 04m. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%dh %02dm", s / 3600, (s % 3600) / 60);
    }

    // ---------------------------------------------------------------- the folder

    /** Whether dir holds a sweep (its sweep.json); a new or empty folder gives false; anything else is refused. */
    private static boolean isSweep(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return false;
        if (Files.exists(dir.resolve(FILE), LinkOption.NOFOLLOW_LINKS)) return true;
        List<String> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : "")).sorted().toList();
        } catch (IOException e) {
            throw new DataException(dir + ": cannot list the folder: " + AtomicFiles.reason(e), e);
        }
        // a lock, or temp files of sweep.json, are what a sweep killed as it started leaves
        List<String> other = entries.stream().filter(e -> !e.equals(RunLock.FILE) && FILES.stream().noneMatch(f -> AtomicFiles.isLeftoverTemp(e, f))).toList();
        if (other.isEmpty()) return false;
        throw new ConfigException(dir + " is not empty and holds no sweep (no " + FILE + "; it holds " + Main.listing(other)
                + "); a sweep writes only into a new or empty folder or continues its own, and has changed nothing: choose another --out");
    }

    /** Whether any group folder holds anything of a run (a run started there). */
    private static boolean anyGroupStarted(Path dir) {
        Path groups = dir.resolve(GROUPS);
        if (!Files.isDirectory(groups)) return false;
        try (Stream<Path> s = Files.list(groups)) {
            return s.anyMatch(g -> Stream.of("config.json", Checkpoint.FILE, "results.json").anyMatch(f -> Files.exists(g.resolve(f))));
        } catch (IOException e) {
            throw new DataException(groups + ": cannot list the folder: " + AtomicFiles.reason(e), e);
        }
    }

    /**
     * Refuses a file of the name of one the sweep writes that the sweep did not write (a chart
     * without hybridsam's mark, a summary not in the sweep's form): never replaced.
     */
    private static void refuseForeign(Path dir, Plan plan) {
        List<String> names = new ArrayList<>(List.of(JSON, CSV, MD));
        if (plan.plots()) names.addAll(List.of(THETA_PNG, MSE_PNG));
        for (String name : names) {
            Path f = dir.resolve(name);
            if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS) || own(f)) continue;
            throw new ConfigException(dir + " holds " + name + ", which the sweep writes, but not one the sweep wrote (hybridsam never"
                    + " replaces a file it did not write); move it away" + (name.endsWith(".png") ? ", or give --no-plots" : ""));
        }
    }

    /** Whether f is a file of the sweep's: a marked chart, or a summary in the form the sweep writes. */
    static boolean own(Path f) {
        String name = f.getFileName().toString();
        if (name.endsWith(".png")) return PngMark.isOwn(f);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) return false;
        String head;
        try (InputStream in = Files.newInputStream(f)) {
            head = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return false;
        }
        return switch (name) {
            case CSV -> head.startsWith(SweepSummary.CSV_START);
            case MD -> head.startsWith(SweepSummary.MD_START);
            case JSON -> head.replaceAll("\\s+", "").startsWith("{\"schema\":\"" + SUMMARY_SCHEMA + "\"");
            default -> false;
        };
    }

    private static RunLock lock(Path dir) {
        try {
            return RunLock.acquire(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + AtomicFiles.reason(e), e);
        }
    }

    private void removeLeftoverTemps(Path dir) {
        Main.removeLeftoverTemps(dir, FILES, err);
    }

    private static void writeJson(Path f, Map<String, Object> m, boolean replace) {
        try {
            if (replace) AtomicFiles.writeString(f, Json.write(m));
            else AtomicFiles.writeNew(f, o -> o.write(Json.write(m).getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f + ": " + AtomicFiles.reason(e), e);
        }
    }

    /** Writes a summary file: over the sweep's own (refuseForeign checked), else only where none is. */
    private static void writeText(Path f, String text) {
        try {
            if (Files.exists(f, LinkOption.NOFOLLOW_LINKS)) AtomicFiles.writeString(f, text);
            else AtomicFiles.writeNew(f, o -> o.write(text.getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f + ": " + AtomicFiles.reason(e), e);
        }
    }

    // ---------------------------------------------------------------- sweep.json, read

    /** A sweep.json, read: the command the sweep was started with, its grid and groups. */
    record Recorded(Path file, List<String> command, Map<String, Object> grid, Object groups) {
        static Recorded read(Path f) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new DataException(f + ": not found (is " + f.getParent() + " a sweep's folder?)");
            } catch (IOException e) {
                throw new DataException(f + ": cannot read: " + AtomicFiles.reason(e), e);
            }
            Map<String, Object> m;
            try {
                m = Json.object(Json.parse(text), f.toString());
            } catch (Json.ParseException e) {
                throw new DataException(f + ": malformed JSON: " + e.getMessage(), e);
            }
            String where = f.toString();
            if (!SCHEMA.equals(m.get("schema"))) {
                throw new DataException(where + ": field \"schema\" is " + (m.get("schema") == null ? "missing" : "\"" + m.get("schema") + "\"")
                        + ", not \"" + SCHEMA + "\": not a sweep's file; nothing was changed");
            }
            long v = Json.integer(m, "schema_version", where);
            if (v < 1 || v > SCHEMA_VERSION) {
                throw new DataException(where + ": field \"schema_version\" is " + v + "; this hybridsam reads version " + SCHEMA_VERSION
                        + " (a newer hybridsam wrote it?)");
            }
            List<Object> c = Json.array(m, "command", where);
            List<String> command = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) {
                if (!(c.get(i) instanceof String s)) throw new DataException(where + ": field \"command[" + i + "]\" must be a string");
                command.add(s);
            }
            Map<String, Object> grid = Json.object(m.get("grid"), where + ": field \"grid\"");
            Json.array(m, "groups", where);
            return new Recorded(f, List.copyOf(command), grid, m.get("groups"));
        }
    }

    /** What differs between a recorded grid and this one, one phrase per option ("--epochs: 5 there, 2 now"). */
    static List<String> differences(Map<String, Object> there, Map<String, Object> now) {
        Set<String> keys = new LinkedHashSet<>(there.keySet());
        keys.addAll(now.keySet());
        List<String> d = new ArrayList<>();
        for (String k : keys) {
            Object a = there.get(k), b = now.get(k);
            if (!Objects.equals(a, b)) d.add(k + ": " + show(a) + " there, " + show(b) + " now");
        }
        return d;
    }

    private static String show(Object v) {
        if (v == null) return "not given";
        if (v instanceof Boolean b) return b ? "given" : "not given";
        if (v instanceof List<?> l) return l.stream().map(Sweep::show).collect(Collectors.joining(","));
        if (v instanceof Double d) return text(d);
        return String.valueOf(v);
    }

    // ---------------------------------------------------------------- charts

    /** Draws sweep-theta.png and sweep-mse.png (SweepCharts); a failure to draw skips them with one line. */
    private List<Path> charts(Path dir, SweepSummary summary, Plan plan) {
        List<SweepCharts.Panel> theta = new ArrayList<>(), mse = new ArrayList<>();
        boolean rhoAxis = plan.axes.containsKey("--rho") && plan.axes.get("--rho").size() > 1
                && plan.methods.stream().anyMatch(m -> RunSetup.uses(m, "rho"));
        for (String task : plan.tasks) {
            List<SweepSummary.Row> rows = summary.rows.stream().filter(r -> r.task().equals(task)).toList();
            String metric = rows.stream().map(SweepSummary.Row::thetaMetric).filter(Objects::nonNull).findFirst().orElse(null);
            if (metric != null) theta.add(panel(plan, task, metric, SweepSummary.title(metric), false, rhoAxis, rows));
            mse.add(panel(plan, task, "valid_mse", "validation MSE", true, rhoAxis, rows));
        }
        theta.removeIf(SweepCharts.Panel::empty);
        mse.removeIf(SweepCharts.Panel::empty);
        Map<String, byte[]> pngs;
        try {
            pngs = Plots.drawMarked(() -> {
                Map<String, byte[]> m = new LinkedHashMap<>();
                if (!theta.isEmpty()) m.put(THETA_PNG, SweepCharts.draw(theta));
                if (!mse.isEmpty()) m.put(MSE_PNG, SweepCharts.draw(mse));
                return m;
            });
        } catch (Plots.DrawException e) {
            err.println("hybridsam sweep: plots skipped (" + e.getMessage() + "); the summary is complete");
            return List.of();
        }
        if (theta.isEmpty()) err.println("hybridsam sweep: no " + THETA_PNG + ": no run has a theta error (no theta* in the data)");
        return Plots.write(dir, pngs);
    }

    private static SweepCharts.Panel panel(Plan plan, String task, String metric, String quantity, boolean log, boolean rhoAxis,
                                           List<SweepSummary.Row> rows) {
        List<SweepCharts.Cell> cells = new ArrayList<>();
        List<String> keys = plan.variedKeys();
        for (SweepSummary.Row r : rows) {
            cells.add(new SweepCharts.Cell(r.cell().method(), r.cell().label(keys),
                    r.cell().label(keys.stream().filter(k -> !k.equals("rho")).toList()),
                    rhoAxis ? r.cell().values().get("rho") : null, r.values().get(metric).stream().mapToDouble(Double::doubleValue).toArray()));
        }
        return new SweepCharts.Panel(task, quantity, log, rhoAxis, cells);
    }
}
