package hybridsam.cli;

import hybridsam.cpu.CpuBackend;
import hybridsam.io.AtomicFiles;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.Json;
import hybridsam.io.RunLock;
import hybridsam.model.Hybrid;
import hybridsam.tasks.Task;
import hybridsam.tasks.Tasks;
import hybridsam.train.Checkpoint;
import hybridsam.io.ConfigException;
import hybridsam.train.DivergenceException;
import hybridsam.train.Method;
import hybridsam.train.Trainer;
import hybridsam.train.TrainingEngine;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.CharBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** The `hybridsam` command line (through picocli): generate, train, sweep, evaluate, plot, devices, completion. */
public final class Main {
    public static final int OK = 0, FAILED = 1, BAD_INPUT = 2, DIVERGED = 3, CANNOT_WRITE = 4;

    /** The files a run writes into its folder (their leftover temp files are removed on start). */
    private static final List<String> RUN_FILES = List.of("config.json", Checkpoint.FILE, "results.json");

    private final PrintStream out, err;
    /** Standard output's stream when main() made it, to say why writing to it failed. */
    private WatchedOutput watched;

    public Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        // the plots are drawn without a window system (Java2D into an image), also where a display is set
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        String enc = System.getProperty("sun.stdout.encoding");
        java.nio.charset.Charset cs;
        try {
            cs = enc == null ? java.nio.charset.Charset.defaultCharset() : java.nio.charset.Charset.forName(enc);
        } catch (RuntimeException e) {
            cs = java.nio.charset.Charset.defaultCharset();
        }
        WatchedOutput w = new WatchedOutput(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 13));
        Main m = new Main(new PrintStream(w, true, cs), System.err);
        m.watched = w;
        System.exit(m.run(args));
    }

    /** Remembers the last failure of the stream below (PrintStream only keeps a flag). */
    private static final class WatchedOutput extends FilterOutputStream {
        volatile IOException failure;

        WatchedOutput(OutputStream o) {
            super(o);
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }
    }

    /**
     * Runs one command and returns its exit status; never calls System.exit. Standard output that
     * cannot be written (a closed pipe, a full disk) makes a successful command exit 4.
     */
    public int run(String... argv) {
        int status = runCommand(argv);
        if (out.checkError()) {
            IOException why = watched == null ? null : watched.failure;
            err.println("hybridsam" + (argv.length > 0 ? " " + argv[0] : "") + ": cannot write to standard output: "
                    + (why != null ? AtomicFiles.reason(why) : "the stream failed (closed, or the disk is full)"));
            if (status == OK) status = CANNOT_WRITE;
        }
        return status;
    }

    /** generate's options. */
    static final List<Options.Def> GENERATE = List.of(
            new Options.Def("--task", Options.Type.TEXT, "TASK", null, "pendulum (default), duffing, reaction-diffusion, pendulum-images, wind-tunnel or light-tunnel",
                    Tasks.ALL.stream().map(Task::name).toList()),
            new Options.Def("--preset", Options.Type.CHOICE, "PRESET", null, "full (default) or small", List.of("full", "small")),
            new Options.Def("--seed", Options.Type.LONG, "N", null, "seed of the generated data (default 0)"),
            new Options.Def("--out", Options.Type.PATH, "DIR", null, "the folder to write, new or empty (default: the cache's"
                    + " TASK-PRESET-seedN, where train looks)"),
            new Options.Def("--cache", Options.Type.PATH, "DIR", null,
                    "where generated data are kept (default $HYBRIDSAM_CACHE or ~/.cache/hybridsam)"));

    /** evaluate's options. */
    static final List<Options.Def> EVALUATE = List.of(
            new Options.Def("--run", Options.Type.PATH, "DIR", null, "the run's folder (written by train); required"),
            new Options.Def("--split", Options.Type.CHOICE, "SPLIT", null, "test (default), valid or train",
                    List.of("test", "valid", "train")),
            new Options.Def("--data", Options.Type.PATH, "DIR", null, "evaluate on other data (a folder as train --data takes)"),
            new Options.Def("--replica", Options.Type.INT, "R", null, "evaluate replica R (0-based) alone (default: all)"),
            new Options.Def("--json", Options.Type.FLAG, null, null, "print the result as JSON"));

    /** plot's options (the run's folder may also be given as the one argument: plot DIR). */
    static final List<Options.Def> PLOT = List.of(
            new Options.Def("--run", Options.Type.PATH, "DIR", null, "the finished run's folder (written by train); or give it as the argument"));

    static final List<String> COMMANDS = List.of("generate", "train", "sweep", "tune", "evaluate", "plot", "devices", "completion");

    /** train's --resume, an option of the command line only (a run's recorded args never hold it). */
    static final Options.Def RESUME = new Options.Def("--resume", Options.Type.PATH, "DIR", "run", Help.RESUME);

    /**
     * The command line: picocli's commands, their options made from the tables (RunSetup.OPTIONS,
     * GENERATE, EVALUATE), help and the bash completion made from them.
     */
    static CommandLine commandLine() {
        CommandSpec root = Options.command("hybridsam", List.of());
        Help.main(root);
        CommandLine cl = Options.configure(new CommandLine(root));
        CommandSpec train = Options.command("train", RunSetup.OPTIONS);
        train.addOption(Options.option(RESUME));
        Help.train(train, RunSetup.OPTIONS);
        CommandSpec sweep = Options.command("sweep", Sweep.OPTIONS);
        sweep.addOption(Options.option(new Options.Def("--resume", Options.Type.PATH, "DIR", "run", Help.SWEEP_RESUME)));
        Help.sweep(sweep, Sweep.OPTIONS);
        List<Options.Def> tuneOptions = Tune.options();
        CommandSpec tune = Options.command("tune", tuneOptions);
        Help.tune(tune, tuneOptions);
        CommandSpec generate = Options.command("generate", GENERATE);
        Help.generate(generate, GENERATE);
        CommandSpec evaluate = Options.command("evaluate", EVALUATE);
        Help.evaluate(evaluate, EVALUATE);
        CommandSpec plot = Options.command("plot", PLOT);
        plot.addPositional(picocli.CommandLine.Model.PositionalParamSpec.builder().index("0").arity("0..1").paramLabel("DIR")
                .type(Path.class).description("the finished run's folder (as --run DIR)").build());
        Help.plot(plot, PLOT);
        CommandSpec devices = Options.command("devices", List.of());
        Help.devices(devices);
        CommandSpec completion = Options.command("completion", List.of());
        Help.completion(completion);
        cl.addSubcommand("train", Options.configure(new CommandLine(train)));
        cl.addSubcommand("sweep", Options.configure(new CommandLine(sweep)));
        cl.addSubcommand("tune", Options.configure(new CommandLine(tune)));
        cl.addSubcommand("generate", Options.configure(new CommandLine(generate)));
        cl.addSubcommand("evaluate", Options.configure(new CommandLine(evaluate)));
        cl.addSubcommand("plot", Options.configure(new CommandLine(plot)));
        cl.addSubcommand("devices", Options.configure(new CommandLine(devices)));
        cl.addSubcommand("completion", Options.configure(new CommandLine(completion)));
        CommandLine help = new CommandLine(new CommandLine.HelpCommand());
        help.getCommandSpec().usageMessage().header("the options of a command: hybridsam help COMMAND");
        cl.addSubcommand("help", help);
        cl.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        return cl;
    }

    private int runCommand(String... argv) {
        String cmd = argv.length > 0 ? argv[0] : "";
        CommandLine cl = commandLine();
        cl.setOut(writer(out));
        cl.setErr(writer(err));
        cl.setParameterExceptionHandler((e, args) -> badInput(e, argv));
        cl.setExecutionStrategy(parsed -> {
            Integer help = CommandLine.executeHelpRequest(parsed);
            if (help != null) return help;
            ParseResult sub = parsed.subcommand();
            if (sub == null) {
                // no command: the overview, and a status that says nothing was done
                cl.usage(cl.getOut());
                return BAD_INPUT;
            }
            String name = sub.commandSpec().name();
            List<String> all = Arrays.asList(argv);
            List<String> rest = all.subList(all.indexOf(name) + 1, all.size());
            Options o = Options.of(sub, rest);
            try {
                return switch (name) {
                    case "train" -> train(o);
                    case "sweep" -> new Sweep(out, err).run(o);
                    case "tune" -> tune(o);
                    case "generate" -> generate(o);
                    case "evaluate" -> evaluate(o);
                    case "plot" -> plot(o, sub);
                    case "devices" -> devices();
                    case "completion" -> completion();
                    default -> throw new IllegalStateException("no such command: " + name);
                };
            } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
                // what a command throws is mapped to its exit status here, never printed as a trace by picocli
                return failure(cmd, e);
            }
        });
        int status;
        try {
            status = cl.execute(argv);
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            status = failure(cmd, e);
        }
        cl.getOut().flush();
        cl.getErr().flush();
        return status;
    }

    /**
     * The exit status of a command that failed, and its one line on stderr (the mapping the
     * command line had before picocli; RuntimeExceptions, OutOfMemoryError and StackOverflowError
     * come here, any other Error goes on).
     */
    private int failure(String cmd, Throwable t) {
        try {
            throw t;
        } catch (ConfigException | DataException | RunLock.InUseException e) {
            err.println("hybridsam " + cmd + ": " + e.getMessage());
            return BAD_INPUT;
        } catch (Json.ParseException e) {
            err.println("hybridsam " + cmd + ": malformed JSON: " + e.getMessage());
            return BAD_INPUT;
        } catch (UncheckedIOException e) {
            // the message names what could not be written; make sure it also says why
            String m = e.getMessage(), why = AtomicFiles.reason(e.getCause());
            err.println("hybridsam " + cmd + ": " + m + (m.contains(why) ? "" : " (" + why + ")"));
            return CANNOT_WRITE;
        } catch (hybridsam.cuda.DeviceException e) {
            // out of memory names the bytes and a remedy; other driver errors name the call
            err.println("hybridsam " + cmd + ": " + e.getMessage());
            return FAILED;
        } catch (OutOfMemoryError e) {
            // the estimate before allocation (MemoryBudget) missed: still a message and an exit status, not a trace
            err.println("hybridsam " + cmd + ": out of Java memory (" + e.getMessage() + "); lower --replicas, --batch,"
                    + " --threads or --hidden, or give Java more memory (HYBRIDSAM_JAVA_OPTS=-Xmx...)");
            return BAD_INPUT;
        } catch (Exception | StackOverflowError e) {
            // anything else is a defect of hybridsam: one line, exit 1, the trace only on request
            err.println("hybridsam " + cmd + ": internal error: " + e + " (please report it; HYBRIDSAM_DEBUG=1 prints the trace)");
            if ("1".equals(System.getenv("HYBRIDSAM_DEBUG"))) e.printStackTrace(err);
            return FAILED;
        } catch (Error e) {
            throw e;
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A command line picocli refused (an unknown command or option, a missing value, a value of the
     * wrong type, an option given twice): one line naming it, exit 2.
     */
    private int badInput(ParameterException e, String[] argv) {
        CommandLine where = e.getCommandLine();
        boolean atRoot = where.getParent() == null;
        if (atRoot && e instanceof UnmatchedArgumentException && argv.length > 0 && !argv[0].startsWith("-")) {
            err.println("hybridsam: unknown command '" + argv[0] + "' (commands: " + String.join(", ", COMMANDS) + "; see --help)");
            return BAD_INPUT;
        }
        String name = where.getCommandSpec().qualifiedName(" ");
        String hint = "";
        if (e instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            hint = "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
        }
        err.println(name + ": " + e.getMessage() + hint + " (see " + name + " --help)");
        return BAD_INPUT;
    }

    /** A PrintWriter (picocli's output) onto a PrintStream, in the stream's encoding, whose errors the stream keeps. */
    private static PrintWriter writer(PrintStream s) {
        return new PrintWriter(new Writer() {
            @Override
            public void write(char[] c, int off, int len) {
                s.append(CharBuffer.wrap(c, off, len));
            }

            @Override
            public void flush() {
                s.flush();
            }

            @Override
            public void close() {
                s.flush();
            }
        }, true);
    }

    /** The bash completion script of every command, its options and their values. */
    private int completion() {
        out.print(AutoComplete.bash("hybridsam", commandLine()));
        return OK;
    }

    /**
     * Where a run continues may change, what it computes may not: a resume takes --device,
     * --nn-engine and --threads (e.g. a GPU run continued on the CPU after a GPU fault) in place of
     * the recorded ones, and nothing else.
     */
    static final Set<String> RESUME_OVERRIDES = Set.of("--device", "--nn-engine", "--threads");

    private static void checkOverride(String opt) {
        if (!RESUME_OVERRIDES.contains(opt)) {
            throw new ConfigException("--resume DIR takes only " + String.join(", ", new java.util.TreeSet<>(RESUME_OVERRIDES))
                    + " (where the run continues), not " + opt + ": the run continues with the settings it started with");
        }
    }

    /**
     * The options given beside --resume, as name, value pairs: each checked to be one a resume
     * may change (RESUME_OVERRIDES) before the run or sweep is read.
     */
    static List<String> resumeOverrides(Options given) {
        List<String> overrides = new ArrayList<>();
        for (String name : given.names()) {
            if (name.equals("--resume")) continue;
            checkOverride(name);
            overrides.add(name);
            overrides.add(given.string(name, ""));
        }
        return overrides;
    }

    static List<String> resumedArgs(List<String> recorded, List<String> overrides) {
        List<String> out = new ArrayList<>(recorded);
        for (int i = 0; i < overrides.size(); i += 2) {
            String opt = overrides.get(i);
            checkOverride(opt);
            if (i + 1 >= overrides.size()) throw new ConfigException(opt + ": missing value");
            int at = out.indexOf(opt);
            if (at >= 0) out.subList(at, at + 2).clear();
            out.removeIf(a -> a.startsWith(opt + "="));
            out.add(opt);
            out.add(overrides.get(i + 1));
        }
        return out;
    }

    private int train(Options given) {
        if (!given.has("--resume") && given.has("--rho")
                && Arrays.stream(given.string("--rho", "").split(",", -1)).anyMatch(x -> x.trim().equals("auto"))) {
            return trainAuto(given);
        }
        return train(given, null);
    }

    /**
     * A run (or its resume); extra: what config.json and results.json record besides the run's
     * settings (train --rho auto's choice), or null (a resume carries what its config.json recorded).
     */
    private int train(Options given, Map<String, Object> extra) {
        Path resume = null;
        Options o = given;
        if (given.has("--resume")) {
            String where = given.string("--resume", "");
            if (where.isBlank()) throw new ConfigException("--resume: empty value (give the run's folder)");
            resume = Path.of(where);
            List<String> overrides = resumeOverrides(given);
            o = Options.parse("train", RunSetup.OPTIONS, resumedArgs(RunSetup.argsOf(resume), overrides));
        }
        RunSetup setup = new RunSetup(o);
        int K = setup.replicas;
        Path dir = resume != null ? resume
                : Path.of(o.string("--out", "runs/" + setup.task.name() + "-" + setup.methodLabel()
                        + (K == 1 ? "-seed" + setup.seed : "-replicas" + K)));
        if (resume == null && o.has("--out") && o.string("--out", "").isBlank()) {
            throw new ConfigException("--out: empty value (give the folder the run writes to)");
        }
        RunLock.checkFree(dir);
        refuseOccupied(dir, resume);
        refuseForeignFigures(dir, setup);
        if (resume != null) setup.resuming(dir); // config.json's record against the run's task, shapes and data
        if (resume != null && extra == null) extra = RunSetup.recorded(dir, Tune.RHO_AUTO);
        checkWritable(dir);
        RunSetup.Data data = setup.loadData();
        Hybrid model = setup.model(data);
        Trainer.Plan plan = new Trainer.Plan(data.train(), data.valid(), data.test(), model.thetaSpec(),
                data.thetaStar(), data.thetaMn(), setup.epochs, setup.batch, setup.patience, setup.seeds.clone(),
                setup.task.thetaUpToScale(), setup.schedules.clone());
        boolean dirExisted = Files.exists(dir);
        try (RunLock lock = lock(dir)) {
            // again, now that no other run can change the folder
            refuseOccupied(dir, resume);
            refuseForeignFigures(dir, setup);
            removeLeftoverTemps(dir, setup.finishFiles());
            Checkpoint checkpoint = null;
            if (resume != null) {
                if (Files.exists(dir.resolve(Checkpoint.FILE))) {
                    // read once, under the lock: verified (checksum, contents) and checked against the run's shapes
                    checkpoint = Checkpoint.read(dir);
                    checkpoint.checkShape(dir, K, model.parameterCount(), model.thetaCount());
                } else {
                    err.println("hybridsam: " + dir + " has no checkpoint (the run stopped before its first epoch ended);"
                            + " starting it from the beginning with its recorded settings");
                }
            }
            try (TrainingEngine engine = setup.engine(model, data, err)) {
                Map<String, Object> config = setup.describe(data, model);
                config.put("backend", engine.describe());
                if (extra != null) config.putAll(extra);
                if (resume == null) {
                    writeJson(dir, "config.json", config);
                }
                boolean quiet = o.flag("--quiet");
                int logEvery = o.intValue("--log-every", 10);
                ProgressLine progress = new ProgressLine(err, System.console() != null && !quiet, quiet, logEvery, setup.task.theta().names());
                err.println("hybridsam: training " + setup.task.name() + " with " + setup.methodLabel()
                        + (K == 1 ? "" : ", " + K + " replicas (seeds " + ReplicaSummary.seedRange(setup.seeds) + ")")
                        + " on " + engine.describe() + ", " + setup.epochs + " epochs, batch " + setup.batch
                        + (checkpoint != null ? ", resuming after epoch " + checkpoint.epochsDone() : resume != null ? ", from the beginning" : "")
                        + "; output in " + dir);
                long t0 = System.nanoTime();
                Trainer trainer = new Trainer(engine, plan, dir, progress);
                List<Map<String, Object>> results;
                try {
                    results = trainer.run(checkpoint);
                } catch (DivergenceException e) {
                    progress.finishLine();
                    err.println("hybridsam train: " + e.getMessage());
                    boolean kept = Files.exists(dir.resolve(Checkpoint.FILE));
                    if (!kept && resume == null) removeFreshRun(dir, dirExisted);
                    err.println(kept
                            ? "  the last good checkpoint (end of epoch " + (e.epoch - 1) + ") is kept in " + dir.resolve(Checkpoint.FILE)
                            : resume == null ? "  no checkpoint was written (it diverged in the first epoch), so nothing is left in " + dir
                            : "  no checkpoint was written (it diverged in the first epoch); " + dir + " keeps its config.json");
                    err.println("  try a smaller --lr-nn / --lr-theta, a gradient clip (--clip 5), or a smaller --rho");
                    return DIVERGED;
                }
                progress.finishLine();
                double wall = (System.nanoTime() - t0) / 1e9;
                // one schema for one run and for K replicas: a run is a list of replicas (of one)
                Map<String, Object> res = new LinkedHashMap<>();
                res.put("schema", RunResults.SCHEMA);
                res.put("schema_version", RunResults.SCHEMA_VERSION);
                res.putAll(config);
                List<String> names = setup.task.theta().names();
                for (Map<String, Object> r : results) RunResults.nameTheta(r, names);
                res.put("replicas", ReplicaSummary.merge(config, results));
                res.put("summary", ReplicaSummary.of(results, setup));
                res.put("wall_seconds", wall);
                res.put("train_seconds", trainer.trainSeconds());
                res.put("steps", trainer.steps());
                res.put("steps_per_second", trainer.steps() / Math.max(trainer.trainSeconds(), 1e-9));
                long gradsPerStep = 0;
                for (var rule : setup.rules) gradsPerStep += rule.method().perturbs() ? 2 : 1;
                res.put("replica_steps_per_second", K * trainer.steps() / Math.max(trainer.trainSeconds(), 1e-9));
                res.put("gradient_evaluations", trainer.steps() * gradsPerStep);
                writeJson(dir, "results.json", res);
                if (K == 1) printSummary(res, names);
                else ReplicaSummary.printTable(out, res, setup);
                for (Path f : writeFigures(setup, model, data, dir, err, false)) out.println("figure          " + f);
                if (setup.plots()) {
                    for (Path f : Plots.afterTraining(dir, err)) out.println("figure          " + f);
                }
                return OK;
            }
        }
    }

    /**
     * hybridsam tune: erm and the method at every candidate ρ as one replica group in --out, the
     * choice by validation error alone into its tuning.json, a table and the train command to use.
     */
    private int tune(Options o) {
        String m = o.string("--method", "fsam");
        for (String name : RunSetup.PER_REPLICA) {
            if (o.has(name) && o.string(name, "").contains(",")) {
                throw new ConfigException(name + " " + o.string(name, "") + ": tune trains erm and the method once per candidate"
                        + " from the same settings; give " + name + " one value (the group's lists are tune's own)");
            }
        }
        Method method = Method.parse(m.trim());
        if (!method.perturbs()) {
            throw new ConfigException("--method " + m + ": tune chooses the rho of sam, asam or fsam (erm is trained beside it)");
        }
        Set<String> own = Set.of("--method", "--out", "--rho-candidates", "--tune-factor");
        List<String> rest = Tune.tokens(o, own);
        List<String> single = new ArrayList<>(rest);
        single.addAll(List.of("--method", method.id()));
        RunSetup probe = RunSetup.of(single); // every other option as train checks it, before anything is trained
        Tune.Settings s = Tune.settings(o, method);
        if (o.has("--out") && o.string("--out", "").isBlank()) {
            throw new ConfigException("--out: empty value (give the folder the tuning group writes to)");
        }
        Path dir = Path.of(o.string("--out", "runs/" + probe.task.name() + "-tune-" + method.id() + "-seed" + probe.seed));
        int status = tuneGroup(Tune.groupArgs(rest, s, dir), dir, o, "tune");
        if (status != OK) return status;
        Tune.Choice c;
        try {
            c = Tune.choose(RunResults.read(dir), s.factor());
        } catch (Tune.DivergedException e) {
            err.println("hybridsam tune: " + e.getMessage());
            return DIVERGED;
        }
        List<String> command = new ArrayList<>(List.of("hybridsam", "train"));
        command.addAll(rest);
        command.addAll(List.of("--method", method.id(), "--rho", Tune.num(c.rho())));
        String line = Tune.shell(command);
        try (RunLock lock = lock(dir)) {
            writeJson(dir, Tune.FILE, Tune.json(c, line));
        }
        Tune.print(out, c, dir.resolve(Tune.FILE));
        out.println("train with:     " + line);
        return OK;
    }

    /**
     * train --rho auto: the tuning group in OUT/tune (trained, continued or reused), then the run
     * in OUT with the chosen ρ and otherwise the options given; its config.json and results.json
     * record the choice under "rho_auto".
     */
    private int trainAuto(Options o) {
        String rho = o.string("--rho", "");
        if (!rho.trim().equals("auto")) {
            throw new ConfigException("--rho " + rho + ": auto chooses one rho for one run; it cannot be part of a list");
        }
        List<String> base = Tune.tokens(o, Set.of("--rho", "--rho-candidates", "--tune-factor"));
        RunSetup probe = RunSetup.of(base); // every other option as train checks it, with the task's default rho
        Method method = probe.rule.method();
        if (!method.perturbs()) {
            throw new ConfigException("--rho auto chooses the radius of sam, asam or fsam; --method " + probe.methodLabel()
                    + " has none");
        }
        if (probe.replicas > 1) {
            List<String> lists = RunSetup.PER_REPLICA.stream().filter(n -> o.string(n, "").contains(",")).toList();
            throw new ConfigException("--rho auto chooses one rho for one run; it cannot be combined with "
                    + (lists.isEmpty() ? "--replicas " + probe.replicas : "lists (" + String.join(", ", lists) + ")")
                    + ": choose rho with hybridsam tune, then train the replicas with --rho X");
        }
        Tune.Settings s = Tune.settings(o, method);
        if (o.has("--out") && o.string("--out", "").isBlank()) {
            throw new ConfigException("--out: empty value (give the folder the run writes to)");
        }
        Path dir = Path.of(o.string("--out", "runs/" + probe.task.name() + "-" + probe.methodLabel() + "-seed" + probe.seed));
        // the run's folder is checked before the group is trained, as train checks it
        RunLock.checkFree(dir);
        refuseOccupied(dir, null);
        refuseForeignFigures(dir, probe);
        checkWritable(dir);
        Path tuneDir = dir.resolve("tune");
        List<String> rest = Tune.tokens(o, Set.of("--rho", "--rho-candidates", "--tune-factor", "--method", "--out"));
        int status = tuneGroup(Tune.groupArgs(rest, s, tuneDir), tuneDir, o, "train");
        if (status != OK) return status;
        Tune.Choice c;
        try {
            c = Tune.choose(RunResults.read(tuneDir), s.factor());
        } catch (Tune.DivergedException e) {
            err.println("hybridsam train: --rho auto: " + e.getMessage());
            return DIVERGED;
        }
        try (RunLock lock = lock(tuneDir)) {
            writeJson(tuneDir, Tune.FILE, Tune.json(c, null));
        }
        Tune.print(out, c, tuneDir.resolve(Tune.FILE));
        List<String> args = new ArrayList<>(base);
        args.addAll(List.of("--rho", Tune.num(c.rho())));
        Map<String, Object> auto = new LinkedHashMap<>();
        auto.put("tuning", tuneDir.toAbsolutePath().normalize().toString());
        auto.put("method", method.id());
        auto.put("factor", c.factor());
        auto.put("candidates", c.candidates().stream().map(Tune.Candidate::rho).toList());
        auto.put("rho", c.rho());
        auto.put("reason", c.reason());
        err.println("hybridsam: --rho auto chose " + Tune.num(c.rho()) + "; training the run");
        return train(Options.parse("train", RunSetup.OPTIONS, args), Map.of(Tune.RHO_AUTO, auto));
    }

    /**
     * Trains the tuning group (args) into dir, or continues it (dir holds it, interrupted), or
     * uses it as it is (dir holds it, finished); dir holding a run of other settings is refused.
     * The exit status of the training, OK when nothing was to be done.
     */
    private int tuneGroup(List<String> args, Path dir, Options given, String cmd) {
        boolean finished = Files.exists(dir.resolve("results.json"));
        boolean started = finished || Files.exists(dir.resolve("config.json"));
        if (started) {
            String diff = Tune.differences(dir, args);
            if (diff != null) {
                throw new ConfigException(dir + " holds a run of other settings than this tuning group (" + diff
                        + "); delete it, or choose another " + (cmd.equals("tune") ? "--out" : "--out (the group goes to OUT/tune)"));
            }
        }
        int status;
        if (finished) {
            err.println("hybridsam: " + dir + " holds this tuning group, finished: its results are used, nothing is trained"
                    + " again (delete the folder to train it again)");
            return OK;
        } else if (started) {
            List<String> resume = new ArrayList<>(List.of("--resume", dir.toString()));
            for (String name : new java.util.TreeSet<>(RESUME_OVERRIDES)) {
                if (given.has(name)) resume.addAll(List.of(name, given.string(name, "")));
            }
            err.println("hybridsam: " + dir + " holds this tuning group, interrupted: continuing it");
            List<Options.Def> defs = new ArrayList<>(RunSetup.OPTIONS);
            defs.add(RESUME);
            status = train(Options.parse("train", defs, resume), null);
        } else {
            status = train(Options.parse("train", RunSetup.OPTIONS, args), null);
        }
        if (status == DIVERGED) {
            err.println("hybridsam " + cmd + ": the tuning group diverged (every replica, erm among them), so no rho was chosen");
        }
        return status;
    }

    /**
     * A run that diverged before its first checkpoint has nothing worth keeping: remove its
     * config.json (and the folder, if this run created it) so the same --out can be used again.
     * (While the run holds the folder's lock, the lock file is still there; releasing the lock
     * removes it, and the folder if the lock created it, when nothing else is left.)
     */
    private static void removeFreshRun(Path dir, boolean dirExisted) {
        try {
            Files.deleteIfExists(dir.resolve("config.json"));
            if (!dirExisted) {
                try (var s = Files.list(dir)) {
                    if (s.findAny().isEmpty()) Files.delete(dir);
                }
            }
        } catch (IOException ignored) {
            // best effort: the divergence is what gets reported
        }
    }

    /** Refuses a folder that a new run (resume == null) or a resume must not write into. */
    private static void refuseOccupied(Path dir, Path resume) {
        if (resume == null && isRun(dir)) {
            if (Files.exists(dir.resolve("config.json")) && !Files.exists(dir.resolve(Checkpoint.FILE))
                    && !Files.exists(dir.resolve("results.json"))) {
                throw new ConfigException("--out " + dir + " holds a run that stopped before its first checkpoint (config.json, no "
                        + Checkpoint.FILE + "); continue it with: hybridsam train --resume " + dir
                        + " (it starts from the beginning with its recorded settings), or delete " + dir.resolve("config.json")
                        + " to start a new run there");
            }
            throw new ConfigException("--out " + dir + " already holds a run; choose another --out, or continue it with: hybridsam train --resume " + dir);
        }
        if (resume != null && Files.exists(dir.resolve("results.json"))) {
            throw new ConfigException(dir + " has already finished (results.json is there)");
        }
    }

    /**
     * Refuses a folder that holds a file named as one of the figures or plots the run writes when
     * it finishes: the tool never replaces a file it did not write (a finished run's own figures
     * come with its results.json, which refuseOccupied refuses first; a plot file that carries
     * hybridsam's mark is its own and is replaced).
     */
    private static void refuseForeignFigures(Path dir, RunSetup setup) {
        if (setup.plots()) Plots.refuseForeign(dir, "train"); // plot files hybridsam wrote (marked) may be replaced
        for (String name : setup.figureFiles()) {
            Path f = dir.resolve(name);
            if (Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new ConfigException(dir + " holds " + name + ", which this run writes when it finishes (hybridsam"
                        + " never replaces a file it did not write); move it away or choose another --out");
            }
        }
    }

    /**
     * The task's figures of a finished run, drawn with the best-by-validation parameters (those
     * the checkpoint keeps, as evaluate reads them) on the CPU; the files written.
     */
    private static List<Path> writeFigures(RunSetup setup, Hybrid model, RunSetup.Data data, Path dir, PrintStream err,
                                           boolean redraw) {
        if (!(setup.task instanceof hybridsam.tasks.ComposedTask task) || setup.figureFiles().isEmpty()) return List.of();
        float[] best = Checkpoint.read(dir).bestParams();
        try (CpuBackend cpu = setup.cpuBackend(model)) {
            return task.writeFigures(model, cpu, best, setup.replicas, data.composed(), dir, redraw);
        } catch (LinkageError e) {
            // a Java runtime without java.desktop (the GPU bundle's trimmed one) has no ImageIO: the
            // run's results are complete, only its pictures are missing
            err.println("hybridsam train: figures skipped (" + e + "); the run's results are complete");
            return List.of();
        }
    }

    /** Locks the run folder (creating it) for the rest of the run; another run holding it is refused. */
    private static RunLock lock(Path dir) {
        try {
            return RunLock.acquire(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + AtomicFiles.reason(e), e);
        }
    }

    /** Deletes the temp files that killed atomic writes of the run's own files (and figures) left in dir. */
    private void removeLeftoverTemps(Path dir, List<String> figures) {
        List<String> files = new ArrayList<>(RUN_FILES);
        files.addAll(figures);
        removeLeftoverTemps(dir, files, err);
    }

    /**
     * Deletes the temp files that killed atomic writes of the given files left in dir (a run's or
     * a sweep's folder) and says how many on err.
     */
    static void removeLeftoverTemps(Path dir, List<String> files, PrintStream err) {
        try {
            List<Path> removed = AtomicFiles.removeLeftoverTemps(dir, files);
            if (!removed.isEmpty()) {
                err.println("hybridsam: removed " + removed.size() + " temporary file" + (removed.size() == 1 ? "" : "s")
                        + " left in " + dir + " by an interrupted write");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean " + dir + ": " + AtomicFiles.reason(e), e);
        }
    }

    private static boolean isRun(Path dir) {
        return Files.exists(dir.resolve("config.json")) || Files.exists(dir.resolve("results.json"))
                || Files.exists(dir.resolve(Checkpoint.FILE));
    }

    /** Fails early, before any work, when dir cannot be created or written. */
    static void checkWritable(Path dir) {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) p = p.getParent();
        String why = p == null ? "no such place"
                : !Files.isDirectory(p) ? p + " is a file, not a folder"
                : !Files.isWritable(p) ? "Permission denied (" + p + " is not writable)" : null;
        if (why != null) {
            throw new UncheckedIOException("--out " + dir + ": cannot write there: " + why, new IOException(why));
        }
    }

    private void writeJson(Path dir, String name, Map<String, Object> m) {
        try {
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve(name), Json.write(m) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + AtomicFiles.reason(e), e);
        }
    }

    @SuppressWarnings("unchecked")
    private void printSummary(Map<String, Object> res, List<String> names) {
        Map<String, Object> replica = ((List<Map<String, Object>>) res.get("replicas")).get(0);
        Map<String, Object> fin = (Map<String, Object>) replica.get("final");
        Map<String, Object> theta = (Map<String, Object>) fin.get("theta");
        StringBuilder t = new StringBuilder();
        for (String name : names) t.append(t.length() == 0 ? "" : ", ").append(name).append(" = ").append(ProgressLine.theta((double) theta.get(name)));
        out.printf(Locale.ROOT, "best epoch %s: %s%n", replica.get("best_epoch"), t);
        if (fin.containsKey("theta_cosine")) {
            out.printf(Locale.ROOT, "theta cosine    %.4f (cos(theta, theta*): theta is identifiable up to scale)%n", (double) fin.get("theta_cosine"));
        }
        if (fin.containsKey("theta_error")) out.printf(Locale.ROOT, "theta error     %.4f%n", (double) fin.get("theta_error"));
        if (fin.containsKey("theta_mn_cosine")) out.printf(Locale.ROOT, "theta_mn cosine %.4f%n", (double) fin.get("theta_mn_cosine"));
        if (fin.containsKey("theta_mn_error")) out.printf(Locale.ROOT, "theta_mn error  %.4f%n", (double) fin.get("theta_mn_error"));
        out.printf(Locale.ROOT, "test MSE        %.4e (science alone %.4e)%n", (double) fin.get("test_mse"), (double) fin.get("test_mse_science_only"));
        out.printf(Locale.ROOT, "network share   %.4f (|f_nn| / (|f_sci| + |f_nn|) on the test states)%n", (double) fin.get("network_share"));
        out.printf(Locale.ROOT, "steps/s         %.2f over %s steps%n", (double) res.get("steps_per_second"), res.get("steps"));
    }

    private int generate(Options o) {
        Task task = Tasks.byName(o.string("--task", "pendulum"));
        String preset = o.choice("--preset", "full", "full", "small");
        long seed = o.integer("--seed", 0);
        Path root = o.has("--cache") ? Path.of(o.string("--cache", null)) : DatasetStore.defaultCacheRoot();
        if (o.has("--out") && o.string("--out", "").isBlank()) {
            // Path.of("") is the working folder, which saving would replace
            throw new ConfigException("--out: empty value (give the folder to write the data set to)");
        }
        Path dir = o.has("--out") ? Path.of(o.string("--out", null)) : root.resolve(task.name() + "-" + preset + "-seed" + seed);
        if (existingDataSet(dir, task, preset, seed)) {
            out.println(dir.toAbsolutePath() + " (already there; delete it to regenerate)");
            return OK;
        }
        checkWritable(dir);
        Dataset d = task.generate(preset, seed);
        try {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            // DatasetStore.save publishes a staging folder in dir's place and deletes whatever
            // dir held, so it is only reached for a new or empty folder (existingDataSet)
            DatasetStore.save(dir, d);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + AtomicFiles.reason(e), e);
        }
        out.println(dir.toAbsolutePath());
        return OK;
    }

    /**
     * Whether dir already holds the complete data set generate would write (true: nothing to
     * do). A new or empty folder gives false; anything else is refused, since saving replaces the
     * folder: a file, a folder with other things in it (a run, someone's files), a damaged data set
     * or one of other settings.
     */
    private static boolean existingDataSet(Path dir, Task task, String preset, long seed) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            String why = dir.toAbsolutePath() + " is a file, not a folder";
            throw new UncheckedIOException("--out " + dir + ": cannot write there: " + why, new IOException(why));
        }
        if (!Files.isDirectory(dir)) return false;
        List<String> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.map(p -> p.getFileName() + (Files.isDirectory(p) ? "/" : "")).sorted().toList();
        } catch (IOException e) {
            throw new DataException(dir + ": cannot list the folder: " + AtomicFiles.reason(e), e);
        }
        if (entries.isEmpty()) return false;
        if (!entries.contains(DatasetStore.MANIFEST)) {
            throw new ConfigException(dir + " is not empty and holds no data set (it holds " + listing(entries)
                    + "); generate writes only into a new or empty folder and has changed nothing: choose another --out");
        }
        Dataset there;
        try {
            there = DatasetStore.load(dir);
        } catch (DataException e) {
            throw new DataException(dir + " holds an incomplete or damaged data set (" + e.getMessage()
                    + "); nothing was changed: delete " + dir + " to regenerate it, or choose another --out", e);
        }
        Map<String, Object> m = there.manifest();
        boolean same = task.name().equals(m.get("task")) && preset.equals(m.get("preset"))
                && m.get("seed") instanceof Number n && n.longValue() == seed && n.doubleValue() == seed;
        if (!same) {
            throw new ConfigException(dir + " holds another data set (task " + m.get("task") + ", preset " + m.get("preset")
                    + ", seed " + m.get("seed") + "), not --task " + task.name() + " --preset " + preset + " --seed " + seed
                    + "; nothing was changed: choose another --out");
        }
        return true;
    }

    /** The first few names of a folder's listing, for messages. */
    static String listing(List<String> entries) {
        int show = Math.min(entries.size(), 8);
        String s = String.join(", ", entries.subList(0, show));
        return entries.size() > show ? s + " and " + (entries.size() - show) + " more" : s;
    }

    private int evaluate(Options eo) {
        if (!eo.has("--run")) throw new ConfigException("evaluate needs --run DIR (a folder written by train)");
        Path run = Path.of(eo.string("--run", null));
        String split = eo.choice("--split", "test", "train", "valid", "test");
        List<String> a = new ArrayList<>(RunSetup.argsOf(run));
        if (eo.has("--data")) {
            int i = a.indexOf("--data");
            if (i >= 0) a.subList(i, i + 2).clear();
            a.removeIf(x -> x.startsWith("--data="));
            a.add("--data");
            a.add(eo.string("--data", null));
        }
        RunSetup setup = RunSetup.of(a);
        int K = setup.replicas;
        Integer only = null;
        if (eo.has("--replica")) {
            long r = eo.integer("--replica", 0);
            if (r < 0 || r >= K) {
                throw new ConfigException("--replica " + r + ": " + run + " has " + K + " replica" + (K == 1 ? " (0)" : "s (0.." + (K - 1) + ")"));
            }
            only = (int) r;
        }
        RunSetup.Data data = setup.loadData();
        Hybrid model = setup.model(data);
        Checkpoint c = Checkpoint.read(run);
        float[] best = c.bestParams();
        int P = model.parameterCount();
        if (best.length != (long) K * P) {
            throw new DataException(run.resolve(Checkpoint.FILE) + ": holds " + best.length + " parameters, the run's model has "
                    + (K == 1 ? String.valueOf(P) : K + " x " + P));
        }
        // evaluation is forward passes over the host's copy of the parameters: the CPU backend,
        // never a training engine (which would take a GPU and the rules' state for nothing)
        try (CpuBackend evaluator = setup.cpuBackend(model)) {
            var seqs = switch (split) {
                case "train" -> data.train();
                case "valid" -> data.valid();
                default -> data.test();
            };
            List<Map<String, Object>> each = new ArrayList<>();
            for (int r = 0; r < K; r++) {
                if (only != null && r != only) continue;
                TrainingEngine.Metrics m = evaluator.evaluate(best, r * P, seqs);
                double[] theta = model.physicalTheta(best, r * P);
                // the field names of results.json's "final": theta by name, SPLIT_mse, SPLIT_mse_science_only
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("replica", r);
                e.put("seed", setup.seeds[r]);
                e.put("theta", RunResults.byName(theta, setup.task.theta().names()));
                if (data.thetaStar() != null) {
                    if (setup.task.thetaUpToScale()) e.put("theta_cosine", Trainer.thetaCosine(theta, data.thetaStar()));
                    else e.put("theta_error", Trainer.thetaError(theta, data.thetaStar()));
                }
                e.put(split + "_mse", m.mse());
                e.put(split + "_mse_science_only", m.scienceOnlyMse());
                e.put("network_share", m.networkShare());
                each.add(e);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("schema", "hybridsam-evaluation");
            r.put("schema_version", RunResults.SCHEMA_VERSION);
            r.put("run", run.toString());
            r.put("split", split);
            r.put("epochs_done", c.epochsDone());
            r.put("replicas", each);
            r.put("summary", ReplicaSummary.ofEvaluations(each, split));
            if (eo.flag("--json")) {
                out.println(Json.write(r));
            } else if (each.size() == 1) {
                out.println(String.format(Locale.ROOT, "%-17s %s", "run", run));
                out.println(String.format(Locale.ROOT, "%-17s %s", "split", split));
                out.println(String.format(Locale.ROOT, "%-17s %s", "epochs_done", c.epochsDone()));
                each.get(0).forEach((k, v) -> {
                    if ((k.equals("replica") || k.equals("seed")) && K == 1) return;
                    if (v instanceof Map<?, ?> byName) {
                        List<String> parts = new ArrayList<>();
                        byName.forEach((name, x) -> parts.add(name + " = " + x));
                        v = String.join(", ", parts);
                    }
                    out.println(String.format(Locale.ROOT, "%-17s %s", k, v));
                });
            } else {
                ReplicaSummary.printEvaluations(out, r, each, split);
            }
            return OK;
        }
    }

    /**
     * hybridsam plot: draws loss.png and theta.png of a finished run from its results.json,
     * replacing the plot files hybridsam wrote there before and refusing any other file of
     * those names. Holds the run folder's lock while it writes.
     */
    private int plot(Options o, ParseResult parsed) {
        List<String> positional = new ArrayList<>();
        for (var p : parsed.matchedPositionals()) for (String v : p.originalStringValues()) positional.add(v);
        if (o.has("--run") && !positional.isEmpty()) {
            throw new ConfigException("plot takes the run's folder once: --run DIR or DIR, not both");
        }
        String where = o.has("--run") ? o.string("--run", "") : positional.isEmpty() ? null : positional.get(0);
        if (where == null) throw new ConfigException("plot needs the run's folder: hybridsam plot --run DIR (a folder written by train)");
        if (where.isBlank()) throw new ConfigException("plot: empty folder name (give the run's folder)");
        Path run = Path.of(where);
        if (!Files.isDirectory(run)) throw new DataException(run + ": no such folder (give a run's folder, written by train)");
        RunResults check = RunResults.read(run); // refused before anything is written
        if (check.replicas().isEmpty()) throw new DataException(run.resolve("results.json") + ": no replicas");
        // a task's own figures (pendulum-images' predictions) are named by its results; only those
        // need the run's settings, data and checkpoint (plots alone need results.json alone)
        List<String> figures = Tasks.ALL.stream().filter(t -> t.name().equals(check.task()))
                .filter(t -> t instanceof hybridsam.tasks.ComposedTask).findFirst()
                .map(t -> ((hybridsam.tasks.ComposedTask) t).figureFiles(check.replicas().size())).orElse(List.of());
        refuseUnmarkedFigures(run, figures);
        try (RunLock lock = lock(run)) {
            refuseUnmarkedFigures(run, figures); // again, now that no run can change the folder
            List<Path> files;
            try {
                files = Plots.redraw(run);
            } catch (Plots.DrawException e) {
                err.println("hybridsam plot: " + e.getMessage() + " (a Java runtime with java.desktop and usable fonts is needed)");
                return FAILED;
            }
            for (Path f : files) out.println("figure          " + f);
            if (!figures.isEmpty()) for (Path f : redrawFigures(run)) out.println("figure          " + f);
            return OK;
        }
    }

    /**
     * plot on a run of a task with figures of its own (pendulum-images' predictions): redrawn from
     * the checkpoint's best parameters on the run's data, as train draws them; a file of that name
     * that hybridsam did not write is refused before anything is drawn.
     */
    private List<Path> redrawFigures(Path run) {
        RunSetup setup = RunSetup.of(RunSetup.argsOf(run));
        RunSetup.Data data = setup.loadData();
        Hybrid model = setup.model(data);
        return writeFigures(setup, model, data, run, err, true);
    }

    /** Refuses a figure file in run that hybridsam did not write (it lacks the mark), which plot would replace. */
    private static void refuseUnmarkedFigures(Path run, List<String> figures) {
        for (String name : figures) {
            Path f = run.resolve(name);
            if (Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !hybridsam.io.PngMark.isOwn(f)) {
                throw new ConfigException(f + " was not written by this hybridsam (it lacks the mark that plots and figures"
                        + " carry), so plot does not replace it and has drawn nothing; move it away to redraw it");
            }
        }
    }

    private int devices() {
        Devices.print(out);
        return OK;
    }
}
