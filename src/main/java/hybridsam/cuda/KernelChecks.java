package hybridsam.cuda;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.train.LossTally;
import hybridsam.train.Method;
import hybridsam.train.Rules;
import hybridsam.train.RuleConfig;
import hybridsam.train.Schedule;
import hybridsam.train.Schedules;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Every kernel, through {@link StepKernels}, against the Java reference (CpuOdeBackend, Rules,
 * CpuTrainingEngine) on fresh random inputs, with sizes that are not multiples of the block
 * sizes and several replicas. Used by the tests on the emulated device and by the GPU check
 * (benchmarks/gpu-check.sh) on a real one, so both run the same comparisons.
 */
public final class KernelChecks {
    private KernelChecks() {
    }

    /** One comparison: the worst |device − reference| / (atol + rtol·|reference|) over all values. */
    public record Check(String name, double worst, int values) {
        public boolean passed() {
            return worst <= 1.0 && Double.isFinite(worst);
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%-4s %-44s worst %.3g of tolerance over %d values",
                    passed() ? "PASS" : "FAIL", name, worst, values);
        }
    }

    /** The worst error of device values against references, in units of atol + rtol·|ref| (ConvChecks uses it too). */
    static final class Compare {
        double worst;
        int n;
        final double rtol, atol;

        Compare(double rtol, double atol) {
            this.rtol = rtol;
            this.atol = atol;
        }

        Compare add(float[] dev, float[] ref) {
            for (int i = 0; i < ref.length; i++) one(dev[i], ref[i]);
            return this;
        }

        Compare add(float[] dev, double[] ref) {
            if (dev.length != ref.length) throw new IllegalStateException("compared arrays differ in length");
            for (int i = 0; i < ref.length; i++) one(dev[i], ref[i]);
            return this;
        }

        Compare add(double[] dev, double[] ref) {
            for (int i = 0; i < ref.length; i++) one(dev[i], ref[i]);
            return this;
        }

        void one(double d, double r) {
            double e = Math.abs(d - r) / (atol + rtol * Math.abs(r));
            if (!(e <= worst)) worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
            n++;
        }

        /** Sums within tolerance (equal non-finite values count as equal), first bad steps and step counts exactly. */
        Compare add(LossTally dev, LossTally ref) {
            for (int r = 0; r < ref.sums().length; r++) {
                double d = dev.sums()[r], x = ref.sums()[r];
                if (d == x || (Double.isNaN(d) && Double.isNaN(x))) one(0, 0);
                else one(d, x);
                exact(dev.firstNonFinite()[r] == ref.firstNonFinite()[r]);
            }
            exact(dev.steps() == ref.steps());
            return this;
        }

        void exact(boolean ok) {
            one(ok ? 0 : Double.POSITIVE_INFINITY, 0);
        }

        Check as(String name) {
            return new Check(name, worst, n);
        }
    }

    static OdeHybrid hybrid(ScientificModel sci, Activation act, int spf, int... hidden) {
        int[] w = new int[hidden.length + 2];
        w[0] = 2;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = 2;
        return new OdeHybrid(sci, new MlpShape(w, act), 0.1, spf);
    }

    static float[] randomParams(OdeHybrid m, int K, SplittableRandom rng) {
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (rng.nextDouble() - 0.5);
            m.corrector().initialize(p, r * P + m.nnOffset(), rng);
        }
        return p;
    }

    static Sequences randomSequences(int n, int frames, SplittableRandom rng) {
        float[] obs = new float[n * frames * 2];
        for (int i = 0; i < obs.length; i++) obs[i] = (float) (2 * rng.nextDouble() - 1);
        return new Sequences(obs, n, frames, 2);
    }

    static float[] randomFloats(int n, double scale, SplittableRandom rng) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) ((2 * rng.nextDouble() - 1) * scale);
        return x;
    }

    static int[] randomBatch(int K, int B, int count, SplittableRandom rng) {
        int[] b = new int[K * B];
        for (int i = 0; i < b.length; i++) b[i] = rng.nextInt(count);
        return b;
    }

    public static RuleConfig rule(Method m, boolean perturbAll, boolean thetaClean, double weightDecay) {
        double rho = m == Method.ASAM ? 0.5 : 0.05;
        return new RuleConfig(m, rho, 1.0, 0.9, 0.01, 1e-3, perturbAll, thetaClean, 1e-2, 1e-3, 5.0, weightDecay);
    }

    /** A check not run yet: its name (known before it runs) and the work, which returns one or more results. */
    public record Planned(String name, Supplier<List<Check>> work) {
        static Planned one(String name, Supplier<Check> work) {
            return new Planned(name, () -> List.of(work.get()));
        }
    }

    /** Every check at test sizes; `large` adds the pendulum at its full size. */
    public static List<Check> all(Device dev, long seed, boolean large) {
        List<Check> out = new ArrayList<>();
        for (Planned p : plan(dev, seed, large)) out.addAll(p.work().get());
        return out;
    }

    /**
     * The checks of {@link #all}, not run yet, in order (they draw from one generator, so the
     * order fixes the inputs): how GpuCheck runs them one at a time and reports each. The fused
     * gradient cases cover both models, all four activations, K = 1..3, batches that are not
     * multiples of the tile, one and two RK4 steps per frame, widths below, at and above a warp,
     * and a W2 too large for shared memory (100-50, read from global memory).
     */
    public static List<Planned> plan(Device dev, long seed, boolean large) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Planned> c = new ArrayList<>();
        c.add(planned(dev, null, new PendulumModel(), Activation.TANH, 3, 5, 6, 2, new int[]{8, 8}, rng));
        c.add(planned(dev, null, new DuffingModel(), Activation.TANH, 3, 5, 6, 1, new int[]{8, 8}, rng));
        c.add(planned(dev, null, new PendulumModel(), Activation.RELU, 2, 7, 5, 2, new int[]{6, 9}, rng));
        c.add(planned(dev, null, new DuffingModel(), Activation.ELU, 2, 67, 4, 1, new int[]{5}, rng));
        c.add(planned(dev, null, new PendulumModel(), Activation.SOFTPLUS, 1, 3, 5, 1, new int[]{4, 7, 3}, rng));
        c.add(planned(dev, null, new DuffingModel(), Activation.LEAKY_RELU, 2, 9, 4, 1, new int[]{6, 5}, rng));
        if (large) c.add(planned(dev, null, new PendulumModel(), Activation.TANH, 1, 256, 50, 2, new int[]{64, 64}, rng));
        var F = StepKernels.Rollout.FUSED;
        c.add(planned(dev, F, new PendulumModel(), Activation.TANH, 3, 37, 5, 2, new int[]{8, 8}, rng));
        c.add(planned(dev, F, new DuffingModel(), Activation.RELU, 2, 67, 4, 1, new int[]{20, 12}, rng));
        c.add(planned(dev, F, new PendulumModel(), Activation.ELU, 1, 11, 4, 1, new int[]{64, 64}, rng));
        c.add(planned(dev, F, new DuffingModel(), Activation.SOFTPLUS, 2, 37, 4, 2, new int[]{8, 8}, rng));
        c.add(planned(dev, F, new PendulumModel(), Activation.SOFTPLUS, 1, 5, 3, 1, new int[]{12, 20}, rng));
        c.add(planned(dev, F, new DuffingModel(), Activation.TANH, 3, 9, 3, 1, new int[]{8, 8}, rng));
        c.add(planned(dev, F, new PendulumModel(), Activation.RELU, 2, 16, 3, 2, new int[]{33, 7}, rng));
        c.add(planned(dev, F, new DuffingModel(), Activation.ELU, 1, 10, 3, 1, new int[]{100, 50}, rng));
        c.add(planned(dev, F, new PendulumModel(), Activation.LEAKY_RELU, 2, 13, 3, 2, new int[]{16, 9}, rng));
        if (large) {
            c.add(planned(dev, F, new PendulumModel(), Activation.TANH, 1, 256, 50, 2, new int[]{64, 64}, rng));
            c.add(planned(dev, F, new DuffingModel(), Activation.SOFTPLUS, 3, 250, 20, 2, new int[]{128, 128}, rng));
            c.add(planned(dev, F, new PendulumModel(), Activation.RELU, 8, 100, 30, 1, new int[]{128, 32}, rng));
        }
        c.addAll(ConvChecks.plan(dev, rng, large));
        c.addAll(LightChecks.plan(dev, rng, large));
        c.addAll(WindChecks.plan(dev, rng, large));
        c.addAll(NestedChecks.plan(dev, rng, large));
        c.add(Planned.one("loss tally", () -> lossTally(dev, rng)));
        c.add(Planned.one("rowsum rows=7 n=300", () -> rowSum(dev, 7, 300, rng)));
        c.add(new Planned("perturbation (sam, asam, fsam, all)", () -> perturbation(dev, rng)));
        c.add(Planned.one("l2", () -> l2(dev, rng)));
        c.add(Planned.one("clip + adam", () -> clipAdam(dev, rng)));
        c.add(Planned.one("restore", () -> restore(dev, rng)));
        return c;
    }

    /** "Pendulum tanh 2-8-8-2 K=3 B=5 T=6": a case's shape in a check's name. */
    static String shape(ScientificModel sci, Activation act, int K, int B, int frames, int[] hidden) {
        StringBuilder w = new StringBuilder("2");
        for (int h : hidden) w.append('-').append(h);
        return String.format(java.util.Locale.ROOT, "%s %s %s-2 K=%d B=%d T=%d", sci.getClass().getSimpleName().replace("Model", ""),
                act.id(), w, K, B, frames);
    }

    /** A gradient check, planned (the per-thread kernel when rollout is null). */
    private static Planned planned(Device dev, StepKernels.Rollout rollout, ScientificModel sci, Activation act, int K, int B,
                                   int frames, int spf, int[] hidden, SplittableRandom rng) {
        String name = (rollout == null ? "gradient " : "gradient fused ") + shape(sci, act, K, B, frames, hidden);
        return Planned.one(name, () -> gradient(dev, rollout == null ? StepKernels.Rollout.PER_THREAD : rollout, sci, act, K, B,
                frames, spf, hidden, rng));
    }

    /** hs_rollout + hs_rowsum + hs_theta_chain + hs_loss against CpuOdeBackend.lossAndGradient. */
    public static Check gradient(Device dev, ScientificModel sci, Activation act, int K, int B, int frames, int spf,
                                 int[] hidden, SplittableRandom rng) {
        return gradient(dev, StepKernels.Rollout.PER_THREAD, sci, act, K, B, frames, spf, hidden, rng);
    }

    /** A random hybrid, data, parameters and minibatch, with the CPU backend's loss and gradient for them. */
    private record GradientCase(OdeHybrid model, Sequences data, float[] params, int[] batch, float[] gRef, double[] lRef,
                                int K, int B, int frames, int spf) {
        static GradientCase draw(ScientificModel sci, Activation act, int K, int B, int frames, int spf, int[] hidden,
                                 SplittableRandom rng) {
            OdeHybrid m = hybrid(sci, act, spf, hidden);
            Sequences data = randomSequences(B + 3, frames, rng);
            float[] p = randomParams(m, K, rng);
            int[] batch = randomBatch(K, B, data.count(), rng);
            float[] gRef = new float[K * m.parameterCount()];
            double[] lRef = new double[K];
            try (CpuOdeBackend cpu = new CpuOdeBackend(m, 2)) {
                cpu.lossAndGradient(K, p, data, batch, B, gRef, lRef);
            }
            return new GradientCase(m, data, p, batch, gRef, lRef, K, B, frames, spf);
        }

        /** A device's gradient g and loss l against the reference, named after the case. */
        Check compare(float[] g, double[] l, String what) {
            double scale = 0;
            for (float x : gRef) scale = Math.max(scale, Math.abs(x));
            Compare c = new Compare(2e-3, 1e-4 * scale + 1e-7).add(g, gRef);
            c.add(l, lRef);
            return c.as(String.format("%s %s %s %s K=%d B=%d T=%d", what,
                    model.science().getClass().getSimpleName().replace("Model", ""),
                    model.corrector().describe().replace(' ', '/'), spf == 1 ? "h=dt" : "h=dt/" + spf, K, B, frames));
        }
    }

    /** The chosen gradient path + hs_theta_chain + hs_loss against CpuOdeBackend.lossAndGradient. */
    public static Check gradient(Device dev, StepKernels.Rollout rollout, ScientificModel sci, Activation act, int K, int B,
                                 int frames, int spf, int[] hidden, SplittableRandom rng) {
        GradientCase gc = GradientCase.draw(sci, act, K, B, frames, spf, hidden, rng);
        OdeHybrid m = gc.model();
        int P = m.parameterCount();
        Sequences data = gc.data();
        float[] p = gc.params();
        int[] batch = gc.batch();
        float[] g = new float[K * P];
        double[] l = new double[K];
        try (DeviceScope s = new DeviceScope(dev)) {
            StepKernels k = new StepKernels(s, m, K, rollout);
            DeviceBuffer dp = s.floats(p.length), dObs = s.floats(data.obs().length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(StepKernels.workspaceFloats(rollout, m, K, B, frames));
            DeviceBuffer gs = s.floats(StepKernels.gradientRowsFloats(rollout, m, K, B));
            DeviceBuffer sq = s.doubles((long) K * StepKernels.lossRows(rollout, B));
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dObs, data.obs());
            dev.upload(dBatch, batch);
            k.gradient(dp, dObs, frames, dBatch, B, ws, gs, sq, dg);
            k.rolloutLoss(sq, B, frames, dl);
            dev.download(dg, g);
            dev.download(dl, l);
        }
        return gc.compare(g, l, "gradient" + (rollout == StepKernels.Rollout.FUSED ? " fused" : ""));
    }

    /**
     * hs_loss_tally through DeviceLossTally (enqueue, on/off, drain) against LossTally.Accumulator
     * on random losses of K = 3 replicas and random batch sizes, with NaN and ±Inf at chosen steps
     * (a first one per replica, and later ones that must not move it), across three drains.
     */
    public static Check lossTally(Device dev, SplittableRandom rng) {
        int K = 3;
        // {step (1-based over the whole run), replica, value}
        double[][] inject = {{4, 1, Double.NaN}, {7, 2, Double.POSITIVE_INFINITY}, {9, 1, Double.NEGATIVE_INFINITY},
                {11, 0, Double.NaN}, {12, 2, Double.NaN}, {15, 0, Double.NEGATIVE_INFINITY}};
        int[] drainAfter = {6, 14, 15};
        Compare c = new Compare(1e-12, 1e-300);
        LossTally.Accumulator ref = new LossTally.Accumulator(K);
        try (DeviceScope s = new DeviceScope(dev)) {
            OdeHybrid m = hybrid(new DuffingModel(), Activation.TANH, 1, 3);
            DeviceLossTally tally = new DeviceLossTally(s, new StepKernels(s, m, K), K);
            DeviceBuffer loss = s.doubles(K);
            int step = 0;
            for (int drain : drainAfter) {
                for (; step < drain; step++) {
                    double[] l = new double[K];
                    for (int r = 0; r < K; r++) l[r] = 2 * rng.nextDouble();
                    for (double[] j : inject) if (j[0] == step + 1) l[(int) j[1]] = j[2];
                    int B = 1 + rng.nextInt(300);
                    dev.upload(loss, l);
                    tally.enqueue(loss, B);
                    ref.add(l, B);
                    // a step that is not tallied (as CudaTrainingEngine.step), with a NaN that must not show
                    if (step % 5 == 2) {
                        tally.setEnabled(false);
                        dev.upload(loss, new double[]{Double.NaN, 1e9, Double.NaN});
                        tally.enqueue(loss, B);
                        tally.setEnabled(true);
                    }
                }
                c.add(tally.drain(), ref.drain());
            }
            c.add(tally.drain(), ref.drain());  // an empty tally after a drain
        }
        return c.as("loss tally K=" + K + " NaN/Inf, 4 drains");
    }

    /** hs_rowsum on a row length that is not a multiple of the block. */
    public static Check rowSum(Device dev, int rows, int n, SplittableRandom rng) {
        float[] x = randomFloats(rows * n, 1, rng);
        float[] ref = new float[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += x[r * n + j];
            ref[r] = (float) s;
        }
        float[] got = new float[rows];
        try (DeviceScope s = new DeviceScope(dev)) {
            OdeHybrid m = hybrid(new PendulumModel(), Activation.TANH, 1, 3);
            StepKernels k = new StepKernels(s, m, 1);
            DeviceBuffer in = s.floats(x.length), out = s.floats(rows);
            dev.upload(in, x);
            k.rowSum(in, n, out, rows);
            dev.download(out, got);
        }
        return new Compare(1e-6, 1e-6).add(got, ref).as("rowsum rows=" + rows + " n=" + n);
    }

    /**
     * fsam direction, perturbation norm and perturb for K replicas with different rules (sam, asam,
     * fsam first and later step, perturb all or neural) against Rules.perturbation.
     */
    static List<Check> perturbation(Device dev, SplittableRandom rng) {
        List<Check> out = new ArrayList<>();
        OdeHybrid m = hybrid(new DuffingModel(), Activation.TANH, 1, 30, 40);
        int P = m.parameterCount(), nTheta = m.thetaCount();
        RuleConfig[] rules = {
                rule(Method.SAM, false, false, 0), rule(Method.ASAM, false, false, 0), rule(Method.FSAM, false, false, 0),
                rule(Method.SAM, true, false, 0), rule(Method.FSAM, true, false, 0), rule(Method.ERM, false, false, 0)};
        int K = rules.length;
        for (int step : new int[]{0, 3}) {
            float[] p = randomFloats(K * P, 0.5, rng), g = randomFloats(K * P, 0.2, rng), avg = randomFloats(K * P, 0.2, rng);
            float[] pRef = p.clone(), avgRef = avg.clone(), epsRef = new float[K * P], savedRef = new float[K * P];
            for (int r = 0; r < K; r++) {
                RuleConfig c = rules[r];
                if (!c.method().perturbs()) continue;
                int off = r * P + (c.perturbAll() ? 0 : nTheta), n = (r + 1) * P - off;
                Rules.perturbation(c, g, p, avgRef, step == 0, off, n, epsRef);
                System.arraycopy(p, off, savedRef, off, n);
                for (int i = off; i < off + n; i++) pRef[i] += epsRef[i];
            }
            float[] pGot = new float[K * P], avgGot = new float[K * P], epsGot = new float[K * P], savedGot = new float[K * P];
            try (DeviceScope s = new DeviceScope(dev)) {
                StepKernels k = new StepKernels(s, m, K);
                DeviceBuffer cfg = s.doubles((long) K * StepKernels.CFG_N), dStep = s.ints(1);
                DeviceBuffer dp = s.floats(K * P), dg = s.floats(K * P), dAvg = s.floats(K * P), dEps = s.floats(K * P);
                DeviceBuffer dSaved = s.floats(K * P), partial = s.doubles((long) K * k.normBlocks()), norm = s.doubles(K);
                dev.upload(cfg, StepKernels.ruleTable(rules, nTheta));
                dev.upload(dStep, new int[]{step});
                dev.upload(dp, p);
                dev.upload(dg, g);
                dev.upload(dAvg, avg);
                dev.upload(dEps, new float[K * P]);
                dev.upload(dSaved, new float[K * P]);
                k.fsamDirection(cfg, dStep, dg, dAvg, dEps);
                k.norm(StepKernels.NORM_PERTURB, cfg, dg, dEps, dp, partial, norm);
                k.perturb(cfg, norm, dg, dEps, dp, dSaved);
                dev.download(dp, pGot);
                dev.download(dAvg, avgGot);
                dev.download(dEps, epsGot);
                dev.download(dSaved, savedGot);
            }
            // ε of non-perturbing replicas and blocks is not defined by the reference: compare where it is
            for (int r = 0; r < K; r++) {
                RuleConfig c = rules[r];
                int from = c.method().perturbs() ? r * P + (c.perturbAll() ? 0 : nTheta) : (r + 1) * P;
                for (int i = r * P; i < from; i++) {
                    epsGot[i] = epsRef[i];
                    savedGot[i] = savedRef[i];
                }
            }
            String tag = " K=" + K + " P=" + P + (step == 0 ? " first step" : " step " + (step + 1));
            out.add(new Compare(1e-4, 1e-7).add(epsGot, epsRef).as("perturb eps (sam/asam/fsam)" + tag));
            out.add(new Compare(1e-6, 1e-7).add(pGot, pRef).add(savedGot, savedRef).add(avgGot, avgRef)
                    .as("perturb params/saved/fsam average" + tag));
        }
        return out;
    }

    static Check l2(Device dev, SplittableRandom rng) {
        OdeHybrid m = hybrid(new PendulumModel(), Activation.TANH, 1, 20, 17);
        int P = m.parameterCount(), nTheta = m.thetaCount();
        RuleConfig[] rules = {rule(Method.L2, false, false, 0), rule(Method.ERM, false, false, 0), rule(Method.L2, false, false, 0)};
        int K = rules.length;
        float[] p = randomFloats(K * P, 1, rng), g = randomFloats(K * P, 1, rng), ref = g.clone();
        for (int r = 0; r < K; r++) {
            if (rules[r].method() != Method.L2) continue;
            for (int i = r * P + nTheta; i < (r + 1) * P; i++) ref[i] += (float) rules[r].l2() * p[i];
        }
        float[] got = new float[K * P];
        try (DeviceScope s = new DeviceScope(dev)) {
            StepKernels k = new StepKernels(s, m, K);
            DeviceBuffer cfg = s.doubles((long) K * StepKernels.CFG_N), dp = s.floats(K * P), dg = s.floats(K * P);
            dev.upload(cfg, StepKernels.ruleTable(rules, nTheta));
            dev.upload(dp, p);
            dev.upload(dg, g);
            k.l2Add(cfg, dp, dg);
            dev.download(dg, got);
        }
        return new Compare(1e-6, 1e-7).add(got, ref).as("l2 add K=" + K + " P=" + P);
    }

    /** Gradient norm, clipping and Adam (θ and φ learning rates, weight decay) against Rules. */
    static Check clipAdam(Device dev, SplittableRandom rng) {
        OdeHybrid m = hybrid(new DuffingModel(), Activation.TANH, 1, 25, 19);
        int P = m.parameterCount(), nTheta = m.thetaCount();
        RuleConfig[] rules = {rule(Method.ERM, false, false, 0), rule(Method.FSAM, false, false, 0.01),
                new RuleConfig(Method.SAM, 0.05, 1, 0.9, 0.01, 0, false, false, 1e-2, 1e-3, 0, 0)};
        int K = rules.length;
        Compare c = new Compare(1e-5, 1e-7);
        for (int step : new int[]{0, 4}) {
            float[] p = randomFloats(K * P, 1, rng), g = randomFloats(K * P, 0.5, rng);
            float[] mm = randomFloats(K * P, 0.01, rng), vv = randomFloats(K * P, 0.01, rng);
            for (int i = 0; i < vv.length; i++) vv[i] = Math.abs(vv[i]);
            float[] pRef = p.clone(), gRef = g.clone(), mRef = mm.clone(), vRef = vv.clone();
            for (int r = 0; r < K; r++) {
                RuleConfig cfg = rules[r];
                int base = r * P;
                Rules.clip(gRef, base, P, cfg.clip());
                Rules.adam(pRef, gRef, mRef, vRef, base, nTheta, cfg.lrTheta(), 0, step + 1);
                Rules.adam(pRef, gRef, mRef, vRef, base + nTheta, P - nTheta, cfg.lrNn(), cfg.weightDecay(), step + 1);
            }
            float[] pGot = new float[K * P], mGot = new float[K * P], vGot = new float[K * P];
            try (DeviceScope s = new DeviceScope(dev)) {
                StepKernels k = new StepKernels(s, m, K);
                DeviceBuffer cfg = s.doubles((long) K * StepKernels.CFG_N), dStep = s.ints(1);
                DeviceBuffer dp = s.floats(K * P), dg = s.floats(K * P), dm = s.floats(K * P), dv = s.floats(K * P);
                DeviceBuffer partial = s.doubles((long) K * k.normBlocks()), norm = s.doubles(K);
                dev.upload(cfg, StepKernels.ruleTable(rules, nTheta));
                dev.upload(dStep, new int[]{step});
                dev.upload(dp, p);
                dev.upload(dg, g);
                dev.upload(dm, mm);
                dev.upload(dv, vv);
                k.norm(StepKernels.NORM_GRAD, cfg, dg, dg, dp, partial, norm);
                k.adam(cfg, norm, dStep, dp, dg, dm, dv);
                dev.download(dp, pGot);
                dev.download(dm, mGot);
                dev.download(dv, vGot);
            }
            c.add(pGot, pRef).add(mGot, mRef).add(vGot, vRef);
        }
        return c.as("clip + adam K=" + K + " P=" + P);
    }

    static Check restore(Device dev, SplittableRandom rng) {
        OdeHybrid m = hybrid(new DuffingModel(), Activation.TANH, 1, 9, 11);
        int P = m.parameterCount(), nTheta = m.thetaCount();
        RuleConfig[] rules = {rule(Method.SAM, false, false, 0), rule(Method.ASAM, true, true, 0),
                rule(Method.ERM, false, false, 0), rule(Method.FSAM, false, true, 0)};
        int K = rules.length;
        float[] p = randomFloats(K * P, 1, rng), saved = randomFloats(K * P, 1, rng);
        float[] g = randomFloats(K * P, 1, rng), g2 = randomFloats(K * P, 1, rng);
        float[] pRef = p.clone(), gRef = g.clone();
        for (int r = 0; r < K; r++) {
            RuleConfig c = rules[r];
            if (!c.method().perturbs()) continue;
            int base = r * P, off = c.perturbAll() ? base : base + nTheta, from = c.thetaGradClean() ? base + nTheta : base;
            System.arraycopy(saved, off, pRef, off, base + P - off);
            System.arraycopy(g2, from, gRef, from, base + P - from);
        }
        float[] pGot = new float[K * P], gGot = new float[K * P];
        try (DeviceScope s = new DeviceScope(dev)) {
            StepKernels k = new StepKernels(s, m, K);
            DeviceBuffer cfg = s.doubles((long) K * StepKernels.CFG_N);
            DeviceBuffer dp = s.floats(K * P), ds = s.floats(K * P), dg = s.floats(K * P), dg2 = s.floats(K * P);
            dev.upload(cfg, StepKernels.ruleTable(rules, nTheta));
            dev.upload(dp, p);
            dev.upload(ds, saved);
            dev.upload(dg, g);
            dev.upload(dg2, g2);
            k.restore(cfg, ds, dg2, dp, dg);
            dev.download(dp, pGot);
            dev.download(dg, gGot);
        }
        return new Compare(0, 1e-30).add(pGot, pRef).add(gGot, gRef).as("restore K=" + K + " P=" + P);
    }

    /**
     * The device-side loss tally of CudaTrainingEngine against CpuTrainingEngine's: advance then
     * drain, a step() in between that neither tallies, and a NaN put into one replica's
     * parameters (loaded into both engines) after the second step of a tally, so its first
     * non-finite step is 3 there and 1 in the tally after.
     */
    public static Check engineTally(Device dev, ScientificModel sci, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid m = hybrid(sci, Activation.TANH, 2, 8, 8);
        RuleConfig[] rules = {rule(Method.ERM, false, false, 0), rule(Method.SAM, false, false, 0),
                rule(Method.FSAM, false, true, 1e-2)};
        int K = rules.length, P = m.parameterCount(), B = 5, frames = 6, poisoned = 1;
        Sequences data = randomSequences(B + 4, frames, rng);
        float[] p = randomParams(m, K, rng);
        Compare c = new Compare(1e-4, 1e-8);
        boolean sawNaN = false;
        try (CpuTrainingEngine cpu = new CpuTrainingEngine(new CpuOdeBackend(m, 2), data, rules, p);
             CudaTrainingEngine gpu = new CudaTrainingEngine(dev, m, data, rules, p)) {
            for (int phase = 0; phase < 3; phase++) {
                for (int t = 0; t < 5; t++) {
                    int[] batch = randomBatch(K, B, data.count(), rng);
                    if (phase == 0 && t == 2) {
                        c.add(gpu.step(batch, B), cpu.step(batch, B));  // read back, not tallied
                        continue;
                    }
                    if (phase == 1 && t == 2) {
                        var st = cpu.state();
                        float[] q = st.params().clone();
                        q[poisoned * P + m.nnOffset()] = Float.NaN;
                        var bad = new hybridsam.train.OptimizerState(q, st.adamM(), st.adamV(), st.gradAverage(), st.step());
                        cpu.load(bad);
                        gpu.load(bad);
                    }
                    gpu.advance(batch, B);
                    cpu.advance(batch, B);
                }
                LossTally a = gpu.drainLosses(), b = cpu.drainLosses();
                if (phase == 1) sawNaN = b.firstNonFinite()[poisoned] == 3;
                c.add(a, b);
            }
        }
        c.exact(sawNaN);
        return c.as("engine loss tally " + sci.getClass().getSimpleName().replace("Model", "") + " K=" + K + " NaN at step 3");
    }

    /**
     * Per-epoch schedules on CudaTrainingEngine against CpuTrainingEngine: E = 6 epochs of 3 steps
     * (advance, then drain), four replicas on different schedules (fsam cosine / warmup, sam step /
     * cosine, erm cosine / constant, asam+all constant / warmup), the factors set at the start of
     * every epoch as the trainer sets them, and set before the previous epoch's tally is drained,
     * so the rule table's copy follows replays that may still be in flight. After every change the
     * rule table the device holds must be StepKernels.ruleTable of the scaled rules exactly, and
     * after factors of 1 again exactly the original table. The tallies and the final state must
     * agree within the engine check's tolerances, and the final parameters must lie outside those
     * tolerances from an unscheduled CPU run's (a device that ignored the factors would fail).
     */
    public static Check scheduledEngine(Device dev, ScientificModel sci, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid m = hybrid(sci, Activation.TANH, 2, 8, 8);
        RuleConfig[] rules = {rule(Method.FSAM, false, false, 1e-2), rule(Method.SAM, false, false, 0),
                rule(Method.ERM, false, false, 0), rule(Method.ASAM, true, false, 0)};
        Schedules[] schedules = {new Schedules(Schedule.COSINE, Schedule.WARMUP), new Schedules(Schedule.STEP, Schedule.COSINE),
                new Schedules(Schedule.COSINE, Schedule.CONSTANT), new Schedules(Schedule.CONSTANT, Schedule.WARMUP)};
        int K = rules.length, B = 5, frames = 5, epochs = 6, steps = 3;
        Sequences data = randomSequences(B + 4, frames, rng);
        float[] p = randomParams(m, K, rng);
        Compare lossCmp = new Compare(1e-4, 1e-9), paramCmp = new Compare(1e-3, 2e-5), unscheduled = new Compare(1e-3, 2e-5);
        try (CpuTrainingEngine cpu = new CpuTrainingEngine(new CpuOdeBackend(m, 2), data, rules, p);
             CpuTrainingEngine plain = new CpuTrainingEngine(new CpuOdeBackend(m, 2), data, rules, p);
             CudaTrainingEngine gpu = new CudaTrainingEngine(dev, m, data, rules, p)) {
            for (int e = 0; e <= epochs; e++) {
                double[] lr = new double[K], rho = new double[K];
                RuleConfig[] scaled = new RuleConfig[K];
                for (int r = 0; r < K; r++) {
                    lr[r] = e < epochs ? schedules[r].lrFactor(e, epochs) : 1.0;
                    rho[r] = e < epochs ? schedules[r].rhoFactor(e, epochs) : 1.0;
                    scaled[r] = rules[r].scaled(lr[r], rho[r]);
                }
                gpu.scheduleFactors(lr, rho);
                cpu.scheduleFactors(lr, rho);
                if (e > 0) lossCmp.add(gpu.drainLosses(), cpu.drainLosses());
                paramCmp.exact(java.util.Arrays.equals(gpu.ruleTableOnDevice(), StepKernels.ruleTable(scaled, m.thetaCount())));
                if (e == epochs) break;
                for (int t = 0; t < steps; t++) {
                    int[] batch = randomBatch(K, B, data.count(), rng);
                    gpu.advance(batch, B);
                    cpu.advance(batch, B);
                    plain.advance(batch, B);
                }
            }
            // factors of 1 again: the table the engine started with, bit for bit
            paramCmp.exact(java.util.Arrays.equals(gpu.ruleTableOnDevice(), StepKernels.ruleTable(rules, m.thetaCount())));
            var a = gpu.state();
            var b = cpu.state();
            paramCmp.add(a.params(), b.params()).add(a.gradAverage(), b.gradAverage()).add(a.adamM(), b.adamM());
            if (a.step() != b.step()) paramCmp.one(Double.POSITIVE_INFINITY, 0);
            unscheduled.add(a.params(), plain.state().params());
        }
        paramCmp.exact(unscheduled.worst > 1.0);
        return new Check("engine schedules " + sci.getClass().getSimpleName().replace("Model", "") + " K=" + K + " E=" + epochs,
                Math.max(lossCmp.worst, paramCmp.worst), lossCmp.n + paramCmp.n);
    }

    /**
     * Batch sizes alternating 5, 3, 5, 3 (an epoch's full and last batch) on CudaTrainingEngine
     * against CpuTrainingEngine: tallies and final state agree, and exactly two graphs were captured.
     */
    public static Check graphCache(Device dev, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid m = hybrid(new PendulumModel(), Activation.TANH, 2, 8, 8);
        RuleConfig[] rules = {rule(Method.FSAM, false, false, 1e-2), rule(Method.ASAM, true, false, 0)};
        int K = rules.length, frames = 6;
        Sequences data = randomSequences(9, frames, rng);
        float[] p = randomParams(m, K, rng);
        Compare c = new Compare(1e-4, 1e-8), paramCmp = new Compare(1e-3, 2e-5);
        try (CpuTrainingEngine cpu = new CpuTrainingEngine(new CpuOdeBackend(m, 2), data, rules, p);
             CudaTrainingEngine gpu = new CudaTrainingEngine(dev, m, data, rules, p)) {
            for (int B : new int[]{5, 3, 5, 3}) {
                for (int t = 0; t < 2; t++) {
                    int[] batch = randomBatch(K, B, data.count(), rng);
                    gpu.advance(batch, B);
                    cpu.advance(batch, B);
                }
                c.add(gpu.drainLosses(), cpu.drainLosses());
            }
            var a = gpu.state();
            var b = cpu.state();
            paramCmp.add(a.params(), b.params()).add(a.gradAverage(), b.gradAverage()).add(a.adamM(), b.adamM());
            c.exact(a.step() == b.step());
            c.exact(gpu.graphsCaptured() == 2);
        }
        Check l = c.as(""), q = paramCmp.as("");
        return new Check("engine graph per batch size B=5,3,5,3 (2 captures)", Math.max(l.worst(), q.worst()),
                l.values() + q.values());
    }

    /**
     * steps training steps of CudaTrainingEngine against CpuTrainingEngine: losses of every step
     * and the final parameters, Adam moments and fsam averages.
     */
    /**
     * Runs `steps` random minibatches through gpu and a CPU engine started from the same p; returns
     * the comparisons of the losses and of the final optimizer state (parameters, fsam average, Adam m).
     */
    static Check[] stepsAgainstCpu(CudaTrainingEngine gpu, OdeHybrid m, Sequences data, RuleConfig[] rules,
                                           float[] p, int B, int steps, SplittableRandom rng) {
        int K = rules.length;
        Compare lossCmp = new Compare(1e-4, 1e-9), paramCmp = new Compare(1e-3, 2e-5);
        try (CpuTrainingEngine cpu = new CpuTrainingEngine(new CpuOdeBackend(m, 2), data, rules, p)) {
            for (int t = 0; t < steps; t++) {
                int[] batch = randomBatch(K, B, data.count(), rng);
                lossCmp.add(gpu.step(batch, B), cpu.step(batch, B));
            }
            var a = gpu.state();
            var b = cpu.state();
            paramCmp.add(a.params(), b.params()).add(a.gradAverage(), b.gradAverage()).add(a.adamM(), b.adamM());
            if (a.step() != b.step()) paramCmp.one(Double.POSITIVE_INFINITY, 0);
        }
        return new Check[]{lossCmp.as(""), paramCmp.as("")};
    }

    public static Check engine(Device dev, ScientificModel sci, RuleConfig[] rules, int B, int frames, int[] hidden,
                               int steps, long seed) {
        return engine(dev, null, sci, rules, B, frames, hidden, steps, seed);
    }

    /** As {@link #engine(Device, ScientificModel, RuleConfig[], int, int, int[], int, long)} with a chosen rollout (null: the default). */
    public static Check engine(Device dev, StepKernels.Rollout rollout, ScientificModel sci, RuleConfig[] rules, int B,
                               int frames, int[] hidden, int steps, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid m = hybrid(sci, Activation.TANH, 2, hidden);
        int K = rules.length;
        Sequences data = randomSequences(B + 4, frames, rng);
        float[] p = randomParams(m, K, rng);
        Check[] worst;
        try (CudaTrainingEngine gpu = new CudaTrainingEngine(dev, m, data, rules, p,
                rollout == null ? StepKernels.defaultRollout(m) : rollout)) {
            worst = stepsAgainstCpu(gpu, m, data, rules, p, B, steps, rng);
        }
        StringBuilder name = new StringBuilder("engine ").append(sci.getClass().getSimpleName().replace("Model", ""));
        name.append(rollout == null ? "" : rollout == StepKernels.Rollout.FUSED ? " [fused]" : " [per-thread]");
        for (RuleConfig r : rules) {
            name.append(' ').append(r.method().id()).append(r.perturbAll() ? "+all" : "").append(r.thetaGradClean() ? "+clean" : "");
        }
        return new Check(name.toString(), Math.max(worst[0].worst(), worst[1].worst()), worst[0].values() + worst[1].values());
    }

    // ---- the layer-wise path (DenseOps): KernelDenseOps everywhere, cuBLAS / cuDNN on a GPU ----

    /** Makes the dense layers of the layer-wise path on a device (KernelDenseOps::new, CublasDenseOps.create). */
    @FunctionalInterface
    public interface DenseFactory {
        DenseOps open(Device dev);
    }

    /** The factory for the project's GEMM kernels. */
    public static final DenseFactory KERNEL_DENSE = KernelDenseOps::new;

    /** The layer-wise checks at test sizes: gradients of both models, several widths, K = 1..3, B off the tiles. */
    public static List<Check> layerwise(Device dev, DenseFactory dense, SplittableRandom rng, boolean large) {
        List<Check> out = new ArrayList<>();
        out.add(layerwiseGradient(dev, dense, new PendulumModel(), Activation.TANH, 3, 37, 4, 2, new int[]{8, 8}, rng));
        out.add(layerwiseGradient(dev, dense, new DuffingModel(), Activation.RELU, 2, 19, 4, 1, new int[]{20, 12}, rng));
        out.add(layerwiseGradient(dev, dense, new PendulumModel(), Activation.ELU, 1, 5, 3, 1, new int[]{20, 12}, rng));
        out.add(layerwiseGradient(dev, dense, new DuffingModel(), Activation.SOFTPLUS, 2, 17, 3, 1, new int[]{4, 7, 3}, rng));
        out.add(layerwiseGradient(dev, dense, new PendulumModel(), Activation.TANH, 1, 3, 3, 1, new int[]{5}, rng));
        if (large) {
            out.add(layerwiseGradient(dev, dense, new PendulumModel(), Activation.TANH, 1, 256, 50, 2, new int[]{64, 64}, rng));
            out.add(layerwiseGradient(dev, dense, new DuffingModel(), Activation.SOFTPLUS, 8, 100, 30, 1, new int[]{128, 32}, rng));
        }
        return out;
    }

    /** LayerwiseGradient + hs_loss against CpuOdeBackend.lossAndGradient (the tolerance of the rollout kernels' checks). */
    public static Check layerwiseGradient(Device dev, DenseFactory dense, ScientificModel sci, Activation act, int K, int B,
                                          int frames, int spf, int[] hidden, SplittableRandom rng) {
        GradientCase gc = GradientCase.draw(sci, act, K, B, frames, spf, hidden, rng);
        OdeHybrid m = gc.model();
        int P = m.parameterCount();
        Sequences data = gc.data();
        float[] p = gc.params();
        int[] batch = gc.batch();
        float[] g = new float[K * P];
        double[] l = new double[K];
        String what;
        try (DeviceScope s = new DeviceScope(dev)) {
            DenseOps ops = s.own(dense.open(dev));
            what = ops.describe();
            LayerwiseGradient lw = new LayerwiseGradient(s, m, K, ops);
            StepKernels k = new StepKernels(s, m, K, StepKernels.Rollout.PER_THREAD);
            DeviceBuffer dp = s.floats(p.length), dObs = s.floats(data.obs().length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(LayerwiseGradient.workspaceFloats(m, K, B, frames));
            DeviceBuffer sq = s.doubles((long) K * B), dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dObs, data.obs());
            dev.upload(dBatch, batch);
            dev.upload(dg, randomFloats(K * P, 1, rng));  // overwritten, not accumulated into
            lw.gradient(dp, dObs, frames, dBatch, B, ws, sq, dg);
            k.loss(sq, B, StepKernels.lossWeight(m, B, frames), dl);
            dev.download(dg, g);
            dev.download(dl, l);
        }
        return gc.compare(g, l, "gradient layer-wise [" + what + "]");
    }

    /** hs_gemm (KernelDenseOps.gemm) against a Java loop, every transpose combination, sizes off the tile, K strided matrices. */
    public static Check gemm(Device dev, int K, int M, int N, int kd, SplittableRandom rng) {
        Compare c = new Compare(1e-5, 1e-6);
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            int lda = (ta ? M : kd) + 1, ldb = (tb ? kd : N) + 2, ldc = N + 3;
            long sa = (long) (ta ? kd : M) * lda + 5, sb = (long) (tb ? N : kd) * ldb + 1, sc = (long) M * ldc + 7;
            long oa = 3, ob = 1, oc = 2;
            float[] a = randomFloats((int) (oa + K * sa), 1, rng), b = randomFloats((int) (ob + K * sb), 1, rng);
            float[] cIn = randomFloats((int) (oc + K * sc), 1, rng);
            float alpha = 0.75f, beta = t == 3 ? 0f : 1.5f;
            float[] ref = cIn.clone();
            for (int z = 0; z < K; z++) {
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < N; j++) {
                        float acc = 0f;
                        for (int k = 0; k < kd; k++) {
                            float av = ta ? a[(int) (oa + z * sa + (long) k * lda + i)] : a[(int) (oa + z * sa + (long) i * lda + k)];
                            float bv = tb ? b[(int) (ob + z * sb + (long) j * ldb + k)] : b[(int) (ob + z * sb + (long) k * ldb + j)];
                            acc += av * bv;
                        }
                        int at = (int) (oc + z * sc + (long) i * ldc + j);
                        ref[at] = beta == 0f ? alpha * acc : alpha * acc + beta * cIn[at];
                    }
                }
            }
            float[] got = new float[cIn.length];
            try (DeviceScope s = new DeviceScope(dev)) {
                DeviceBuffer da = s.floats(a.length), db = s.floats(b.length), dc = s.floats(cIn.length);
                dev.upload(da, a);
                dev.upload(db, b);
                dev.upload(dc, cIn);
                new KernelDenseOps(dev).gemm(K, ta, tb, M, N, kd, alpha, new DenseOps.Strided(da, oa, sa), lda,
                        new DenseOps.Strided(db, ob, sb), ldb, beta, new DenseOps.Strided(dc, oc, sc), ldc);
                dev.download(dc, got);
            }
            c.add(got, ref);  // includes the padding between matrices, which must be left alone
        }
        return c.as("gemm K=" + K + " " + M + "x" + N + "x" + kd + " (all transposes, beta 0 and 1.5)");
    }

    /**
     * The dense layer of a DenseOps (forward, backward data, backward weights accumulating into
     * existing values, bias sums) against a Java loop, for K strided replicas.
     */
    public static Check denseLayer(Device dev, DenseFactory dense, int K, int out, int in, int n, SplittableRandom rng) {
        // weights P-strided with a gap (as in the parameters), activations packed (as the layer-wise path lays them out)
        long sw = (long) out * in + out + 3, sx = (long) in * n, sy = (long) out * n;
        float[] w = randomFloats((int) (K * sw), 1, rng), bias = randomFloats((int) (K * sw), 1, rng);
        float[] x = randomFloats((int) (K * sx), 1, rng), dy = randomFloats((int) (K * sy), 1, rng);
        float[] dw0 = randomFloats((int) (K * sw), 1, rng), db0 = randomFloats((int) (K * sw), 1, rng);
        float[] yRef = new float[(int) (K * sy)], dxRef = new float[(int) (K * sx)], dwRef = dw0.clone(), dbRef = db0.clone();
        for (int z = 0; z < K; z++) {
            for (int o = 0; o < out; o++) {
                double bs = 0;
                for (int j = 0; j < n; j++) {
                    double a = bias[(int) (z * sw + o)];
                    for (int i = 0; i < in; i++) a += (double) w[(int) (z * sw + o * in + i)] * x[(int) (z * sx + (long) i * n + j)];
                    yRef[(int) (z * sy + (long) o * n + j)] = (float) a;
                    bs += dy[(int) (z * sy + (long) o * n + j)];
                }
                dbRef[(int) (z * sw + o)] += (float) bs;
                for (int i = 0; i < in; i++) {
                    double a = 0;
                    for (int j = 0; j < n; j++) a += (double) dy[(int) (z * sy + (long) o * n + j)] * x[(int) (z * sx + (long) i * n + j)];
                    dwRef[(int) (z * sw + o * in + i)] += (float) a;
                }
            }
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < n; j++) {
                    double a = 0;
                    for (int o = 0; o < out; o++) a += (double) w[(int) (z * sw + o * in + i)] * dy[(int) (z * sy + (long) o * n + j)];
                    dxRef[(int) (z * sx + (long) i * n + j)] = (float) a;
                }
            }
        }
        float[] y = new float[yRef.length], dx = new float[dxRef.length], dwGot = new float[dw0.length], dbGot = new float[db0.length];
        String what;
        try (DeviceScope s = new DeviceScope(dev)) {
            DenseOps ops = s.own(dense.open(dev));
            what = ops.describe();
            DeviceBuffer dW = s.floats(w.length), dB = s.floats(bias.length), dX = s.floats(x.length), dY = s.floats(dy.length);
            DeviceBuffer dYout = s.floats(yRef.length), dDX = s.floats(dxRef.length), dDW = s.floats(dw0.length), dDB = s.floats(db0.length);
            dev.upload(dW, w);
            dev.upload(dB, bias);
            dev.upload(dX, x);
            dev.upload(dY, dy);
            dev.upload(dYout, new float[yRef.length]);
            dev.upload(dDX, new float[dxRef.length]);
            dev.upload(dDW, dw0);
            dev.upload(dDB, db0);
            ops.forward(K, out, in, n, new DenseOps.Strided(dW, 0, sw), new DenseOps.Strided(dB, 0, sw),
                    new DenseOps.Strided(dX, 0, sx), new DenseOps.Strided(dYout, 0, sy));
            ops.backwardData(K, out, in, n, new DenseOps.Strided(dW, 0, sw), new DenseOps.Strided(dY, 0, sy),
                    new DenseOps.Strided(dDX, 0, sx));
            ops.backwardWeights(K, out, in, n, new DenseOps.Strided(dY, 0, sy), new DenseOps.Strided(dX, 0, sx),
                    new DenseOps.Strided(dDW, 0, sw), new DenseOps.Strided(dDB, 0, sw));
            dev.download(dYout, y);
            dev.download(dDX, dx);
            dev.download(dDW, dwGot);
            dev.download(dDB, dbGot);
        }
        Compare c = new Compare(1e-4, 1e-5).add(y, yRef).add(dx, dxRef).add(dwGot, dwRef).add(dbGot, dbRef);
        return c.as("dense layer [" + what + "] K=" + K + " " + out + "x" + in + " n=" + n);
    }

    /**
     * steps training steps of CudaTrainingEngine on the layer-wise path (dense layers from the
     * factory) against CpuTrainingEngine: losses of every step and the final state.
     */
    public static Check layerwiseEngine(Device dev, DenseFactory dense, ScientificModel sci, RuleConfig[] rules, int B,
                                        int frames, int[] hidden, int steps, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid m = hybrid(sci, Activation.TANH, 2, hidden);
        int K = rules.length;
        Sequences data = randomSequences(B + 4, frames, rng);
        float[] p = randomParams(m, K, rng);
        String what;
        Check[] worst;
        try (CudaTrainingEngine gpu = new CudaTrainingEngine(dev, m, data, rules, p, dense.open(dev))) {
            what = gpu.describe();
            worst = stepsAgainstCpu(gpu, m, data, rules, p, B, steps, rng);
        }
        StringBuilder name = new StringBuilder("engine layer-wise ").append(sci.getClass().getSimpleName().replace("Model", ""));
        for (RuleConfig r : rules) name.append(' ').append(r.method().id());
        name.append(" B=").append(B).append(" [").append(what.replaceAll("^.*corrector on ", "").replace(")", "")).append(']');
        return new Check(name.toString(), Math.max(worst[0].worst(), worst[1].worst()), worst[0].values() + worst[1].values());
    }

    /**
     * The layer-wise gradient (dense layers from the factory) against the project's own rollout
     * kernel (the default one, fused where it applies) on the same inputs: gradients and losses.
     */
    public static Check layerwiseVsKernels(Device dev, DenseFactory dense, ScientificModel sci, Activation act, int K, int B,
                                           int frames, int spf, int[] hidden, SplittableRandom rng) {
        OdeHybrid m = hybrid(sci, act, spf, hidden);
        int P = m.parameterCount();
        StepKernels.Rollout ro = StepKernels.defaultRollout(m);
        Sequences data = randomSequences(B + 3, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = randomBatch(K, B, data.count(), rng);
        float[] gk = new float[K * P], gl = new float[K * P];
        double[] lk = new double[K], ll = new double[K];
        String what;
        try (DeviceScope s = new DeviceScope(dev)) {
            DenseOps ops = s.own(dense.open(dev));
            what = ops.describe();
            LayerwiseGradient lw = new LayerwiseGradient(s, m, K, ops);
            StepKernels k = new StepKernels(s, m, K, ro);
            DeviceBuffer dp = s.floats(p.length), dObs = s.floats(data.obs().length), dBatch = s.ints(batch.length);
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dObs, data.obs());
            dev.upload(dBatch, batch);
            try (DeviceScope w = new DeviceScope(dev)) {
                DeviceBuffer ws = w.floats(StepKernels.workspaceFloats(ro, m, K, B, frames));
                DeviceBuffer gs = w.floats(StepKernels.gradientRowsFloats(ro, m, K, B));
                DeviceBuffer sq = w.doubles((long) K * StepKernels.lossRows(ro, B));
                k.gradient(dp, dObs, frames, dBatch, B, ws, gs, sq, dg);
                k.rolloutLoss(sq, B, frames, dl);
                dev.download(dg, gk);
                dev.download(dl, lk);
            }
            try (DeviceScope w = new DeviceScope(dev)) {
                DeviceBuffer ws = w.floats(LayerwiseGradient.workspaceFloats(m, K, B, frames)), sq = w.doubles((long) K * B);
                lw.gradient(dp, dObs, frames, dBatch, B, ws, sq, dg);
                k.loss(sq, B, StepKernels.lossWeight(m, B, frames), dl);
                dev.download(dg, gl);
                dev.download(dl, ll);
            }
        }
        double scale = 0;
        for (float x : gk) scale = Math.max(scale, Math.abs(x));
        Compare c = new Compare(2e-3, 1e-4 * scale + 1e-7).add(gl, gk);
        c.add(ll, lk);
        return c.as(String.format("layer-wise [%s] vs %s kernel %s %s K=%d B=%d T=%d", what,
                ro == StepKernels.Rollout.FUSED ? "fused" : "per-thread", sci.getClass().getSimpleName().replace("Model", ""),
                m.corrector().describe().replace(' ', '/'), K, B, frames));
    }

    /** hs_batch_copy (pack, and accumulate back) on strided blocks against a Java loop. */
    public static Check batchCopy(Device dev, int K, int len, SplittableRandom rng) {
        long ss = len + 5, sd = len + 2;
        float[] src = randomFloats((int) (3 + K * ss), 1, rng), dst0 = randomFloats((int) (1 + K * sd), 1, rng);
        float[] copyRef = dst0.clone(), addRef = dst0.clone();
        for (int z = 0; z < K; z++) {
            for (int i = 0; i < len; i++) {
                copyRef[(int) (1 + z * sd + i)] = src[(int) (3 + z * ss + i)];
                addRef[(int) (1 + z * sd + i)] = dst0[(int) (1 + z * sd + i)] + src[(int) (3 + z * ss + i)];
            }
        }
        float[] copied = new float[dst0.length], added = new float[dst0.length];
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer ds = s.floats(src.length), dd = s.floats(dst0.length);
            dev.upload(ds, src);
            for (boolean acc : new boolean[]{false, true}) {
                dev.upload(dd, dst0);
                KernelDenseOps.batchCopy(dev, K, len, new DenseOps.Strided(ds, 3, ss), new DenseOps.Strided(dd, 1, sd), acc);
                dev.download(dd, acc ? added : copied);
            }
        }
        return new Compare(0, 1e-30).add(copied, copyRef).add(added, addRef).as("batch copy K=" + K + " len=" + len);
    }
}
