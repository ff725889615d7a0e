package hybridsam.train;

import hybridsam.model.Split;

/**
 * What the trainer needs from a backend: one training step of the configured rule for K
 * replicas, the optimizer state in and out (for checkpoints), and evaluation of a split.
 */
public interface TrainingEngine extends AutoCloseable {

    /** Backend and device, for the results file. */
    String describe();

    int replicas();

    /**
     * One step of the rule on minibatch batch[r*B .. r*B+B) for each replica r; returns each
     * replica's loss at the clean weights (step 1 of method.md's sequence).
     */
    double[] step(int[] batch, int batchSize);

    /**
     * One step like {@link #step}, without waiting for or reading back its loss: the loss goes
     * into the tally that {@link #drainLosses} reads.
     */
    void advance(int[] batch, int batchSize);

    /** The losses of the steps advanced since the last call; starts a new tally. */
    LossTally drainLosses();

    /**
     * The schedules' factors for the epoch about to run, one per replica: both Adam learning rates
     * are multiplied by lrFactor[r] and ρ by rhoFactor[r] (relative to the rules the engine was
     * made with, not compounding) until the next call. A factor of exactly 1 leaves the value
     * untouched. The trainer calls it at the start of every epoch. This default accepts only
     * factors of 1 (an engine without schedules); the engines of this project override it.
     */
    default void scheduleFactors(double[] lrFactor, double[] rhoFactor) {
        checkFactors(replicas(), lrFactor, rhoFactor);
        for (int r = 0; r < lrFactor.length; r++) {
            if (lrFactor[r] != 1.0 || rhoFactor[r] != 1.0) {
                throw new UnsupportedOperationException(describe() + " does not take learning-rate or rho schedules");
            }
        }
    }

    /** Refuses factors that are not one per replica, or not a finite lr factor > 0 and a finite rho factor >= 0. */
    static void checkFactors(int replicas, double[] lrFactor, double[] rhoFactor) {
        if (lrFactor.length != replicas || rhoFactor.length != replicas) {
            throw new IllegalArgumentException("expected " + replicas + " schedule factors, got " + lrFactor.length + " and "
                    + rhoFactor.length);
        }
        for (int r = 0; r < replicas; r++) {
            if (!(lrFactor[r] > 0) || !Double.isFinite(lrFactor[r]) || !(rhoFactor[r] >= 0) || !Double.isFinite(rhoFactor[r])) {
                throw new IllegalArgumentException("replica " + r + ": schedule factors must be finite, lr > 0 and rho >= 0 (got "
                        + lrFactor[r] + ", " + rhoFactor[r] + ")");
            }
        }
    }

    OptimizerState state();

    /** The K replicas' parameters (a copy): all an epoch's validation needs of the state. */
    default float[] params() {
        return state().params();
    }

    void load(OptimizerState state);

    /** Test metrics of method.md §3 for one replica's parameters. */
    Metrics evaluate(float[] params, int replica, Split split);

    /** Mean squared prediction error of one replica's parameters on a split. */
    double mse(float[] params, int replica, Split split);

    @Override
    void close();

    /** Prediction error of the hybrid and of the scientific part alone, and the network's share. */
    record Metrics(double mse, double scienceOnlyMse, double networkShare) {
    }
}
