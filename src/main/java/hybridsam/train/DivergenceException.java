package hybridsam.train;

/**
 * The loss became NaN or infinite (at a training step, or in the validation after an epoch: step
 * 0); the run stops and its last good checkpoint stays.
 */
public class DivergenceException extends RuntimeException {
    public final int epoch, step;

    public DivergenceException(int epoch, int step, int replica, double loss) {
        super((step > 0 ? "training diverged at epoch " + epoch + ", step " + step + ": loss is "
                : "training diverged in epoch " + epoch + ": the validation error after it is ") + loss
                + (replica > 0 ? " (replica " + replica + ")" : ""));
        this.epoch = epoch;
        this.step = step;
    }
}
