package hybridsam.cli;

import hybridsam.io.AtomicFiles;
import hybridsam.io.DataException;
import hybridsam.io.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A finished run's {@code results.json}, read: the one schema of every run (version
 * {@value #SCHEMA_VERSION}: a {@code replicas} list, of one entry for a single run, θ by
 * component name) and the two layouts written before it (a single run's fields at the top, or a
 * {@code replicas} list, θ as arrays), so that runs made before the schema still plot and
 * summarise. Anything missing or of the wrong type is a {@link DataException} naming the file
 * and the field.
 *
 * <p>The reader behind {@code plot}, {@code sweep}'s summary and {@code tune}'s choice.
 */
record RunResults(Path file, int schemaVersion, String task, String preset, List<String> thetaNames,
                  double[] thetaStar, double[] thetaMn, List<Replica> replicas, Map<String, Object> json) {

    /** The version written into {@code schema_version}; files without the field are version 1. */
    static final int SCHEMA_VERSION = 2;
    /** The value of the {@code schema} field, naming what the file is. */
    static final String SCHEMA = "hybridsam-results";

    /**
     * A replica's final metrics (those of its best-by-validation epoch); a metric the run could not
     * compute (θ error without θ*, the cosine of a θ identifiable up to scale) is null.
     */
    record Final(double[] theta, Double thetaError, Double thetaCosine, Double thetaMnError, Double thetaMnCosine,
                 Double validMse, double testMse, Double testMseScienceOnly, double networkShare) {
    }

    /**
     * One replica: its seed, hyperparameters (as results.json has them), best epoch, where it
     * diverged (null if it did not), final metrics and its per-epoch history; label is what
     * tells it from the run's other replicas ("" for a single run), for legends and tables.
     */
    record Replica(int index, long seed, String label, Map<String, Object> hyperparameters, int bestEpoch, int epochsRun,
                   Map<String, Object> diverged, Final fin, double[] epochs, double[] trainLoss, double[] validMse,
                   double[][] theta, double[] thetaCosine) {
        /** The method's id ("fsam", "erm", ...), or null where the file does not say. */
        String method() {
            return hyperparameters.get("method") instanceof String s ? s : null;
        }

        /** A hyperparameter as a number, or null (absent or not a number). */
        Double number(String key) {
            return hyperparameters.get(key) instanceof Number n ? n.doubleValue() : null;
        }
    }

    /** Whether every replica's history has the cosine to θ* (a θ known only up to scale, with θ* known). */
    boolean cosine() {
        return !replicas.isEmpty() && replicas.stream().allMatch(r -> r.thetaCosine() != null);
    }

    /** dir/results.json, read and checked. */
    static RunResults read(Path dir) {
        Path f = dir.resolve("results.json");
        String text;
        try {
            text = Files.readString(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataException(f + ": not found (is " + dir + " a finished hybridsam run? a run writes results.json when it finishes)");
        } catch (IOException e) {
            throw new DataException(f + ": cannot read: " + AtomicFiles.reason(e), e);
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (Json.ParseException e) {
            throw new DataException(f + ": malformed JSON: " + e.getMessage(), e);
        }
        return of(f, Json.object(parsed, f.toString()));
    }

    /** The results in res, read from file f (named in errors). */
    static RunResults of(Path f, Map<String, Object> res) {
        String where = f.toString();
        int version = 1;
        if (res.containsKey("schema_version")) {
            long v = Json.integer(res, "schema_version", where);
            if (v < 1 || v > SCHEMA_VERSION) {
                throw new DataException(where + ": field \"schema_version\" is " + v + "; this hybridsam reads versions 1 to "
                        + SCHEMA_VERSION + " (a newer hybridsam wrote it?)");
            }
            version = (int) v;
        }
        String task = Json.string(res, "task", where);
        String preset = res.get("preset") instanceof String s ? s : null;
        Map<String, Object> model = Json.object(field(res, "model", where), where + ": field \"model\"");
        List<String> names = new ArrayList<>();
        List<Object> n = Json.array(model, "theta_names", where + ": model");
        for (int i = 0; i < n.size(); i++) {
            if (!(n.get(i) instanceof String s)) throw new DataException(where + ": field \"model.theta_names[" + i + "]\" must be a string");
            names.add(s);
        }
        double[] star = optionalTheta(res, "theta_star", names, where);
        double[] mn = optionalTheta(res, "theta_mn", names, where);
        List<Map<String, Object>> entries = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        if (res.containsKey("replicas")) {
            List<Object> list = Json.array(res, "replicas", where);
            if (list.isEmpty()) throw new DataException(where + ": field \"replicas\" is empty");
            for (int r = 0; r < list.size(); r++) {
                entries.add(Json.object(list.get(r), where + ": replicas[" + r + "]"));
                paths.add("replicas[" + r + "]");
            }
        } else if (version >= 2) {
            throw new DataException(where + ": missing field \"replicas\"");
        } else {
            entries.add(res);
            paths.add("");
        }
        List<String> labels = Plots.labels(entries);
        List<Replica> replicas = new ArrayList<>();
        for (int r = 0; r < entries.size(); r++) {
            replicas.add(replica(r, labels.get(r), entries.get(r), names,
                    where + (paths.get(r).isEmpty() ? "" : ": " + paths.get(r))));
        }
        return new RunResults(f, version, task, preset, List.copyOf(names), star, mn, List.copyOf(replicas), res);
    }

    private static Object field(Map<String, Object> m, String key, String where) {
        if (!m.containsKey(key)) throw new DataException(where + ": missing field \"" + key + "\"");
        return m.get(key);
    }

    private static double[] optionalTheta(Map<String, Object> res, String key, List<String> names, String where) {
        if (!res.containsKey(key) || res.get(key) == null) return null;
        return theta(res, key, names, where);
    }

    /**
     * θ under key: an object by component name (the schema) or an array in component order (the
     * layouts before it); either must hold exactly the run's components.
     */
    static double[] theta(Map<String, Object> m, String key, List<String> names, String where) {
        if (m.get(key) instanceof Map<?, ?> byName) {
            double[] v = new double[names.size()];
            if (byName.size() != names.size()) {
                throw new DataException(where + ": field \"" + key + "\" has " + byName.size() + " components for the run's "
                        + names.size() + " (" + String.join(", ", names) + ")");
            }
            for (int i = 0; i < v.length; i++) {
                if (!(byName.get(names.get(i)) instanceof Number x)) {
                    throw new DataException(where + ": field \"" + key + "." + names.get(i) + "\" must be a number");
                }
                v[i] = x.doubleValue();
            }
            return v;
        }
        double[] v = Json.doubles(m, key, where);
        if (v.length != names.size()) {
            throw new DataException(where + ": field \"" + key + "\" has " + v.length + " values for " + names.size() + " theta components");
        }
        return v;
    }

    /** θ as results.json writes it: an object from component name to value, in component order. */
    static Map<String, Object> byName(double[] theta, List<String> names) {
        if (theta.length != names.size()) {
            throw new IllegalArgumentException(theta.length + " values for " + names.size() + " names");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < theta.length; i++) m.put(names.get(i), theta[i]);
        return m;
    }

    /**
     * A replica's results as the trainer returns them, with θ (final, last epoch and every
     * epoch of the history) turned from arrays into objects by component name, in place.
     */
    @SuppressWarnings("unchecked")
    static void nameTheta(Map<String, Object> replicaResult, List<String> names) {
        for (String key : List.of("final", "last_epoch")) {
            if (replicaResult.get(key) instanceof Map<?, ?> m) nameThetaIn((Map<String, Object>) m, names);
        }
        if (replicaResult.get("history") instanceof List<?> h) {
            for (Object e : h) if (e instanceof Map<?, ?> m) nameThetaIn((Map<String, Object>) m, names);
        }
    }

    private static void nameThetaIn(Map<String, Object> m, List<String> names) {
        if (m.get("theta") instanceof double[] t) m.put("theta", byName(t, names));
    }

    @SuppressWarnings("unchecked")
    private static Replica replica(int index, String label, Map<String, Object> m, List<String> names, String where) {
        int best = (int) Json.integer(m, "best_epoch", where);
        int run = m.containsKey("epochs_run") ? (int) Json.integer(m, "epochs_run", where) : -1;
        long seed = m.get("seed") instanceof Number s ? s.longValue() : 0;
        Map<String, Object> hp = m.get("hyperparameters") instanceof Map<?, ?> h ? (Map<String, Object>) h : Map.of();
        Map<String, Object> diverged = m.get("diverged") instanceof Map<?, ?> d ? (Map<String, Object>) d : null;
        Final fin = null;
        if (m.containsKey("final")) {
            String at = where + ": final";
            Map<String, Object> f = Json.object(m.get("final"), at);
            fin = new Final(theta(f, "theta", names, at), opt(f, "theta_error", at), opt(f, "theta_cosine", at),
                    opt(f, "theta_mn_error", at), opt(f, "theta_mn_cosine", at), opt(f, "valid_mse", at),
                    Json.number(f, "test_mse", at), opt(f, "test_mse_science_only", at), Json.number(f, "network_share", at));
        }
        List<Object> h = Json.array(m, "history", where);
        int E = h.size();
        double[] epochs = new double[E], train = new double[E], valid = new double[E], cosine = new double[E];
        double[][] theta = new double[E][];
        boolean allCosine = E > 0;
        for (int e = 0; e < E; e++) {
            String at = where + ": history[" + e + "]";
            Map<String, Object> rec = Json.object(h.get(e), at);
            epochs[e] = Json.integer(rec, "epoch", at);
            train[e] = Json.number(rec, "train_loss", at);
            valid[e] = Json.number(rec, "valid_mse", at);
            theta[e] = theta(rec, "theta", names, at);
            if (rec.containsKey("theta_cosine")) cosine[e] = Json.number(rec, "theta_cosine", at);
            else allCosine = false;
        }
        return new Replica(index, seed, label, hp, best, run, diverged, fin, epochs, train, valid, theta, allCosine ? cosine : null);
    }

    private static Double opt(Map<String, Object> m, String key, String where) {
        if (!m.containsKey(key) || m.get(key) == null) return null;
        return Json.number(m, key, where);
    }
}
