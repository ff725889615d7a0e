package hybridsam.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outputs of a run with K &gt; 1 replicas: each replica's entry in results.json, the summary
 * over replicas (median, min, max, quartiles of the final θ error and test MSE, overall and per
 * distinct value of each hyperparameter given as a list) and the compact tables on stdout.
 */
final class ReplicaSummary {
    private ReplicaSummary() {
    }

    /** The final metrics the summary describes, in the order it shows them. */
    private static final List<String> TRAIN_METRICS = List.of("theta_error", "theta_cosine", "theta_mn_error", "theta_mn_cosine", "test_mse");

    /** "4..6" for consecutive seeds, else the seeds joined by commas (shortened when many). */
    static String seedRange(long[] seeds) {
        boolean consecutive = true;
        for (int r = 1; r < seeds.length; r++) consecutive &= seeds[r] == seeds[r - 1] + 1;
        if (consecutive && seeds.length > 1) return seeds[0] + ".." + seeds[seeds.length - 1];
        StringBuilder b = new StringBuilder();
        for (int r = 0; r < seeds.length; r++) {
            if (r == 8 && seeds.length > 10) {
                b.append(", ... (").append(seeds.length).append(" in all)");
                break;
            }
            b.append(r == 0 ? "" : ", ").append(seeds[r]);
        }
        return b.toString();
    }

    /** Each replica's settings (from the config) followed by its results from the trainer. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> merge(Map<String, Object> config, List<Map<String, Object>> results) {
        List<Object> settings = (List<Object>) config.get("replicas");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int r = 0; r < results.size(); r++) {
            Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) settings.get(r));
            m.putAll(results.get(r));
            out.add(m);
        }
        return out;
    }

    /** The summary of a trained run's replicas (results as the trainer returns them). */
    static Map<String, Object> of(List<Map<String, Object>> results, RunSetup setup) {
        List<Map<String, Object>> finals = new ArrayList<>();
        for (Map<String, Object> r : results) finals.add(finalOf(r));
        // diverged replicas are set aside: listed with where they diverged, left out of the statistics
        List<Integer> finished = new ArrayList<>();
        for (int r = 0; r < results.size(); r++) if (!results.get(r).containsKey("diverged")) finished.add(r);
        Map<String, Object> s = statsOf(finals, finished, TRAIN_METRICS);
        if (finished.size() < results.size()) {
            List<Integer> diverged = new ArrayList<>();
            for (int r = 0; r < results.size(); r++) if (!finished.contains(r)) diverged.add(r);
            s.put("diverged", diverged);
        }
        if (!setup.varied.isEmpty()) {
            Map<String, Object> by = new LinkedHashMap<>();
            for (String option : setup.varied) {
                String key = RunSetup.hyperparameterKey(option);
                Map<Object, List<Integer>> groups = new LinkedHashMap<>();
                for (int r = 0; r < setup.replicas; r++) {
                    if (finished.contains(r)) groups.computeIfAbsent(setup.hyperparameters(r).get(key), k -> new ArrayList<>()).add(r);
                }
                List<Object> rows = new ArrayList<>();
                for (Map.Entry<Object, List<Integer>> g : groups.entrySet()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put(key, g.getKey());
                    row.put("replicas", g.getValue());
                    row.putAll(statsOf(finals, g.getValue(), TRAIN_METRICS));
                    rows.add(row);
                }
                by.put(key, rows);
            }
            s.put("by", by);
        }
        return s;
    }

    /** The summary of evaluate's per-replica metrics. */
    static Map<String, Object> ofEvaluations(List<Map<String, Object>> each, String split) {
        return statsOf(each, allReplicas(each.size()), evalMetrics(split));
    }

    /** The metrics evaluate summarises, under the names results.json's "final" uses. */
    private static List<String> evalMetrics(String split) {
        return List.of("theta_error", "theta_cosine", split + "_mse");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> finalOf(Map<String, Object> replicaResult) {
        return (Map<String, Object>) replicaResult.get("final");
    }

    private static List<Integer> allReplicas(int k) {
        List<Integer> all = new ArrayList<>();
        for (int r = 0; r < k; r++) all.add(r);
        return all;
    }

    private static Map<String, Object> statsOf(List<Map<String, Object>> rows, List<Integer> which, List<String> metrics) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("count", which.size());
        for (String metric : metrics) {
            double[] v = new double[which.size()];
            boolean present = true;
            for (int i = 0; i < v.length; i++) {
                Object x = rows.get(which.get(i)).get(metric);
                if (!(x instanceof Number n)) {
                    present = false;
                    break;
                }
                v[i] = n.doubleValue();
            }
            if (present) s.put(metric, stats(v));
        }
        return s;
    }

    /**
     * median (the middle value, or the mean of the two middle values), min, max, the quartiles
     * q1 and q3 (linear interpolation between order statistics) and iqr = q3 - q1.
     */
    static Map<String, Object> stats(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("median", median(values));
        m.put("min", s[0]);
        m.put("max", s[n - 1]);
        double q1 = quantile(s, 0.25), q3 = quantile(s, 0.75);
        m.put("q1", q1);
        m.put("q3", q3);
        m.put("iqr", q3 - q1);
        return m;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double quantile(double[] sorted, double p) {
        double pos = p * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    private static String show(Object v) {
        if (v instanceof Double d) return d.toString();
        return String.valueOf(v);
    }

    /** train's stdout for K > 1: one line per replica, then the summary. */
    @SuppressWarnings("unchecked")
    static void printTable(PrintStream out, Map<String, Object> res, RunSetup setup) {
        List<Map<String, Object>> reps = (List<Map<String, Object>>) res.get("replicas");
        List<String> keys = setup.varied.stream().map(RunSetup::hyperparameterKey).toList();
        boolean hasError = finalOf(reps.get(0)).containsKey("theta_error");
        boolean hasCosine = finalOf(reps.get(0)).containsKey("theta_cosine");
        StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "%7s %6s", "replica", "seed"));
        for (String k : keys) h.append(String.format(Locale.ROOT, " %10s", k));
        // θ̂ always, by component name: a run on data without θ* has no error to show, but its estimate
        h.append(String.format(Locale.ROOT, " %-24s", String.join(",", setup.task.theta().names())));
        h.append(String.format(Locale.ROOT, " %5s %12s%s %11s %8s", "best", hasError ? "theta_error" : "",
                hasCosine ? String.format(Locale.ROOT, " %12s", "theta_cosine") : "", "test_mse", "physics"));
        out.println(h.toString().stripTrailing());
        for (int r = 0; r < reps.size(); r++) {
            Map<String, Object> e = reps.get(r);
            Map<String, Object> f = finalOf(e);
            StringBuilder l = new StringBuilder(String.format(Locale.ROOT, "%7d %6s", r, e.get("seed")));
            for (String k : keys) l.append(String.format(Locale.ROOT, " %10s", show(setup.hyperparameters(r).get(k))));
            l.append(String.format(Locale.ROOT, " %-24s", thetaText(f.get("theta"))));
            l.append(String.format(Locale.ROOT, " %5s %12s%s %11.4e %8.4f", e.get("best_epoch"),
                    hasError ? String.format(Locale.ROOT, "%.4f", (double) f.get("theta_error")) : "",
                    hasCosine ? String.format(Locale.ROOT, " %12.4f", (double) f.get("theta_cosine")) : "",
                    (double) f.get("test_mse"), (double) f.get("network_share")));
            if (e.get("diverged") instanceof Map<?, ?> d) {
                l.append(String.format(Locale.ROOT, "  diverged at epoch %s, step %s (set aside; its best epoch's numbers)",
                        d.get("epoch"), d.get("step")));
            }
            out.println(l);
        }
        Map<String, Object> sum = (Map<String, Object>) res.get("summary");
        int diverged = sum.get("diverged") instanceof List<?> dv ? dv.size() : 0;
        printStats(out, "over " + (reps.size() - diverged) + " replicas" + (diverged > 0 ? " (" + diverged + " diverged, left out)" : ""),
                sum, List.of("theta_error", "theta_cosine", "test_mse"));
        Map<String, Object> by = (Map<String, Object>) sum.get("by");
        if (by != null) {
            for (Map.Entry<String, Object> e : by.entrySet()) {
                for (Object o : (List<Object>) e.getValue()) {
                    Map<String, Object> row = (Map<String, Object>) o;
                    out.printf(Locale.ROOT, "%s = %s (%s of %d): %s%n", e.getKey(), show(row.get(e.getKey())),
                            row.get("count"), reps.size(), medians(row, List.of("theta_error", "theta_cosine", "test_mse")));
                }
            }
        }
        out.printf(Locale.ROOT, "steps/s %.2f over %s steps (%d replicas each: %.2f replica steps/s)%n",
                (double) res.get("steps_per_second"), res.get("steps"), reps.size(), (double) res.get("replica_steps_per_second"));
    }

    /** θ̂ as the progress line writes it, components joined by commas (a double[] or a list of numbers). */
    private static String thetaText(Object theta) {
        List<String> parts = new ArrayList<>();
        if (theta instanceof double[] t) for (double v : t) parts.add(ProgressLine.theta(v));
        else if (theta instanceof Map<?, ?> t) for (Object v : t.values()) parts.add(ProgressLine.theta(((Number) v).doubleValue()));
        else if (theta instanceof List<?> t) for (Object v : t) parts.add(ProgressLine.theta(((Number) v).doubleValue()));
        return String.join(",", parts);
    }

    /** evaluate's text output for K > 1. */
    @SuppressWarnings("unchecked")
    static void printEvaluations(PrintStream out, Map<String, Object> r, List<Map<String, Object>> each, String split) {
        out.printf(Locale.ROOT, "run %s, split %s, after epoch %s%n", r.get("run"), r.get("split"), r.get("epochs_done"));
        boolean hasError = each.get(0).containsKey("theta_error");
        out.println(String.format(Locale.ROOT, "%7s %6s %-24s %12s %11s %11s %8s", "replica", "seed", "theta",
                hasError ? "theta_error" : "", split + "_mse", "science", "physics").stripTrailing());
        for (Map<String, Object> e : each) {
            out.println(String.format(Locale.ROOT, "%7s %6s %-24s %12s %11.4e %11.4e %8.4f", e.get("replica"), e.get("seed"),
                    thetaText(e.get("theta")),
                    hasError ? String.format(Locale.ROOT, "%.4f", (double) e.get("theta_error")) : "",
                    (double) e.get(split + "_mse"), (double) e.get(split + "_mse_science_only"), (double) e.get("network_share")));
        }
        printStats(out, "over " + each.size() + " replicas", (Map<String, Object>) r.get("summary"), evalMetrics(split));
    }

    /** A small table: one line per metric with its median, min, max and interquartile range. */
    @SuppressWarnings("unchecked")
    private static void printStats(PrintStream out, String title, Map<String, Object> s, List<String> metrics) {
        out.printf(Locale.ROOT, "%-24s %11s %11s %11s %11s%n", title, "median", "min", "max", "IQR");
        for (String metric : metrics) {
            Map<String, Object> st = (Map<String, Object>) s.get(metric);
            if (st == null) continue;
            out.printf(Locale.ROOT, "%-24s %11.4e %11.4e %11.4e %11.4e%n", "  " + metric, (double) st.get("median"),
                    (double) st.get("min"), (double) st.get("max"), (double) st.get("iqr"));
        }
    }

    @SuppressWarnings("unchecked")
    private static String medians(Map<String, Object> s, List<String> metrics) {
        List<String> parts = new ArrayList<>();
        for (String metric : metrics) {
            Map<String, Object> st = (Map<String, Object>) s.get(metric);
            if (st != null) parts.add(String.format(Locale.ROOT, "median %s %.4e", metric, (double) st.get("median")));
        }
        return String.join(", ", parts);
    }
}
