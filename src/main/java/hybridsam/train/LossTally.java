package hybridsam.train;

import java.util.Arrays;

/**
 * What the losses of the steps since the last report add up to, per replica: Σ (clean loss ×
 * batch size), and the first of those steps (1-based) whose loss was not finite, 0 when none.
 * Reading a tally is the only time a GPU engine copies anything back during training.
 */
public record LossTally(double[] sums, int[] firstNonFinite, int steps) {

    /** Host-side accumulation, for engines whose losses are on the host anyway. */
    public static final class Accumulator {
        private final double[] sums;
        private final int[] bad;
        private int steps;

        public Accumulator(int replicas) {
            sums = new double[replicas];
            bad = new int[replicas];
        }

        public void add(double[] losses, int batchSize) {
            steps++;
            for (int r = 0; r < sums.length; r++) {
                sums[r] += losses[r] * batchSize;
                if (bad[r] == 0 && !Double.isFinite(losses[r])) bad[r] = steps;
            }
        }

        public LossTally drain() {
            LossTally t = new LossTally(sums.clone(), bad.clone(), steps);
            Arrays.fill(sums, 0);
            Arrays.fill(bad, 0);
            steps = 0;
            return t;
        }
    }
}
