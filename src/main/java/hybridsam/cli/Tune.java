package hybridsam.cli;

import hybridsam.io.ConfigException;
import hybridsam.io.DataException;
import hybridsam.train.Method;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The choice of ρ from validation error alone ({@code hybridsam tune} and {@code train --rho
 * auto}): erm and the method at every candidate ρ are trained as one replica group with the same
 * settings; the largest candidate whose best validation MSE is at most F times erm's is chosen,
 * or, when none is, the smallest (a candidate that diverged is left out). θ* is never used: the
 * rule works on a user's data, which has none; where the data know θ*, each candidate's θ error
 * is recorded beside the choice, for information.
 *
 * <p>This class holds the rule and the tables; Main runs the group (through train, in-process).
 * It has no static field that reads RunSetup's (RunSetup's table reads this class's).
 */
final class Tune {
    private Tune() {
    }

    /** The file the choice is written to, in the group's folder. */
    static final String FILE = "tuning.json";
    static final String SCHEMA = "hybridsam-tuning";
    static final int SCHEMA_VERSION = 1;

    /** F: the factor measured on pendulum, duffing and light-tunnel (README, "How ρ was tuned"). */
    static final double DEFAULT_FACTOR = 3;
    /** The candidates of sam and fsam, and of asam, whose ρ is on another scale (relative to |φ|). */
    static final List<Double> DEFAULT_CANDIDATES = List.of(0.01, 0.02, 0.05, 0.1, 0.2, 0.5);
    static final List<Double> ASAM_CANDIDATES = List.of(0.1, 0.2, 0.5, 1.0, 2.0, 5.0);

    /** The field of config.json and results.json where train --rho auto records its choice. */
    static final String RHO_AUTO = "rho_auto";

    /** The options of the choice (train's with --rho auto, and tune's). */
    static final List<String> OWN_OPTIONS = List.of("--rho-candidates", "--tune-factor");

    /**
     * The options of train that change where and how a run is computed or what it prints, never
     * its numbers: a group folder recorded with other values of these is still this group.
     */
    static final Set<String> NOT_COMPARED = Set.of("--out", "--device", "--nn-engine", "--threads", "--quiet", "--log-every",
            "--no-plots");

    /** The rule's settings: the method whose ρ is chosen, the candidates (ascending) and F. */
    record Settings(Method method, double[] candidates, double factor) {
    }

    /** tune's options: train's less --rho and --replicas (the group sets them), with tune's own --method and --out. */
    static List<Options.Def> options() {
        List<Options.Def> defs = new ArrayList<>();
        for (Options.Def d : RunSetup.OPTIONS) {
            switch (d.name()) {
                case "--rho", "--replicas" -> {
                }
                case "--method" -> defs.add(new Options.Def("--method", Options.Type.TEXT, "METHOD", d.section(),
                        "sam, asam or fsam (default fsam): the rule whose rho is chosen (erm is trained beside it)",
                        List.of("sam", "asam", "fsam")));
                case "--rho-candidates" -> defs.add(new Options.Def(d.name(), d.type(), d.label(), d.section(),
                        "the radii tried (default " + text(DEFAULT_CANDIDATES) + "; asam " + text(ASAM_CANDIDATES) + ")"));
                case "--tune-factor" -> defs.add(new Options.Def(d.name(), d.type(), d.label(), d.section(),
                        "choose the largest candidate whose best validation MSE is at most F times erm's (default 3; must be > 1)"));
                case "--out" -> defs.add(new Options.Def("--out", d.type(), d.label(), d.section(),
                        "the group's folder (default runs/TASK-tune-METHOD-seedN); a folder holding this group, finished or"
                                + " interrupted, is used or continued (not trained again); tuning.json is written there"));
                default -> defs.add(d);
            }
        }
        return List.copyOf(defs);
    }

    /** The rule's settings from the options given (--rho-candidates, --tune-factor), for the method. */
    static Settings settings(Options o, Method method) {
        if (!method.perturbs()) {
            throw new ConfigException("--method " + method.id() + " has no rho to choose (choose sam, asam or fsam)");
        }
        double[] candidates;
        if (o.has("--rho-candidates")) {
            String v = o.string("--rho-candidates", "");
            if (v.isBlank()) throw new ConfigException("--rho-candidates: empty value (give the radii to try, comma-separated)");
            String[] parts = v.split(",", -1);
            candidates = new double[parts.length];
            for (int i = 0; i < parts.length; i++) {
                String e = parts[i].trim();
                if (e.isEmpty()) throw new ConfigException("--rho-candidates: element " + (i + 1) + " of '" + v + "' is empty");
                double x;
                try {
                    x = Double.parseDouble(e);
                } catch (NumberFormatException ex) {
                    throw new ConfigException("--rho-candidates: '" + e + "' is not a number");
                }
                if (!Double.isFinite(x) || x <= 0) {
                    throw new ConfigException("--rho-candidates: '" + e + "' is not a finite number > 0 (every candidate"
                            + " is a radius; erm, the reference, is trained beside them)");
                }
                candidates[i] = x;
            }
            double[] sorted = candidates.clone();
            Arrays.sort(sorted);
            for (int i = 1; i < sorted.length; i++) {
                if (sorted[i] == sorted[i - 1]) throw new ConfigException("--rho-candidates: " + num(sorted[i]) + " is given twice");
            }
            candidates = sorted;
        } else {
            candidates = (method == Method.ASAM ? ASAM_CANDIDATES : DEFAULT_CANDIDATES).stream().mapToDouble(Double::doubleValue).toArray();
        }
        double factor = DEFAULT_FACTOR;
        if (o.has("--tune-factor")) {
            factor = o.number("--tune-factor", DEFAULT_FACTOR);
            if (!Double.isFinite(factor) || factor <= 1) {
                throw new ConfigException("--tune-factor must be a finite number > 1 (got " + o.string("--tune-factor", "")
                        + "): a candidate qualifies when its validation MSE is at most F times erm's");
            }
        }
        return new Settings(method, candidates, factor);
    }

    /**
     * The options given, as separate tokens (--name value, a flag alone), in the order given,
     * less those named.
     */
    static List<String> tokens(Options o, Set<String> leaveOut) {
        List<String> out = new ArrayList<>();
        for (String name : o.names()) {
            if (leaveOut.contains(name)) continue;
            out.add(name);
            if (!isFlag(name)) out.add(o.string(name, ""));
        }
        return out;
    }

    private static boolean isFlag(String name) {
        for (Options.Def d : RunSetup.OPTIONS) if (d.name().equals(name)) return !d.valued();
        return false;
    }

    /**
     * The group's train command line: rest (train's options without --method, --rho, --replicas
     * and --out), then erm and the method at every candidate, all from the same seed, into dir.
     */
    static List<String> groupArgs(List<String> rest, Settings s, Path dir) {
        List<String> a = new ArrayList<>(rest);
        List<String> methods = new ArrayList<>(List.of("erm")), rhos = new ArrayList<>(List.of("0"));
        for (double c : s.candidates()) {
            methods.add(s.method().id());
            rhos.add(num(c));
        }
        a.addAll(List.of("--method", String.join(",", methods), "--rho", String.join(",", rhos), "--out", dir.toString()));
        return a;
    }

    /**
     * What differs between the settings recorded in dir/config.json and those of args (options
     * that do not change the numbers aside), or null when nothing does.
     */
    static String differences(Path dir, List<String> args) {
        Map<String, String> was = compared(RunSetup.argsOf(dir)), now = compared(args);
        List<String> diff = new ArrayList<>();
        for (String name : new TreeSet<>(union(was.keySet(), now.keySet()))) {
            String a = was.get(name), b = now.get(name);
            if (Objects.equals(a, b)) continue;
            diff.add(name + " " + (a == null ? "not given" : a) + " there, " + (b == null ? "not given" : b) + " now");
        }
        return diff.isEmpty() ? null : String.join("; ", diff);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    private static Map<String, String> compared(List<String> args) {
        Options o = Options.parse("train", RunSetup.OPTIONS, RunSetup.resolvedArgs(args));
        Map<String, String> m = new LinkedHashMap<>(o.values());
        m.keySet().removeAll(NOT_COMPARED);
        return m;
    }

    // ---------------------------------------------------------------- the rule

    /**
     * One candidate: its replica in the group, ρ, best validation MSE and its ratio to erm's
     * (null where it diverged before any epoch was validated), whether it qualified, where it
     * diverged (null: it did not), and its θ error or cosine where θ* is known (information only).
     */
    record Candidate(int replica, double rho, Double validMse, Double ratio, boolean qualified, Map<String, Object> diverged,
                     Double thetaError, Double thetaCosine) {
    }

    /**
     * The choice: erm's replica and best validation MSE (its θ error or cosine where known), every
     * candidate, the chosen one, whether any qualified, and why it was chosen.
     */
    record Choice(String task, Method method, double factor, int ermReplica, double ermValid, Double ermThetaError,
                  Double ermThetaCosine, List<Candidate> candidates, Candidate chosen, boolean anyQualified, String reason) {
        double rho() {
            return chosen.rho();
        }

        List<Double> diverged() {
            return candidates.stream().filter(c -> c.diverged() != null).map(Candidate::rho).toList();
        }
    }

    /** No choice is possible: erm (the reference) or every candidate diverged. */
    static final class DivergedException extends RuntimeException {
        DivergedException(String message) {
            super(message);
        }
    }

    /**
     * The rule, applied to a finished group's results: one erm replica and the candidates, all of
     * one method. Reads validation MSEs (and θ errors, for the record) only through RunResults.
     */
    static Choice choose(RunResults res, double factor) {
        String where = res.file().toString();
        RunResults.Replica erm = null;
        List<RunResults.Replica> cands = new ArrayList<>();
        Method method = null;
        for (RunResults.Replica r : res.replicas()) {
            String m = r.method();
            if (m == null) throw new DataException(where + ": replica " + r.index() + " names no method: not a tuning group");
            if (m.equals("erm")) {
                if (erm != null) throw new DataException(where + ": two erm replicas: not a tuning group");
                erm = r;
                continue;
            }
            Method mm = Method.parse(m);
            if (!mm.perturbs() || (method != null && method != mm)) {
                throw new DataException(where + ": replica " + r.index() + " is " + m + ": not a tuning group (erm and one of sam, asam, fsam)");
            }
            method = mm;
            if (r.number("rho") == null) throw new DataException(where + ": replica " + r.index() + " has no rho");
            cands.add(r);
        }
        if (erm == null || cands.isEmpty()) throw new DataException(where + ": not a tuning group (erm and at least one candidate)");
        if (erm.diverged() != null) {
            throw new DivergedException("erm, the reference the rule compares with, diverged (" + at(erm.diverged())
                    + "), so no rho can be chosen: try a smaller --lr-nn / --lr-theta or a gradient clip (--clip 5)");
        }
        double ermValid = validMse(erm);
        if (!(ermValid > 0) || !Double.isFinite(ermValid)) {
            throw new DataException(where + ": erm's validation MSE is " + ermValid + "; the rule needs a finite one > 0");
        }
        double limit = factor * ermValid;
        List<Candidate> out = new ArrayList<>();
        for (RunResults.Replica r : cands) {
            Double v = r.diverged() != null && (r.fin() == null || r.fin().validMse() == null) ? null : validMse(r);
            boolean ok = r.diverged() == null && v != null && Double.isFinite(v) && v <= limit;
            Double te = r.fin() == null ? null : r.fin().thetaError(), tc = r.fin() == null ? null : r.fin().thetaCosine();
            out.add(new Candidate(r.index(), r.number("rho"), v, v == null ? null : v / ermValid, ok, r.diverged(), te, tc));
        }
        out.sort((a, b) -> Double.compare(a.rho(), b.rho()));
        Candidate chosen = null;
        for (Candidate c : out) if (c.qualified()) chosen = c;  // the largest that qualifies
        boolean any = chosen != null;
        if (!any) {
            for (Candidate c : out) {
                if (c.diverged() == null) {
                    chosen = c;  // the smallest that finished
                    break;
                }
            }
        }
        List<Double> div = out.stream().filter(c -> c.diverged() != null).map(Candidate::rho).toList();
        if (chosen == null) {
            throw new DivergedException("every candidate rho diverged (" + list(div) + "), so none can be chosen: try smaller"
                    + " --rho-candidates");
        }
        String f = num(factor);
        String reason = any
                ? "largest rho whose validation MSE (" + sci(chosen.validMse(), 1) + ") is within " + f + "x erm's ("
                        + sci(ermValid, 1) + ")"
                : "no rho kept its validation MSE within " + f + "x erm's (" + sci(ermValid, 1) + "): the smallest, "
                        + num(chosen.rho()) + ", was chosen (validation MSE " + sci(chosen.validMse(), 1) + ", "
                        + String.format(Locale.ROOT, "%.1f", chosen.ratio()) + "x erm's)";
        if (!div.isEmpty()) {
            reason += "; rho " + list(div) + (div.size() == 1 ? " diverged and was" : " diverged and were") + " left out";
        }
        Double ermTe = erm.fin() == null ? null : erm.fin().thetaError(), ermTc = erm.fin() == null ? null : erm.fin().thetaCosine();
        return new Choice(res.task(), method, factor, erm.index(), ermValid, ermTe, ermTc, List.copyOf(out), chosen, any, reason);
    }

    /** A replica's best validation MSE: its final one, or (files without it) the least of its history. */
    private static double validMse(RunResults.Replica r) {
        if (r.fin() != null && r.fin().validMse() != null) return r.fin().validMse();
        double best = Double.NaN;
        for (double v : r.validMse()) if (Double.isFinite(v) && !(v >= best)) best = v;
        return best;
    }

    private static String at(Map<String, Object> diverged) {
        return "at epoch " + diverged.get("epoch") + ", step " + diverged.get("step");
    }

    // ---------------------------------------------------------------- outputs

    /** tuning.json: the rule's settings, every candidate, the choice and why. */
    static Map<String, Object> json(Choice c, String trainCommand) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("schema_version", SCHEMA_VERSION);
        m.put("task", c.task());
        m.put("method", c.method().id());
        m.put("factor", c.factor());
        m.put("rule", "the largest candidate rho whose best validation MSE is at most factor times erm's; if none is,"
                + " the smallest; a candidate that diverged is left out; theta* is not used");
        m.put("results", "results.json");
        Map<String, Object> erm = new LinkedHashMap<>();
        erm.put("replica", c.ermReplica());
        erm.put("valid_mse", c.ermValid());
        if (c.ermThetaError() != null) erm.put("theta_error", c.ermThetaError());
        if (c.ermThetaCosine() != null) erm.put("theta_cosine", c.ermThetaCosine());
        m.put("erm", erm);
        List<Object> cands = new ArrayList<>();
        for (Candidate k : c.candidates()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("replica", k.replica());
            e.put("rho", k.rho());
            e.put("valid_mse", k.validMse());
            e.put("ratio", k.ratio());
            e.put("qualified", k.qualified());
            e.put("diverged", k.diverged());
            if (k.thetaError() != null) e.put("theta_error", k.thetaError());
            if (k.thetaCosine() != null) e.put("theta_cosine", k.thetaCosine());
            cands.add(e);
        }
        m.put("candidates", cands);
        m.put("chosen_rho", c.rho());
        m.put("chosen_replica", c.chosen().replica());
        m.put("any_qualified", c.anyQualified());
        m.put("left_out", c.diverged());
        m.put("reason", c.reason());
        if (c.ermThetaError() != null || c.ermThetaCosine() != null) {
            m.put("theta_note", "theta errors are recorded for information only: the choice uses validation MSE alone");
        }
        if (trainCommand != null) m.put("train_command", trainCommand);
        return m;
    }

    /** The table of the candidates and the choice, on stdout. */
    static void print(PrintStream out, Choice c, Path file) {
        boolean error = c.ermThetaError() != null, cosine = !error && c.ermThetaCosine() != null;
        String f = num(c.factor());
        out.printf(Locale.ROOT, "tuning %s's rho on %s: best validation MSE of erm and of each candidate, factor %s%n",
                c.method().id(), c.task(), f);
        String within = "within " + f + "x";
        out.println(String.format(Locale.ROOT, "%8s %11s %8s %12s %13s", "rho", "valid MSE", "x erm", within,
                error ? "theta error" : cosine ? "theta cosine" : "").stripTrailing());
        out.println(String.format(Locale.ROOT, "%8s %11s %8s %12s %13s", "erm", sci(c.ermValid(), 2), "1.00", "-",
                theta(c.ermThetaError(), c.ermThetaCosine())).stripTrailing());
        for (Candidate k : c.candidates()) {
            String line = String.format(Locale.ROOT, "%8s %11s %8s %12s %13s", num(k.rho()),
                    k.validMse() == null ? "-" : sci(k.validMse(), 2),
                    k.ratio() == null ? "-" : String.format(Locale.ROOT, "%.2f", k.ratio()),
                    k.diverged() != null ? "diverged" : k.qualified() ? "yes" : "no",
                    k.diverged() != null && (error || cosine) ? "-" : theta(k.thetaError(), k.thetaCosine()));
            if (k == c.chosen()) line += "  <- chosen";
            else if (k.diverged() != null) line += "  (" + at(k.diverged()) + ")";
            out.println(line.stripTrailing());
        }
        out.println("chosen rho " + num(c.rho()) + ": " + c.reason());
        if (error || cosine) out.println("(theta " + (error ? "error" : "cosine") + " is shown for information only: the choice uses validation error alone)");
        out.println("tuning          " + file);
    }

    private static String theta(Double error, Double cosine) {
        if (error != null) return String.format(Locale.ROOT, "%.4f", error);
        if (cosine != null) return String.format(Locale.ROOT, "%.4f", cosine);
        return "";
    }

    // ---------------------------------------------------------------- text

    /** A number in its shortest plain form: 0.05, 1, 2.5 (as the candidates are written and shown). */
    static String num(double x) {
        if (x == 0) return "0";
        return BigDecimal.valueOf(x).stripTrailingZeros().toPlainString();
    }

    /** Numbers joined by commas, each in its shortest plain form. */
    static String text(List<Double> xs) {
        return String.join(",", xs.stream().map(Tune::num).toList());
    }

    private static String list(List<Double> xs) {
        List<String> s = xs.stream().map(Tune::num).toList();
        if (s.size() <= 1) return String.join("", s);
        return String.join(", ", s.subList(0, s.size() - 1)) + " and " + s.get(s.size() - 1);
    }

    /** x in scientific notation with the given decimals and a short exponent: 5.8e-3. */
    static String sci(double x, int decimals) {
        String s = String.format(Locale.ROOT, "%." + decimals + "e", x);
        return s.replaceFirst("e\\+?(-?)0*(\\d)", "e$1$2");
    }

    /** A command line as a shell reads it: arguments with characters the shell treats specially are single-quoted. */
    static String shell(List<String> args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            if (!a.isEmpty() && a.matches("[A-Za-z0-9_./,=:+@%-]+")) out.add(a);
            else out.add("'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", out);
    }
}
