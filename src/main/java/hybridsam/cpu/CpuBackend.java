package hybridsam.cpu;

import hybridsam.model.Hybrid;
import hybridsam.model.Split;
import hybridsam.train.Gradients;
import hybridsam.train.TrainingEngine;

/**
 * Loss, gradient and metrics of one kind of hybrid on the CPU, for K replicas at once: what
 * {@link CpuTrainingEngine} drives and `evaluate` reads. Implementations cut a minibatch into
 * chunks that do not depend on the thread count and add the chunks' sums in chunk order, so
 * results are bit for bit the same with any number of threads.
 */
public interface CpuBackend extends Gradients, AutoCloseable {

    Hybrid model();

    int threads();

    /** Mean squared prediction error over a whole split; useNet false: the scientific part alone. */
    double meanSquaredError(float[] params, int pOff, Split data, boolean useNet);

    /** The test metrics of method.md §3 on a whole split. */
    TrainingEngine.Metrics evaluate(float[] params, int pOff, Split data);

    @Override
    void close();
}
