package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import org.apache.commons.math3.ode.FirstOrderDifferentialEquations;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Data of the {@code duffing} task: a Duffing oscillator with damping,
 * x' = v, v' = -alpha x - beta x^3 - delta v, observed as (x, v) with Gaussian noise.
 * The scientific model is the undamped oscillator f_sci = (v, -alpha x - beta x^3), theta = (alpha, beta).
 */
public final class DuffingData {

    public static final String TASK = "duffing";
    public static final double ALPHA = 1.0;
    /** Positive: a hardening spring. */
    public static final double BETA = 1.0;
    /** Damping, absent from the scientific model. */
    public static final double DELTA = 0.2;
    /** True (alpha, beta). Do not modify: it is a shared constant. */
    public static final double[] THETA_STAR = {ALPHA, BETA};
    public static final double X0_MAX = 1.5;
    public static final double V0_MAX = 1.0;

    static final String INITIAL_STATE_RULE = "x0 uniform in [-1.5, 1.5), v0 uniform in [-1, 1); draws in the order x0, v0";

    private DuffingData() {
    }

    /** The true vector field, state (x, v). */
    public static FirstOrderDifferentialEquations truth() {
        return field(ALPHA, BETA, DELTA);
    }

    /** A Duffing field with the given constants (delta = 0 gives the conservative oscillator). */
    public static FirstOrderDifferentialEquations field(double alpha, double beta, double delta) {
        return new FirstOrderDifferentialEquations() {
            @Override
            public int getDimension() {
                return 2;
            }

            @Override
            public void computeDerivatives(double t, double[] y, double[] yDot) {
                double x = y[0];
                yDot[0] = y[1];
                yDot[1] = -alpha * x - beta * x * x * x - delta * y[1];
            }
        };
    }

    /** One initial state: x0 and v0 independent and uniform. */
    public static double[] drawInitialState(SplittableRandom rng) {
        double x0 = rng.nextDouble(-X0_MAX, X0_MAX);
        double v0 = rng.nextDouble(-V0_MAX, V0_MAX);
        return new double[] {x0, v0};
    }

    /** Clean and noisy trajectories of all splits, in double precision. */
    public static OdeSimulation simulate(OdeDataSettings s, long seed) {
        return OdeDataGenerator.simulate(truth(), DuffingData::drawInitialState, s, seed);
    }

    /** Generates the data set: float32 arrays train_obs / valid_obs / test_obs [N, frames, 2] and the manifest. */
    public static Dataset generate(String preset, OdeDataSettings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        OdeSimulation sim = simulate(s, seed);
        return OdeDataGenerator.toDataset(description(), preset, s, seed, sim, thetaMinNorm(sim.clean().train()));
    }

    static OdeDataGenerator.TaskDescription description() {
        Map<String, Object> truth = new LinkedHashMap<>();
        truth.put("equations", "x' = v, v' = -alpha x - beta x^3 - delta v");
        truth.put("alpha", ALPHA);
        truth.put("beta", BETA);
        truth.put("delta", DELTA);
        return new OdeDataGenerator.TaskDescription(TASK, truth, INITIAL_STATE_RULE,
                List.of("x", "v"), List.of("alpha", "beta"), THETA_STAR.clone());
    }

    /**
     * The simplest-network value: the (alpha, beta) that leave the network least to do over the
     * given states. The x' components agree, so it is the least-squares regression of the true
     * v' = -alpha* x - beta* x^3 - delta v on the features (-x, -x^3), solved by its 2x2 normal equations.
     *
     * @param cleanStates states indexed [sequence][frame][(x, v)]
     * @return {alpha_mn, beta_mn}
     */
    public static double[] thetaMinNorm(double[][][] cleanStates) {
        // Normal equations A theta = b with features f1 = -x, f2 = -x^3 and target y = true v'.
        double a11 = 0;
        double a12 = 0;
        double a22 = 0;
        double b1 = 0;
        double b2 = 0;
        for (double[][] sequence : cleanStates) {
            for (double[] state : sequence) {
                double x = state[0];
                double f1 = -x;
                double f2 = -x * x * x;
                double y = -ALPHA * x - BETA * x * x * x - DELTA * state[1];
                a11 += f1 * f1;
                a12 += f1 * f2;
                a22 += f2 * f2;
                b1 += f1 * y;
                b2 += f2 * y;
            }
        }
        double det = a11 * a22 - a12 * a12;
        // x and x^3 are collinear only if all |x| are equal; then the split between alpha and beta is undefined.
        if (!(Math.abs(det) > 1e-12 * a11 * a22)) {
            throw new IllegalArgumentException("theta_mn is undefined: x and x^3 are (nearly) collinear on these states");
        }
        return new double[] {(b1 * a22 - b2 * a12) / det, (a11 * b2 - a12 * b1) / det};
    }
}
