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

    /** The experiment's sizes (pendulum and duffing alike): 400 / 100 / 200 sequences of 50 frames every 0.2, noise 0.01. */
    public static OdeDataSettings full() {
        return new OdeDataSettings(400, 100, 200, 50, 0.2, 0.01);
    }

    /** Sizes for tests and CI: 64 / 32 / 32 sequences of 25 frames. */
    public static OdeDataSettings small() {
        return new OdeDataSettings(64, 32, 32, 25, 0.2, 0.01);
    }

    /** The settings of a named preset ("full" or "small"). */
    public static OdeDataSettings preset(String name) {
        return switch (name) {
            case "full" -> full();
            case "small" -> small();
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected full or small)");
        };
    }
}
