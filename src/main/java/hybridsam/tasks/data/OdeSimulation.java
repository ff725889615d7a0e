package hybridsam.tasks.data;

/**
 * The outcome of one seeded simulation: the exact (integrated) states and the noisy observations
 * of them, both in double precision. The saved data set holds the observations rounded to float32;
 * the clean states are kept here for checks and for the simplest-network value.
 */
public record OdeSimulation(OdeTrajectories clean, OdeTrajectories observed) {
}
