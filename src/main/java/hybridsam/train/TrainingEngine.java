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
