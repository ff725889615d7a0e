package hybridsam.cpu;

import hybridsam.train.Rules;
import hybridsam.train.Method;
import hybridsam.train.LossTally;
import hybridsam.train.OptimizerState;
import hybridsam.train.RuleConfig;
import hybridsam.train.Gradients;
import hybridsam.train.TrainingEngine;
import hybridsam.model.Hybrid;
import hybridsam.model.Split;

/** The rules of method.md §2 on the CPU backend: the reference for every other engine. */
public final class CpuTrainingEngine implements TrainingEngine {
    private final CpuBackend backend;
    private final Gradients gradients;
    private final Hybrid model;
    private final Split train;
    /** The rules as given, and as the current epoch's schedule factors make them (the same objects at factors of 1). */
    private final RuleConfig[] baseRules, rules;
    private final int K, P;
    private OptimizerState state;
    private final float[] grad, grad2, eps, saved;
    private final double[] loss, loss2;
    private final LossTally.Accumulator tally;

    /** One rule configuration per replica (replicas may differ in their hyperparameters). */
    public CpuTrainingEngine(CpuBackend backend, Split train, RuleConfig[] rules, float[] initialParams) {
        this(backend, backend, train, rules, initialParams);
    }

    /** With the gradients taken from elsewhere (tests watch the points a rule evaluates at). */
    CpuTrainingEngine(CpuBackend backend, Gradients gradients, Split train, RuleConfig[] rules, float[] initialParams) {
        this.backend = backend;
        this.gradients = gradients;
        this.model = backend.model();
        this.train = train;
        this.baseRules = rules.clone();
        this.rules = rules.clone();
        this.K = rules.length;
        this.P = model.parameterCount();
        if (initialParams.length != K * P) {
            throw new IllegalArgumentException("expected " + K + " x " + P + " parameters, got " + initialParams.length);
        }
        this.state = OptimizerState.fresh(initialParams);
        grad = new float[K * P];
        grad2 = new float[K * P];
        eps = new float[K * P];
        saved = new float[K * P];
        loss = new double[K];
        loss2 = new double[K];
        tally = new LossTally.Accumulator(K);
    }

    @Override
    public String describe() {
        return "cpu (" + backend.threads() + " threads, " + CpuOdeBackend.vectorLength() * 32 + "-bit vectors)";
    }

    @Override
    public int replicas() {
        return K;
    }

    /** Learning rates and ρ of each replica from here on: its given rule's times the factors (see RuleConfig.scaled). */
    @Override
    public void scheduleFactors(double[] lrFactor, double[] rhoFactor) {
        TrainingEngine.checkFactors(K, lrFactor, rhoFactor);
        for (int r = 0; r < K; r++) rules[r] = baseRules[r].scaled(lrFactor[r], rhoFactor[r]);
    }

    @Override
    public double[] step(int[] batch, int B) {
        float[] p = state.params();
        long t = state.step() + 1;
        gradients.lossAndGradient(K, p, train, batch, B, grad, loss);
        int nTheta = model.thetaCount();
        boolean anyPerturbed = false;
        for (int r = 0; r < K; r++) {
            RuleConfig cfg = rules[r];
            int base = r * P;
            if (cfg.method() == Method.L2) {
                float l2 = (float) cfg.l2();
                for (int i = base + nTheta; i < base + P; i++) grad[i] += l2 * p[i];
            }
            if (cfg.method().perturbs()) {
                anyPerturbed = true;
                int off = cfg.perturbAll() ? base : base + nTheta;
                int n = base + P - off;
                Rules.perturbation(cfg, grad, p, state.gradAverage(), t == 1, off, n, eps);
                System.arraycopy(p, off, saved, off, n);
                for (int i = off; i < off + n; i++) p[i] += eps[i];
            }
        }
        if (anyPerturbed) {
            gradients.lossAndGradient(K, p, train, batch, B, grad2, loss2);
            for (int r = 0; r < K; r++) {
                RuleConfig cfg = rules[r];
                if (!cfg.method().perturbs()) continue;
                int base = r * P;
                int off = cfg.perturbAll() ? base : base + nTheta;
                // restore exactly from the saved copy rather than subtracting ε
                System.arraycopy(saved, off, p, off, base + P - off);
                int from = cfg.thetaGradClean() ? base + nTheta : base;
                System.arraycopy(grad2, from, grad, from, base + P - from);
            }
        }
        for (int r = 0; r < K; r++) {
            RuleConfig cfg = rules[r];
            int base = r * P;
            Rules.clip(grad, base, P, cfg.clip());
            Rules.adam(p, grad, state.adamM(), state.adamV(), base, nTheta, cfg.lrTheta(), 0, t);
            Rules.adam(p, grad, state.adamM(), state.adamV(), base + nTheta, P - nTheta, cfg.lrNn(), cfg.weightDecay(), t);
        }
        state = new OptimizerState(p, state.adamM(), state.adamV(), state.gradAverage(), t);
        return loss.clone();
    }

    @Override
    public void advance(int[] batch, int B) {
        tally.add(step(batch, B), B);
    }

    @Override
    public LossTally drainLosses() {
        return tally.drain();
    }

    @Override
    public OptimizerState state() {
        return state.copy();
    }

    @Override
    public void load(OptimizerState s) {
        if (s.params().length != K * P) throw new IllegalArgumentException("state has the wrong size");
        state = s.copy();
    }

    @Override
    public Metrics evaluate(float[] params, int replica, Split split) {
        return backend.evaluate(params, replica * P, split);
    }

    @Override
    public double mse(float[] params, int replica, Split split) {
        return backend.meanSquaredError(params, replica * P, split, true);
    }

    @Override
    public void close() {
        backend.close();
    }
}
