package hybridsam.tasks.data;

/**
 * State trajectories of the three splits, each indexed [sequence][frame][state component].
 * The arrays are shared, not copied: callers must treat them as read-only.
 */
public record OdeTrajectories(double[][][] train, double[][][] valid, double[][][] test) {
}
