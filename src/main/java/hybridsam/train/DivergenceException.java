package hybridsam.train;

/** The loss became NaN or infinite; the run stops and its last good checkpoint stays. */
public class DivergenceException extends RuntimeException {
    public final int epoch, step;

    public DivergenceException(int epoch, int step, int replica, double loss) {
        super("training diverged at epoch " + epoch + ", step " + step
                + (replica > 0 ? " (replica " + replica + ")" : "") + ": loss is " + loss);
        this.epoch = epoch;
        this.step = step;
    }
}
