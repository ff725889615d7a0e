package hybridsam.train;

import hybridsam.io.ConfigException;
import hybridsam.model.Split;
import hybridsam.model.ThetaSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The training loop: seeded shuffling, minibatches, validation every epoch, the best-by-validation
 * parameters, optional early stopping, a checkpoint after every epoch and a final test evaluation.
 * It drives any {@link TrainingEngine} and works on K replicas at once; each replica keeps its own
 * seed, shuffling, history and best epoch.
 */
public final class Trainer {

    /**
     * The data and settings of a run that the trainer needs; schedules: each replica's learning-rate
     * and ρ schedules (null: constant for all).
     */
    public record Plan(Split train, Split valid, Split test, ThetaSpec thetaSpec,
                       double[] thetaStar, double[] thetaMn, int epochs, int batchSize, int patience, long[] seeds,
                       boolean thetaUpToScale, Schedules[] schedules) {

        /** A plan for a θ that is identifiable (θ error is the measure). */
        public Plan(Split train, Split valid, Split test, ThetaSpec thetaSpec, double[] thetaStar, double[] thetaMn,
                    int epochs, int batchSize, int patience, long[] seeds) {
            this(train, valid, test, thetaSpec, thetaStar, thetaMn, epochs, batchSize, patience, seeds, false);
        }

        /** A plan without schedules (every replica's are constant). */
        public Plan(Split train, Split valid, Split test, ThetaSpec thetaSpec, double[] thetaStar, double[] thetaMn,
                    int epochs, int batchSize, int patience, long[] seeds, boolean thetaUpToScale) {
            this(train, valid, test, thetaSpec, thetaStar, thetaMn, epochs, batchSize, patience, seeds, thetaUpToScale, null);
        }

        public Plan {
            if (schedules != null && schedules.length != seeds.length) {
                throw new IllegalArgumentException("one schedule per replica: " + schedules.length + " for " + seeds.length);
            }
            if (epochs < 1) throw new ConfigException("--epochs must be at least 1 (got " + epochs + ")");
            if (batchSize < 1) throw new ConfigException("--batch must be at least 1 (got " + batchSize + ")");
            if (patience < 0) throw new ConfigException("--patience must be >= 0 (got " + patience + ")");
            if (batchSize > train.count()) {
                throw new ConfigException("--batch " + batchSize + " exceeds the " + train.count() + " training sequences");
            }
        }
    }

    /** Steps between loss read-backs (a GPU engine's only host round trip). */
    static final int REPORT_EVERY = 16;

    private final TrainingEngine engine;
    private final Plan plan;
    private final Path checkpointDir;
    private final Progress progress;
    private final int K;
    private final int P;

    // bookkeeping, saved in every checkpoint
    private final List<List<Map<String, Object>>> history = new ArrayList<>();
    private final double[] bestValid;
    private final int[] bestEpoch;
    private float[] bestParams;
    private double trainSeconds;
    private long steps;

    public Trainer(TrainingEngine engine, Plan plan, Path checkpointDir, Progress progress) {
        this.engine = engine;
        this.plan = plan;
        this.checkpointDir = checkpointDir;
        this.progress = progress;
        this.K = engine.replicas();
        if (plan.seeds().length != K) throw new IllegalArgumentException("one seed per replica");
        this.bestParams = engine.params();
        this.P = bestParams.length / K;
        this.bestValid = new double[K];
        this.bestEpoch = new int[K];
        java.util.Arrays.fill(bestValid, Double.POSITIVE_INFINITY);
        for (int r = 0; r < K; r++) history.add(new ArrayList<>());
        divergedEpoch = new int[K];
        divergedStep = new int[K];
    }

    /**
     * Where each replica diverged (epoch 0: it has not). With several replicas, one that diverges
     * is set aside, its parameters frozen at its best (finite) point, and the others go on; only
     * when every replica has diverged (or the only one) does training end with a
     * DivergenceException.
     */
    private final int[] divergedEpoch, divergedStep;

    /** Whether replica r diverged (its results carry where). */
    public boolean diverged(int r) {
        return divergedEpoch[r] > 0;
    }

    private void diverge(int r, int epoch, int step, double loss) {
        if (divergedEpoch[r] > 0) return;
        DivergenceException e = new DivergenceException(epoch, step, r, loss);
        if (K == 1) throw e;
        divergedEpoch[r] = epoch;
        divergedStep[r] = step;
        boolean all = true;
        for (int q = 0; q < K; q++) all &= divergedEpoch[q] > 0;
        if (all) throw e;
    }

    /** Puts every diverged replica back at its best parameters with fresh moments, so that no NaN is carried or saved. */
    private void freezeDiverged() {
        boolean any = false;
        for (int r = 0; r < K; r++) any |= divergedEpoch[r] > 0;
        if (!any) return;
        OptimizerState st = engine.state();
        float[] p = st.params().clone(), m = st.adamM().clone(), v = st.adamV().clone(), a = st.gradAverage().clone();
        for (int r = 0; r < K; r++) {
            if (divergedEpoch[r] == 0) continue;
            System.arraycopy(bestParams, r * P, p, r * P, P);
            java.util.Arrays.fill(m, r * P, (r + 1) * P, 0f);
            java.util.Arrays.fill(v, r * P, (r + 1) * P, 0f);
            java.util.Arrays.fill(a, r * P, (r + 1) * P, 0f);
        }
        engine.load(new OptimizerState(p, m, v, a, st.step()));
    }

    /** The order of the training sequences in an epoch: depends on (seed, epoch) only. */
    static int[] permutation(int n, long seed, int epoch) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    public static double thetaError(double[] theta, double[] reference) {
        double s = 0;
        for (int i = 0; i < theta.length; i++) s += Math.abs(theta[i] - reference[i]) / Math.abs(reference[i]);
        return s / theta.length;
    }

    /**
     * Cosine similarity of θ̂ and θ* as vectors: the measure for a θ known only up to scale (a
     * sensor matrix), 1 when they point the same way.
     */
    public static double thetaCosine(double[] theta, double[] reference) {
        double dot = 0, a = 0, b = 0;
        for (int i = 0; i < theta.length; i++) {
            dot += theta[i] * reference[i];
            a += theta[i] * theta[i];
            b += reference[i] * reference[i];
        }
        return dot / Math.sqrt(a * b);
    }

    /**
     * The θ measures a record gets where θ* is known: the relative error, or for a θ known only
     * up to scale the cosine instead (method.md §3).
     */
    private void putThetaMeasures(Map<String, Object> rec, double[] theta) {
        if (plan.thetaStar() == null) return;
        if (plan.thetaUpToScale()) rec.put("theta_cosine", thetaCosine(theta, plan.thetaStar()));
        else rec.put("theta_error", thetaError(theta, plan.thetaStar()));
    }

    /** Runs (or continues, when resume is given) the training and returns the results per replica. */
    public List<Map<String, Object>> run(Checkpoint resume) {
        int startEpoch = 0;
        if (resume != null) startEpoch = restore(resume);
        int n = plan.train().count(), B = plan.batchSize();
        int stepsPerEpoch = (n + B - 1) / B;
        int epoch = startEpoch;
        while (epoch < plan.epochs()) {
            epoch++;
            scheduleEpoch(epoch - 1);
            int[][] perms = new int[K][];
            for (int r = 0; r < K; r++) perms[r] = permutation(n, plan.seeds()[r], epoch);
            double[] lossSum = new double[K];
            double shown = Double.NaN;
            int reported = 0;
            long t0 = System.nanoTime();
            for (int s = 0; s < stepsPerEpoch; s++) {
                int from = s * B, b = Math.min(B, n - from);
                int[] batch = new int[K * b];
                for (int r = 0; r < K; r++) System.arraycopy(perms[r], from, batch, r * b, b);
                engine.advance(batch, b);
                steps++;
                // losses come back every REPORT_EVERY steps and at the end of the epoch
                if (s + 1 == stepsPerEpoch || (s + 1) % REPORT_EVERY == 0) {
                    LossTally t = engine.drainLosses();
                    for (int r = 0; r < K; r++) {
                        if (t.firstNonFinite()[r] > 0) diverge(r, epoch, reported + t.firstNonFinite()[r], t.sums()[r]);
                        if (divergedEpoch[r] == 0) lossSum[r] += t.sums()[r];
                    }
                    shown = t.sums()[0] / ((double) (from + b) - (double) reported * B);
                    reported = s + 1;
                }
                progress.step(epoch, s + 1, stepsPerEpoch, shown);
            }
            trainSeconds += (System.nanoTime() - t0) / 1e9;
            endOfEpoch(epoch, lossSum, n);
            freezeDiverged();
            if (checkpointDir != null) writeCheckpoint(epoch);
            if (plan.patience() > 0 && allStale(epoch)) break;
        }
        return results(epoch);
    }

    /**
     * Hands the engine each replica's schedule factors for epoch index e (0-based): a pure
     * function of e and the planned epochs, so a resumed run sets them as an uninterrupted one.
     */
    private void scheduleEpoch(int e) {
        double[] lr = new double[K], rho = new double[K];
        for (int r = 0; r < K; r++) {
            Schedules s = plan.schedules() == null ? Schedules.CONSTANT : plan.schedules()[r];
            lr[r] = s.lrFactor(e, plan.epochs());
            rho[r] = s.rhoFactor(e, plan.epochs());
        }
        engine.scheduleFactors(lr, rho);
    }

    private boolean allStale(int epoch) {
        for (int r = 0; r < K; r++) if (divergedEpoch[r] == 0 && epoch - bestEpoch[r] < plan.patience()) return false;
        return true;
    }

    private void endOfEpoch(int epoch, double[] lossSum, int n) {
        float[] params = engine.params();
        for (int r = 0; r < K; r++) {
            if (divergedEpoch[r] > 0) continue;
            double valid = engine.mse(params, r, plan.valid());
            if (!Double.isFinite(valid)) {
                diverge(r, epoch, 0, valid);
                continue;
            }
            double[] theta = plan.thetaSpec().physical(params, r * P);
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("epoch", epoch);
            rec.put("train_loss", lossSum[r] / n);
            rec.put("valid_mse", valid);
            rec.put("theta", theta);
            putThetaMeasures(rec, theta);
            history.get(r).add(rec);
            if (valid < bestValid[r]) {
                bestValid[r] = valid;
                bestEpoch[r] = epoch;
                System.arraycopy(params, r * P, bestParams, r * P, P);
            }
            if (r == 0) {
                progress.epoch(epoch, plan.epochs(), lossSum[r] / n, valid, theta,
                        plan.thetaStar() == null || plan.thetaUpToScale() ? Double.NaN : thetaError(theta, plan.thetaStar()),
                        plan.thetaStar() == null || !plan.thetaUpToScale() ? Double.NaN : thetaCosine(theta, plan.thetaStar()));
            }
        }
    }

    private Map<String, Object> bookkeeping() {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("history", history);
        // JSON has no infinity: a replica with no finite validation yet is stored as null
        List<Object> bv = new ArrayList<>();
        for (double v : bestValid) bv.add(Double.isFinite(v) ? v : null);
        b.put("best_valid", bv);
        b.put("best_epoch", bestEpoch);
        List<Object> dv = new ArrayList<>();
        for (int r = 0; r < K; r++) dv.add(divergedEpoch[r] == 0 ? null : Map.of("epoch", divergedEpoch[r], "step", divergedStep[r]));
        b.put("diverged", dv);
        b.put("train_seconds", trainSeconds);
        b.put("steps", steps);
        return b;
    }

    private void writeCheckpoint(int epoch) {
        try {
            new Checkpoint(epoch, engine.state(), bestParams, bookkeeping()).write(checkpointDir);
        } catch (IOException e) {
            // the reason too ("No space left on device"), not only a path
            throw new UncheckedIOException("cannot write " + checkpointDir.resolve(Checkpoint.FILE) + ": "
                    + hybridsam.io.AtomicFiles.reason(e), e);
        }
    }

    @SuppressWarnings("unchecked")
    private int restore(Checkpoint c) {
        engine.load(c.state());
        bestParams = c.bestParams().clone();
        Map<String, Object> b = c.bookkeeping();
        List<Object> h = (List<Object>) b.get("history");
        List<Object> bv = (List<Object>) b.get("best_valid");
        List<Object> be = (List<Object>) b.get("best_epoch");
        if (h == null || h.size() != K || bv == null || be == null) {
            throw new IllegalArgumentException("checkpoint does not match this run (" + K + " replicas)");
        }
        for (int r = 0; r < K; r++) {
            history.get(r).clear();
            for (Object rec : (List<Object>) h.get(r)) {
                Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) rec);
                m.put("epoch", ((Number) m.get("epoch")).intValue());
                m.put("theta", toDoubles((List<Object>) m.get("theta")));
                history.get(r).add(m);
            }
            Object v = bv.get(r);
            bestValid[r] = v == null ? Double.POSITIVE_INFINITY : ((Number) v).doubleValue();
            bestEpoch[r] = ((Number) be.get(r)).intValue();
        }
        if (b.get("diverged") instanceof List<?> dv) {
            for (int r = 0; r < K; r++) {
                if (dv.get(r) instanceof Map<?, ?> d) {
                    divergedEpoch[r] = ((Number) d.get("epoch")).intValue();
                    divergedStep[r] = ((Number) d.get("step")).intValue();
                }
            }
        }
        trainSeconds = ((Number) b.get("train_seconds")).doubleValue();
        steps = ((Number) b.get("steps")).longValue();
        return c.epochsDone();
    }

    private static double[] toDoubles(List<Object> l) {
        double[] d = new double[l.size()];
        for (int i = 0; i < d.length; i++) d[i] = ((Number) l.get(i)).doubleValue();
        return d;
    }

    private List<Map<String, Object>> results(int lastEpoch) {
        List<Map<String, Object>> out = new ArrayList<>();
        float[] last = engine.params();
        for (int r = 0; r < K; r++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seed", plan.seeds()[r]);
            m.put("epochs_run", lastEpoch);
            if (divergedEpoch[r] > 0) {
                // set aside; its final numbers are those of its best epoch before it diverged
                m.put("diverged", Map.of("epoch", divergedEpoch[r], "step", divergedStep[r]));
            }
            m.put("best_epoch", bestEpoch[r]);
            double[] theta = plan.thetaSpec().physical(bestParams, r * P);
            TrainingEngine.Metrics test = engine.evaluate(bestParams, r, plan.test());
            Map<String, Object> fin = new LinkedHashMap<>();
            fin.put("theta", theta);
            putThetaMeasures(fin, theta);
            if (plan.thetaMn() != null) {
                if (plan.thetaUpToScale()) fin.put("theta_mn_cosine", thetaCosine(theta, plan.thetaMn()));
                else fin.put("theta_mn_error", thetaError(theta, plan.thetaMn()));
            }
            fin.put("valid_mse", Double.isFinite(bestValid[r]) ? bestValid[r] : null);  // null: diverged before a valid epoch
            fin.put("test_mse", test.mse());
            fin.put("test_mse_science_only", test.scienceOnlyMse());
            fin.put("network_share", test.networkShare());
            m.put("final", fin);
            Map<String, Object> lastRec = new LinkedHashMap<>();
            double[] thetaLast = plan.thetaSpec().physical(last, r * P);
            lastRec.put("theta", thetaLast);
            putThetaMeasures(lastRec, thetaLast);
            m.put("last_epoch", lastRec);
            m.put("history", history.get(r));
            out.add(m);
        }
        return out;
    }

    public double trainSeconds() {
        return trainSeconds;
    }

    public long steps() {
        return steps;
    }
}
