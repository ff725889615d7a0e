package hybridsam.train;

/** Where the trainer reports as it goes; the command line draws a progress line from it. */
public interface Progress {
    /** After each training step: epoch (1-based), step within the epoch, steps per epoch, replica 0's loss. */
    default void step(int epoch, int step, int stepsPerEpoch, double loss) {
    }

    /**
     * After each epoch, with replica 0's figures; thetaError and thetaCosine are NaN where they
     * do not apply (no θ* known; θ identifiable up to scale only).
     */
    default void epoch(int epoch, int epochs, double trainLoss, double validMse, double[] theta, double thetaError,
                       double thetaCosine) {
    }

    Progress NONE = new Progress() {
    };
}
