package hybridsam;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.io.ConfigException;
import hybridsam.model.Corrector;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.train.Method;
import hybridsam.train.Progress;
import hybridsam.train.RuleConfig;
import hybridsam.train.Schedule;
import hybridsam.train.Schedules;
import hybridsam.train.Trainer;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Training a hybrid model of one's own on the CPU, from Java: a {@link ScientificModel} (the
 * field and its vector-Jacobian product over a chunk of samples), a corrector shape, data as
 * {@link Sequences}, and the rule. Nothing else is needed: no kernels, no registration. The
 * command line's defaults apply where a setting is not given (fsam, ρ 0.05, Adam with 1e-2 for
 * θ and 1e-3 for the network, gradient-norm clip 5, constant learning rates and ρ, 160 epochs,
 * batch 64).
 *
 * <pre>{@code
 * HybridTraining.Result r = new HybridTraining(new MyModel(), mlp)
 *         .rk4(0.05, 2).epochs(50).train(train, valid, test);
 * double[] theta = r.theta();
 * }</pre>
 */
public final class HybridTraining {
    private final ScientificModel science;
    private final Corrector corrector;
    private double h = 0.1;
    private int stepsPerFrame = 1;
    private Method method = Method.FSAM;
    private double rho = 0.05, lrTheta = 1e-2, lrNn = 1e-3, clip = 5, l2 = 1e-3;
    private int epochs = 160, batch = 64, threads = Runtime.getRuntime().availableProcessors();
    private long seed;
    private double[] thetaStar, thetaInit;
    private Path checkpoints;
    private Schedules schedules = Schedules.CONSTANT;

    public HybridTraining(ScientificModel science, Corrector corrector) {
        this.science = science;
        this.corrector = corrector;
    }

    /** RK4 step h, and RK4 steps between two observed frames (the frames are h · stepsPerFrame apart). */
    public HybridTraining rk4(double h, int stepsPerFrame) {
        this.h = h;
        this.stepsPerFrame = stepsPerFrame;
        return this;
    }

    /** The rule and its radius ρ (ignored by erm and l2). */
    public HybridTraining rule(Method method, double rho) {
        this.method = method;
        this.rho = rho;
        return this;
    }

    public HybridTraining learningRates(double theta, double network) {
        this.lrTheta = theta;
        this.lrNn = network;
        return this;
    }

    /**
     * A factor per epoch on both learning rates (θ's and the network's): {@link Schedule#CONSTANT}
     * (default), {@link Schedule#COSINE} or {@link Schedule#STEP}, as the command line's --lr-schedule.
     */
    public HybridTraining lrSchedule(Schedule schedule) {
        this.schedules = new Schedules(schedule, schedules.rho());
        return this;
    }

    /**
     * A factor per epoch on ρ: {@link Schedule#CONSTANT} (default), {@link Schedule#WARMUP} or
     * {@link Schedule#COSINE}, as the command line's --rho-schedule (no effect on erm and l2).
     */
    public HybridTraining rhoSchedule(Schedule schedule) {
        this.schedules = new Schedules(schedules.lr(), schedule);
        return this;
    }

    public HybridTraining epochs(int epochs) {
        this.epochs = epochs;
        return this;
    }

    public HybridTraining batch(int batch) {
        this.batch = batch;
        return this;
    }

    public HybridTraining threads(int threads) {
        this.threads = threads;
        return this;
    }

    public HybridTraining seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** The true θ where known: the results then carry θ error. */
    public HybridTraining thetaStar(double... thetaStar) {
        this.thetaStar = thetaStar.clone();
        return this;
    }

    /** θ to start from (default: the middle of its box). */
    public HybridTraining thetaInit(double... thetaInit) {
        this.thetaInit = thetaInit.clone();
        return this;
    }

    /** Write a checkpoint there after every epoch (default: none). */
    public HybridTraining checkpoints(Path dir) {
        this.checkpoints = dir;
        return this;
    }

    /** θ̂ at the best validation epoch, the test errors, and the whole record per epoch. */
    public record Result(double[] theta, double testMse, double scienceOnlyTestMse, double networkShare,
                         Map<String, Object> record) {
    }

    /** Trains one replica and evaluates the parameters of its best validation epoch on test. */
    public Result train(Sequences train, Sequences valid, Sequences test) {
        OdeHybrid model = new OdeHybrid(science, corrector, h, stepsPerFrame);
        for (Sequences s : List.of(train, valid, test)) {
            if (s.dim() != model.stateDim()) {
                throw new ConfigException("sequences hold states of " + s.dim() + " values, the model's state has " + model.stateDim());
            }
        }
        RuleConfig rule = new RuleConfig(method, method.perturbs() ? rho : 0, RuleConfig.DEFAULT_SIGMA,
                RuleConfig.DEFAULT_LAMBDA, RuleConfig.DEFAULT_ETA, l2, false, false,
                lrTheta, lrNn, clip, 0.0);
        float[] start = new float[model.parameterCount()];
        if (thetaInit != null) {
            if (thetaInit.length != model.thetaCount()) throw new ConfigException("thetaInit needs " + model.thetaCount() + " values");
            for (int i = 0; i < thetaInit.length; i++) start[i] = (float) science.theta().toUnconstrained(i, thetaInit[i]);
        }
        corrector.initialize(start, model.nnOffset(), new SplittableRandom(seed));
        Trainer.Plan plan = new Trainer.Plan(train, valid, test, science.theta(), thetaStar, null, epochs,
                Math.min(batch, train.count()), 0, new long[]{seed}, false, new Schedules[]{schedules});
        try (CpuTrainingEngine engine = new CpuTrainingEngine(new CpuOdeBackend(model, threads), train,
                new RuleConfig[]{rule}, start)) {
            Map<String, Object> r = new Trainer(engine, plan, checkpoints, Progress.NONE).run(null).get(0);
            @SuppressWarnings("unchecked") Map<String, Object> fin = (Map<String, Object>) r.get("final");
            return new Result((double[]) fin.get("theta"), (double) fin.get("test_mse"),
                    (double) fin.get("test_mse_science_only"), (double) fin.get("network_share"), r);
        }
    }
}
