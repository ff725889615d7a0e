package hybridsam.cli;

import hybridsam.cli.Sweep.Cell;
import hybridsam.cli.Sweep.Group;
import hybridsam.cli.Sweep.Plan;
import hybridsam.cli.Sweep.Run;
import hybridsam.io.DataException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The summary of a finished sweep: one row per task and cell over its seeds, read from the groups'
 * results.json (through {@link RunResults}), with median, q1 and q3 ({@link ReplicaSummary#stats})
 * of each metric over the seeds that did not diverge; written as summary.json, summary.csv and
 * summary.md (GitHub Markdown, also sweep's stdout).
 */
final class SweepSummary {
    /** The metrics, in the order of the columns; of each pair (error, cosine) a task has one. */
    static final List<String> METRICS = List.of("theta_error", "theta_cosine", "theta_mn_error", "theta_mn_cosine",
            "valid_mse", "test_mse", "network_share");
    static final String CSV_START = "task,method,", MD_START = "| task | method |";

    /**
     * A row: the task, the cell, its seeds, those that diverged, its groups' folders and each
     * metric's value for each seed (in the order of seeds; NaN where the run diverged or has no
     * such value).
     */
    record Row(String task, Cell cell, List<Long> seeds, List<Long> diverged, List<String> groups, Map<String, List<Double>> values) {
        /** Whether some seed has a value of the metric. */
        boolean has(String metric) {
            return values.containsKey(metric) && values.get(metric).stream().anyMatch(Double::isFinite);
        }

        /** The values of the metric that are there (the seeds that did not diverge), in the order of seeds. */
        double[] finite(String metric) {
            return values.getOrDefault(metric, List.of()).stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).toArray();
        }

        String thetaMetric() {
            return has("theta_cosine") ? "theta_cosine" : has("theta_error") ? "theta_error" : null;
        }
    }

    final List<Row> rows;
    /** The metrics that have columns. */
    final List<String> metrics;

    private SweepSummary(List<Row> rows) {
        this.rows = rows;
        Set<String> present = new HashSet<>();
        for (Row r : rows) for (String k : METRICS) if (r.has(k)) present.add(k);
        List<String> m = new ArrayList<>();
        for (String k : METRICS) {
            // θ error's columns stay (empty) where no run knows θ*, unless the runs give the cosine instead
            boolean keep = present.contains(k) || k.equals("theta_error") && !present.contains("theta_cosine")
                    || k.equals("theta_mn_error") && !present.contains("theta_mn_cosine");
            if (keep) m.add(k);
        }
        metrics = List.copyOf(m);
    }

    /**
     * The rows of the finished groups' results; the runs of a group in failed (every run
     * diverged: no results.json) count as diverged.
     */
    static SweepSummary of(Plan plan, Path dir, Set<String> failed) {
        Map<String, Row> rows = new LinkedHashMap<>();
        for (String task : plan.tasks) {
            for (int c = 0; c < plan.cells.size(); c++) {
                Map<String, List<Double>> values = new LinkedHashMap<>();
                for (String k : METRICS) values.put(k, new ArrayList<>());
                rows.put(task + "\n" + c, new Row(task, plan.cells.get(c), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), values));
            }
        }
        for (Group g : plan.groups) {
            Path gdir = dir.resolve(g.folder());
            RunResults res = failed.contains(g.name()) ? null : RunResults.read(gdir);
            if (res != null && res.replicas().size() != g.runs().size()) {
                throw new DataException(res.file() + ": " + res.replicas().size() + " replica(s), the sweep's group " + g.name()
                        + " has " + g.runs().size() + " runs (" + dir.resolve(Sweep.FILE) + ")");
            }
            for (int r = 0; r < g.runs().size(); r++) {
                Run run = g.runs().get(r);
                Row row = rows.get(g.task() + "\n" + run.cell());
                row.seeds().add(run.seed());
                if (!row.groups().contains(g.folder())) row.groups().add(g.folder());
                RunResults.Replica rep = res == null ? null : res.replicas().get(r);
                if (rep != null) {
                    String method = row.cell().method();
                    if (rep.seed() != run.seed() || rep.method() != null && !rep.method().equals(method)) {
                        throw new DataException(res.file() + ": replica " + r + " is " + rep.method() + " with seed " + rep.seed()
                                + ", the sweep's run " + r + " of group " + g.name() + " is " + method + " with seed " + run.seed());
                    }
                    if (rep.fin() == null) throw new DataException(res.file() + ": replica " + r + ": missing field \"final\"");
                }
                boolean counted = rep != null && rep.diverged() == null;
                if (!counted) row.diverged().add(run.seed());
                RunResults.Final f = counted ? rep.fin() : null;
                // diverged runs are set aside: NaN, left out of the statistics
                add(row, "theta_cosine", f == null ? null : f.thetaCosine());
                add(row, "theta_error", f == null || f.thetaCosine() != null ? null : f.thetaError());
                add(row, "theta_mn_cosine", f == null ? null : f.thetaMnCosine());
                add(row, "theta_mn_error", f == null || f.thetaMnCosine() != null ? null : f.thetaMnError());
                add(row, "valid_mse", f == null ? null : f.validMse());
                add(row, "test_mse", f == null ? null : f.testMse());
                add(row, "network_share", f == null ? null : f.networkShare());
            }
        }
        return new SweepSummary(List.copyOf(rows.values()));
    }

    private static void add(Row row, String metric, Double v) {
        row.values().get(metric).add(v != null && Double.isFinite(v) ? v : Double.NaN);
    }

    /** median, min, max, q1, q3, iqr of a row's metric over its seeds (ReplicaSummary.stats); null where it has no values. */
    static Map<String, Object> stats(Row row, String metric) {
        double[] v = row.finite(metric);
        return v.length == 0 ? null : ReplicaSummary.stats(v);
    }

    /** The hyperparameters shown as columns: those listed with more than one value. */
    private static List<String> keys(Plan plan) {
        return plan.variedKeys();
    }

    Map<String, Object> json(Plan plan) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", Sweep.SUMMARY_SCHEMA);
        m.put("schema_version", Sweep.SCHEMA_VERSION);
        m.put("grid", plan.grid());
        m.put("varied", keys(plan));
        m.put("metrics", metrics);
        m.put("statistics", "over each cell's seeds that did not diverge: median, min, max, q1, q3, iqr (ReplicaSummary)");
        List<Object> l = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("task", r.task());
            e.put("method", r.cell().method());
            e.put("hyperparameters", r.cell().values());
            e.put("seeds", r.seeds());
            e.put("finished", r.seeds().size() - r.diverged().size());
            e.put("diverged", r.diverged());
            e.put("groups", r.groups());
            for (String k : metrics) {
                Map<String, Object> s = stats(r, k);
                if (s != null) e.put(k, s);
            }
            l.add(e);
        }
        m.put("rows", l);
        return m;
    }

    String csv(Plan plan) {
        List<String> header = new ArrayList<>(List.of("task", "method"));
        header.addAll(keys(plan));
        header.addAll(List.of("seeds", "diverged"));
        for (String k : metrics) for (String s : List.of("median", "q1", "q3")) header.add(k + "_" + s);
        header.add("group");
        StringBuilder b = new StringBuilder(String.join(",", header)).append('\n');
        for (Row r : rows) {
            List<String> f = new ArrayList<>(List.of(r.task(), r.cell().method()));
            for (String k : keys(plan)) f.add(r.cell().values().containsKey(k) ? Sweep.text(r.cell().values().get(k)) : "");
            f.add(String.valueOf(r.seeds().size()));
            f.add(String.valueOf(r.diverged().size()));
            for (String k : metrics) {
                Map<String, Object> s = stats(r, k);
                for (String q : List.of("median", "q1", "q3")) f.add(s == null ? "" : String.valueOf(s.get(q)));
            }
            f.add(String.join(";", r.groups()));
            b.append(f.stream().map(SweepSummary::csvField).collect(Collectors.joining(","))).append('\n');
        }
        return b.toString();
    }

    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    static String title(String metric) {
        return switch (metric) {
            case "theta_error" -> "\u03b8 error";
            case "theta_cosine" -> "cos(\u03b8, \u03b8*)";
            case "theta_mn_error" -> "\u03b8_mn error";
            case "theta_mn_cosine" -> "cos(\u03b8, \u03b8_mn)";
            case "valid_mse" -> "valid MSE";
            case "test_mse" -> "test MSE";
            case "network_share" -> "network share";
            default -> metric;
        };
    }

    /** The table (GitHub Markdown): each metric as median [q1, q3] over the seeds that did not diverge. */
    String markdown(Plan plan) {
        List<String> header = new ArrayList<>(List.of("task", "method"));
        for (String k : keys(plan)) header.add(Plots.symbol(k));
        header.addAll(List.of("seeds", "diverged"));
        for (String k : metrics) header.add(title(k));
        header.add("group");
        StringBuilder b = new StringBuilder("| ").append(String.join(" | ", header)).append(" |\n|");
        for (String h : header) b.append(h.equals("seeds") || h.equals("diverged") ? "---:|" : "---|");
        b.append('\n');
        for (Row r : rows) {
            List<String> f = new ArrayList<>(List.of(r.task(), r.cell().method()));
            for (String k : keys(plan)) f.add(r.cell().values().containsKey(k) ? Plots.value(r.cell().values().get(k)) : "");
            f.add(String.valueOf(r.seeds().size()));
            f.add(String.valueOf(r.diverged().size()));
            for (String k : metrics) {
                Map<String, Object> s = stats(r, k);
                String fmt = k.endsWith("_mse") ? "%.3e" : "%.4g";
                f.add(s == null ? "" : String.format(Locale.ROOT, fmt + " [" + fmt + ", " + fmt + "]", s.get("median"), s.get("q1"), s.get("q3")));
            }
            f.add(String.join(", ", r.groups()));
            b.append("| ").append(String.join(" | ", f)).append(" |\n");
        }
        b.append("\nEach metric: median [q1, q3] over the cell's seeds; diverged runs are left out of the statistics.\n");
        return b.toString();
    }
}
