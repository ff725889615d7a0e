package hybridsam.tasks.data;

/**
 * Sizes and observation settings of a generated ODE time-series data set.
 *
 * @param nTrain  number of training sequences
 * @param nValid  number of validation sequences
 * @param nTest   number of test sequences
 * @param frames  observed frames per sequence, at t = k * frameDt for k = 0 .. frames-1
 * @param frameDt time between observed frames
 * @param noise   standard deviation of the Gaussian noise added to every observed value
 */
public record OdeDataSettings(int nTrain, int nValid, int nTest, int frames, double frameDt, double noise) {

    public OdeDataSettings {
        requirePositive("nTrain", nTrain);
        requirePositive("nValid", nValid);
        requirePositive("nTest", nTest);
        // One frame is only an initial state: a model needs at least one step to fit.
        if (frames < 2) {
            throw new IllegalArgumentException("frames must be at least 2, got " + frames);
        }
        if (!(frameDt > 0) || !Double.isFinite(frameDt)) {
            throw new IllegalArgumentException("frameDt must be positive and finite, got " + frameDt);
        }
        if (!(noise >= 0) || !Double.isFinite(noise)) {
            throw new IllegalArgumentException("noise must be non-negative and finite, got " + noise);
        }
    }

    private static void requirePositive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }

    /** Total number of sequences over the three splits. */
    public int total() {
        return Math.addExact(Math.addExact(nTrain, nValid), nTest);
    }
}
