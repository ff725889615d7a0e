package hybridsam.cli;

import picocli.CommandLine;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Help texts of the command line: the words are here, picocli lays them out (`hybridsam --help`,
 * `hybridsam COMMAND --help`, `hybridsam help COMMAND`). Options are listed from their table
 * ({@link Options.Def}), under the table's sections, each with its default.
 */
final class Help {
    private Help() {
    }

    /** Exit statuses, as every command documents them. */
    static final Map<String, String> EXIT_CODES = exitCodes();

    private static Map<String, String> exitCodes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("  0", "done");
        m.put("  1", "GPU error (or a defect of hybridsam: one line, HYBRIDSAM_DEBUG=1 prints the trace)");
        m.put("  2", "bad input: the message names the file, field or option; nothing is written");
        m.put("  3", "diverged (the last good checkpoint is kept)");
        m.put("  4", "cannot write (the output folder, or standard output), with the reason");
        return m;
    }

    static void main(CommandSpec spec) {
        usage(spec, "hybridsam COMMAND [OPTIONS]", List.of(), """
                hybridsam: train hybrid models (a scientific model with physical unknowns theta plus a \
                neural corrector) so that theta comes out right, using sharpness-aware minimization \
                applied to the network alone.""", """
                examples:
                  hybridsam train --task pendulum              fsam, full preset, 320 epochs
                  hybridsam train --task duffing --method erm --seed 1 --out runs/d-erm-1
                  hybridsam train --task pendulum --preset small --epochs 5
                  hybridsam train --resume runs/d-erm-1        continue an interrupted run
                  hybridsam sweep --task pendulum --method erm,fsam --rho 0.02,0.05,0.1 --seeds 5 --out runs/s
                                                               a grid of runs, with one summary
                  hybridsam tune --task duffing --method sam   choose rho from validation error alone
                  hybridsam evaluate --run runs/d-erm-1
                  hybridsam plot --run runs/d-erm-1             loss.png and theta.png of a finished run
                  . <(hybridsam completion)                    tab completion in bash

                hybridsam COMMAND --help (or hybridsam help COMMAND) shows the command's options.""");
        spec.usageMessage().commandListHeading("%ncommands:%n");
    }

    static void train(CommandSpec spec, List<Options.Def> defs) {
        usage(spec, "hybridsam train [OPTIONS]%n   or: hybridsam train --resume DIR [--device DEVICE] [--nn-engine ENGINE] [--threads N]",
                defs, """
                train a task end to end (data generated and cached on first use)""", """
                Output: DIR/config.json (settings), DIR/checkpoint.bin (after every epoch, written \
                atomically), DIR/results.json (per-epoch theta and losses, final metrics, timing). With \
                K > 1 replicas results.json holds a "replicas" list (each replica's seed, hyperparameters, \
                history, best epoch and final metrics) and a "summary" (median, min, max, quartiles of \
                theta_error and test_mse, also per distinct value of each listed hyperparameter), and \
                stdout shows one line per replica and the summary. pendulum-images also writes \
                DIR/predictions.png (DIR/predictions-replica-R.png per replica): test sequences as true, \
                predicted and science-only frames. Every run also draws DIR/loss.png (training loss and \
                validation MSE per epoch) and DIR/theta.png (theta per epoch, with theta* and theta_mn where \
                known) unless --no-plots; a run refuses a folder that already holds a file of one of these names. \
                With --rho auto, DIR/tune holds the tuning group and its tuning.json (as hybridsam tune writes them; \
                a finished group there is used again, an interrupted one continued), and DIR/config.json and \
                DIR/results.json record the choice under "rho_auto".""");
    }

    static void tune(CommandSpec spec, List<Options.Def> defs) {
        usage(spec, "hybridsam tune [OPTIONS]", defs, """
                choose rho from validation error alone (erm and the method at each candidate)
                Trains erm and the method (default fsam) at every --rho-candidates value as one replica \
                group (train --replicas K, all from --seed N), with the other options as train takes them, into \
                --out; then chooses the largest candidate whose best validation MSE is at most --tune-factor \
                (default 3) times erm's or, when none is, the smallest (a candidate that diverged is left out; \
                erm diverging is exit 3). theta* is not used, so the choice works on --data without it; where the \
                data know theta*, each candidate's theta error is shown beside the choice, for information only. \
                Prints a table of the candidates, the choice and the train command to use. \
                train --rho auto does the same in OUT/tune, then trains the run with the chosen rho.""", """
                Output: DIR holds the group as train writes it (config.json, checkpoint.bin, results.json, the \
                plots) and DIR/tuning.json: the method, the factor, erm's validation MSE, each candidate's rho, \
                validation MSE, ratio to erm's and whether it qualified (and theta error where theta* is known), the \
                chosen rho and why. A DIR that holds this group finished is used as it is (another --tune-factor \
                chooses again without training); interrupted, it is continued; of other settings, it is refused.""");
    }

    /** The paragraph listed after --replicas. */
    static final String LISTS = "--method, --seed, --rho, --sigma, --lambda, --eta, --l2, --lr-theta, --lr-nn, --clip,"
            + " --weight-decay, --lr-schedule and --rho-schedule accept a comma-separated list, one value per replica (e.g. --rho 0.01,0.02,0.05,0.1); every"
            + " list must have K values (K may be left out: it is the lists' length); a single value applies to every"
            + " replica. Data and model settings are shared by all replicas.";

    static final String SWEEP_RESUME = "continue the sweep in DIR with the grid it started with (as rerunning its command"
            + " does); only --device, --nn-engine and --threads (where its groups train) may be given with it";

    /** The paragraph listed after sweep's --group-size. */
    static final String GRID = "--task, --method and the hyperparameters --rho, --sigma, --lambda, --eta, --l2, --lr-theta,"
            + " --lr-nn, --clip and --weight-decay take comma-separated lists. The cells are every method with every"
            + " combination of the listed values of the hyperparameters it uses (rho: sam, asam, fsam; sigma and lambda:"
            + " fsam; eta: asam; l2: l2; the rest: every method): erm with --rho 0.02,0.05 is one cell, fsam two (a hyperparameter no method of the"
            + " sweep uses is refused). Each cell"
            + " is trained once per seed (--seeds N: 0..N-1, or --seed a,b,c), and each task's runs are one replica group"
            + " (train --replicas K, bit for bit the runs trained alone on the CPU), or groups of at most G runs."
            + " Every other option is train's, passed to each group.";

    static final String RESUME = "continue the interrupted run in DIR with the settings it started with; only --device,"
            + " --nn-engine and --threads (where it continues) may be given with it";

    static void sweep(CommandSpec spec, List<Options.Def> defs) {
        Map<String, String> exits = new LinkedHashMap<>(EXIT_CODES);
        exits.put("  2", "bad input: the message names the file, field or option; nothing is written (also: a folder that"
                + " is not empty and holds no sweep, or holds a sweep of another grid)");
        exits.put("  3", "every run of a group diverged (the other groups are trained, the summary counts them)");
        usage(spec, "hybridsam sweep [OPTIONS]%n   or: hybridsam sweep --resume DIR [--device DEVICE] [--nn-engine ENGINE] [--threads N]",
                defs, """
                train a grid of runs (tasks x methods x hyperparameter lists x seeds) as replica groups, with one summary
                Trains every cell of the grid once per seed, each task's runs as one replica group (train \
                --replicas K, in this process), and summarises each cell over its seeds.""", """
                Output: DIR/sweep.json (the grid and its groups, written when the sweep starts); \
                DIR/groups/TASK/ (or TASK-1, TASK-2, ... with --group-size): each group's run folder, as train \
                writes it. When every group is done: DIR/summary.csv, DIR/summary.json and DIR/summary.md, one \
                row per task and cell with its seeds, its diverged runs (left out of the statistics) and the \
                median, q1 and q3 over the seeds of theta error (theta cosine where theta is known up to \
                scale; empty without theta*), theta_mn error, validation and test MSE and the network share; \
                DIR/sweep-theta.png and DIR/sweep-mse.png (unless --no-plots; one chart per task): against rho \
                where a rho list was given (erm and l2 at their medians), else per cell. stdout: the Markdown \
                table. stderr: a line as each group starts and ends, with the sweep's progress and the time \
                left, and train's own output. Rerunning the command (or sweep --resume DIR) skips the groups \
                that finished and continues the others; a rerun with another grid is refused (--threads, \
                --device, --nn-engine, --quiet, --log-every and --no-plots may differ).""", exits);
    }

    static void generate(CommandSpec spec, List<Options.Def> defs) {
        usage(spec, "hybridsam generate [OPTIONS]", defs, """
                write a task's data set (.npy arrays + manifest.json) to a folder
                Writes the task's data set as NumPy .npy arrays (train_obs, valid_obs, test_obs, float32 \
                [sequences, frames, state]; other layouts per task, see datasets/README.md) and manifest.json (task, preset, seed, every generator \
                setting, theta_star, theta_mn). Without --out it goes to the cache that train uses.""", null);
    }

    static void evaluate(CommandSpec spec, List<Options.Def> defs) {
        usage(spec, "hybridsam evaluate --run DIR [OPTIONS]", defs, """
                metrics of a finished or interrupted run on its test (or other) split
                Loads the best-by-validation parameters from DIR/checkpoint.bin and reports theta, \
                theta error, the hybrid's MSE, the scientific model's MSE alone, and the network's share \
                of the vector field, on the chosen split (default test). --data evaluates on other data. \
                A run with several replicas is evaluated replica by replica, with a summary; --replica R \
                (0-based) picks one.""", null);
    }

    static void plot(CommandSpec spec, List<Options.Def> defs) {
        usage(spec, "hybridsam plot --run DIR%n   or: hybridsam plot DIR", defs, """
                draw loss.png and theta.png of a finished run
                Reads DIR/results.json (one run or replicas) and writes DIR/loss.png (training loss and \
                validation MSE per epoch, log scale, the best epoch marked; one pair of lines per replica) \
                and DIR/theta.png (theta per epoch, one chart per component, theta* and theta_mn drawn where \
                known; light-tunnel: the cosine to theta*). It replaces plot files that hybridsam wrote \
                (they carry its mark) and refuses any other file of those names.""", null);
    }

    static void devices(CommandSpec spec) {
        usage(spec, "hybridsam devices", List.of(), """
                the backends this machine offers, and why any is unavailable
                Lists the backends (cpu, cuda) and, for any that is unavailable, why.""", null);
    }

    static void completion(CommandSpec spec) {
        usage(spec, "hybridsam completion", List.of(), """
                print a bash completion script for hybridsam (commands, options, their values)
                Load it in the current shell with
                  . <(hybridsam completion)
                or keep it where bash-completion finds it, e.g.
                  hybridsam completion > ~/.local/share/bash-completion/completions/hybridsam""", null);
    }

    /**
     * Sets a command's usage: the synopsis, a description whose first line is the command's entry
     * in the list of commands, its options by section, the exit statuses and a footer.
     */
    private static void usage(CommandSpec spec, String synopsis, List<Options.Def> defs, String description, String footer) {
        usage(spec, synopsis, defs, description, footer, EXIT_CODES);
    }

    private static void usage(CommandSpec spec, String synopsis, List<Options.Def> defs, String description, String footer,
                              Map<String, String> exitCodes) {
        UsageMessageSpec u = spec.usageMessage();
        u.synopsisHeading("usage: ").customSynopsis(synopsis.split("%n"));
        u.descriptionHeading("%n").description(lines(description));
        u.sectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST_HEADING, h -> "");
        u.sectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST, h -> optionList(h, defs));
        u.exitCodeListHeading("%nExit status:%n").exitCodeList(exitCodes);
        if (footer != null) u.footerHeading("%n").footer(lines(footer));
    }

    /** Text lines for picocli, which formats each (%n and the like): a literal % would be doubled. */
    private static String[] lines(String text) {
        return text.replace("%", "%%").split("\n");
    }

    /** The options, under their sections, with the value's name and the description (wrapped). */
    private static String optionList(CommandLine.Help help, List<Options.Def> defs) {
        int width = help.commandSpec().usageMessage().width(), first = 24;
        StringBuilder sb = new StringBuilder();
        String section = "";
        TextTable table = null;
        for (Options.Def d : defs) {
            String s = d.section() == null ? "options" : d.section();
            if (!s.equals(section)) {
                if (table != null) sb.append(table);
                sb.append("\n").append(s).append("\n");
                table = table(help, width, first);
                section = s;
            }
            table.addRowValues(d.name() + (d.label() == null ? "" : " " + d.label() + (d.list() && !d.label().contains(",") ? "[,...]" : "")),
                    d.description());
            if (d.name().equals("--replicas")) table.addRowValues("lists", LISTS);
            if (d.name().equals("--group-size")) table.addRowValues("grid", GRID);
            var resume = help.commandSpec().findOption("--resume");
            if (d.name().equals("--out") && resume != null) table.addRowValues("--resume DIR", String.join(" ", resume.description()));
        }
        if (table == null) {
            sb.append("\noptions\n");
            table = table(help, width, first);
        }
        table.addRowValues("-h, --help", "this help");
        sb.append(table);
        return sb.toString();
    }

    private static TextTable table(CommandLine.Help help, int width, int first) {
        return TextTable.forColumns(help.colorScheme(),
                new Column(first, 2, Column.Overflow.SPAN), new Column(width - first, 1, Column.Overflow.WRAP));
    }
}
