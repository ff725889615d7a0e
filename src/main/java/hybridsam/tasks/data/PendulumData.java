package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import org.apache.commons.math3.ode.FirstOrderDifferentialEquations;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Data of the {@code pendulum} task: a damped pendulum q' = p, p' = -omega0^2 sin q - alpha p,
 * observed as (q, p) with Gaussian noise. The scientific model lacks the damping:
 * f_sci = (p, -theta sin q), theta* = omega0^2. Initial states follow APHYNITY's rule (Yin et al. 2021).
 */
public final class PendulumData {

    public static final String TASK = "pendulum";
    /** Natural frequency: a period of 6 time units for small swings. */
    public static final double OMEGA0 = 2 * Math.PI / 6;
    /** Damping rate, the part the network has to supply. */
    public static final double ALPHA = 0.2;
    /** True parameter of the scientific model. Do not modify: it is a shared constant. */
    public static final double[] THETA_STAR = {OMEGA0 * OMEGA0};
    /** Initial states lie at a radius drawn uniformly from [RADIUS_MIN, RADIUS_MAX) in the (q, p) plane. */
    public static final double RADIUS_MIN = 1.3;
    public static final double RADIUS_MAX = 2.3;

    static final String INITIAL_STATE_RULE = "(q0, p0) uniform in [-1, 1]^2, rescaled to unit length, then"
            + " multiplied by a radius uniform in [1.3, 2.3); draws in the order q0, p0, radius";

    private PendulumData() {
    }

    /** The true vector field, state (q, p). */
    public static FirstOrderDifferentialEquations truth() {
        return new FirstOrderDifferentialEquations() {
            @Override
            public int getDimension() {
                return 2;
            }

            @Override
            public void computeDerivatives(double t, double[] y, double[] yDot) {
                yDot[0] = y[1];
                // StrictMath: bit-identical results on every JVM (see OdeDataGenerator).
                yDot[1] = -OMEGA0 * OMEGA0 * StrictMath.sin(y[0]) - ALPHA * y[1];
            }
        };
    }

    /** One initial state by APHYNITY's rule. */
    public static double[] drawInitialState(SplittableRandom rng) {
        double q;
        double p;
        double norm;
        do { // a zero vector has no direction; redraw (probability zero, but keep it well defined)
            q = rng.nextDouble(-1.0, 1.0);
            p = rng.nextDouble(-1.0, 1.0);
            norm = StrictMath.sqrt(q * q + p * p);
        } while (norm == 0.0);
        double radius = rng.nextDouble(RADIUS_MIN, RADIUS_MAX);
        return new double[] {q / norm * radius, p / norm * radius};
    }

    /** Clean and noisy trajectories of all splits, in double precision. */
    public static OdeSimulation simulate(OdeDataSettings s, long seed) {
        return OdeDataGenerator.simulate(truth(), PendulumData::drawInitialState, s, seed);
    }

    /** Generates the data set: float32 arrays train_obs / valid_obs / test_obs [N, frames, 2] and the manifest. */
    public static Dataset generate(String preset, OdeDataSettings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        OdeSimulation sim = simulate(s, seed);
        return OdeDataGenerator.toDataset(description(), preset, s, seed, sim, thetaMinNorm(sim.clean().train()));
    }

    static OdeDataGenerator.TaskDescription description() {
        Map<String, Object> truth = new LinkedHashMap<>();
        truth.put("equations", "q' = p, p' = -omega0^2 sin q - alpha p");
        truth.put("omega0", OMEGA0);
        truth.put("omega0_sq", OMEGA0 * OMEGA0);
        truth.put("alpha", ALPHA);
        return new OdeDataGenerator.TaskDescription(TASK, truth, INITIAL_STATE_RULE,
                List.of("q", "p"), List.of("omega0_sq"), THETA_STAR.clone());
    }

    /**
     * The simplest-network value: the theta that leaves the network least to do over the given
     * states. The first components of the true and scientific fields agree, so only p' matters:
     * minimise sum (-omega0^2 sin q - alpha p + theta sin q)^2, which gives
     * theta = sum (omega0^2 sin q + alpha p) sin q / sum sin^2 q.
     *
     * @param cleanStates states indexed [sequence][frame][(q, p)]
     * @return {theta_mn}
     */
    public static double[] thetaMinNorm(double[][][] cleanStates) {
        double num = 0;
        double den = 0;
        for (double[][] sequence : cleanStates) {
            for (double[] state : sequence) {
                double s = StrictMath.sin(state[0]);
                num += (OMEGA0 * OMEGA0 * s + ALPHA * state[1]) * s;
                den += s * s;
            }
        }
        if (!(den > 0)) {
            throw new IllegalArgumentException("theta_mn is undefined: sin q is zero on every state");
        }
        return new double[] {num / den};
    }
}
