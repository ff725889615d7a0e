package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import org.apache.commons.math3.ode.FirstOrderDifferentialEquations;
import org.apache.commons.math3.ode.FirstOrderIntegrator;
import org.apache.commons.math3.ode.nonstiff.DormandPrince853Integrator;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Shared machinery of the ODE time-series generators (pendulum, duffing): seeded initial states,
 * reference integration with Dormand-Prince 8(5,3), Gaussian observation noise, and the
 * data set / manifest layout.
 *
 * <p>Determinism: one {@link SplittableRandom} drives every draw in one fixed order (all initial
 * states of train, then valid, then test, then the noise of train, valid, test in
 * sequence/frame/component order). The integrator is deterministic, and transcendental functions
 * go through {@link StrictMath}, whose results are specified bit for bit, so a seed gives the
 * same arrays on every JVM.
 */
public final class OdeDataGenerator {

    /** Absolute and relative tolerances of the reference integrator: far below the noise. */
    public static final double ABS_TOL = 1e-10;
    public static final double REL_TOL = 1e-10;
    /** Smallest step the integrator may take, relative to the frame interval. */
    static final double MIN_STEP_FRACTION = 1e-12;
    static final String INTEGRATOR_NAME = "DormandPrince853 (commons-math3 3.6.1), integrated frame to frame";

    /** Version of the saved layout; bump when arrays or manifest keys change meaning. */
    public static final int FORMAT_VERSION = 1;

    private OdeDataGenerator() {
    }

    /** Draws one initial state from the task's rule; it must consume the generator deterministically. */
    @FunctionalInterface
    public interface InitialStateRule {
        double[] draw(SplittableRandom rng);
    }

    /**
     * Simulates all three splits: draws initial states, integrates them, adds noise.
     *
     * @param truth the true vector field (its dimension is the state dimension)
     * @param rule  the task's initial-state rule
     */
    public static OdeSimulation simulate(FirstOrderDifferentialEquations truth, InitialStateRule rule,
                                         OdeDataSettings s, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        // All initial states first, so that changing the noise level does not move the states.
        double[][] trainInit = drawInitialStates(rule, rng, s.nTrain(), truth.getDimension());
        double[][] validInit = drawInitialStates(rule, rng, s.nValid(), truth.getDimension());
        double[][] testInit = drawInitialStates(rule, rng, s.nTest(), truth.getDimension());

        OdeTrajectories clean = new OdeTrajectories(
                integrateAll(truth, trainInit, s), integrateAll(truth, validInit, s), integrateAll(truth, testInit, s));
        OdeTrajectories observed = new OdeTrajectories(
                addNoise(clean.train(), s.noise(), rng), addNoise(clean.valid(), s.noise(), rng),
                addNoise(clean.test(), s.noise(), rng));
        return new OdeSimulation(clean, observed);
    }

    private static double[][] drawInitialStates(InitialStateRule rule, SplittableRandom rng, int n, int dim) {
        double[][] states = new double[n][];
        for (int i = 0; i < n; i++) {
            states[i] = rule.draw(rng);
            if (states[i].length != dim) {
                throw new IllegalStateException("initial-state rule gave " + states[i].length
                        + " components, the field has " + dim);
            }
        }
        return states;
    }

    private static double[][][] integrateAll(FirstOrderDifferentialEquations truth, double[][] init, OdeDataSettings s) {
        double[][][] out = new double[init.length][][];
        for (int i = 0; i < init.length; i++) {
            out[i] = integrate(truth, init[i], s.frames(), s.frameDt());
        }
        return out;
    }

    /**
     * Integrates one trajectory and returns its states at t = k * frameDt, k = 0 .. frames-1,
     * indexed [frame][component].
     *
     * <p>It integrates frame to frame rather than reading a dense-output interpolant, so every
     * returned state is an end point of the solver, held to its tolerances. The frame times are
     * computed as k * frameDt (not by accumulation) so they carry no drift.
     */
    public static double[][] integrate(FirstOrderDifferentialEquations truth, double[] y0, int frames, double frameDt) {
        FirstOrderIntegrator integrator = new DormandPrince853Integrator(
                MIN_STEP_FRACTION * frameDt, frameDt, ABS_TOL, REL_TOL);
        double[][] states = new double[frames][];
        double[] y = y0.clone();
        states[0] = y.clone();
        for (int k = 1; k < frames; k++) {
            integrator.integrate(truth, (k - 1) * frameDt, y, k * frameDt, y);
            states[k] = y.clone();
        }
        return states;
    }

    private static double[][][] addNoise(double[][][] clean, double sigma, SplittableRandom rng) {
        double[][][] out = new double[clean.length][][];
        for (int i = 0; i < clean.length; i++) {
            out[i] = new double[clean[i].length][];
            for (int k = 0; k < clean[i].length; k++) {
                out[i][k] = new double[clean[i][k].length];
                for (int c = 0; c < clean[i][k].length; c++) {
                    // Draw even when sigma is 0, so the draw order never depends on the settings.
                    out[i][k][c] = clean[i][k][c] + sigma * gaussian(rng);
                }
            }
        }
        return out;
    }

    /**
     * One standard normal draw by the Box-Muller transform (the cosine branch; the sine branch is
     * dropped so each call consumes exactly two uniforms and keeps no state between calls).
     */
    public static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble(); // in (0, 1]: the logarithm stays finite
        double u2 = rng.nextDouble();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * StrictMath.PI * u2);
    }

    /** Flattens trajectories [n][frames][dim] into a float32 array of that shape (row-major). */
    public static NdArray toNdArray(double[][][] trajectories) {
        int n = trajectories.length;
        int frames = trajectories[0].length;
        int dim = trajectories[0][0].length;
        float[] data = new float[Math.multiplyExact(Math.multiplyExact(n, frames), dim)];
        int at = 0;
        for (double[][] sequence : trajectories) {
            for (double[] state : sequence) {
                for (double v : state) {
                    data[at++] = (float) v;
                }
            }
        }
        return new NdArray(data, n, frames, dim);
    }

    /** Observation arrays under the agreed names. */
    static Map<String, NdArray> observationArrays(OdeSimulation sim) {
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        arrays.put("train_obs", toNdArray(sim.observed().train()));
        arrays.put("valid_obs", toNdArray(sim.observed().valid()));
        arrays.put("test_obs", toNdArray(sim.observed().test()));
        return arrays;
    }

    /** Everything a task writes into its manifest; the values are JSON-friendly. */
    record TaskDescription(String task, Map<String, Object> truthConstants, String initialStateRule,
                           List<String> stateNames, List<String> thetaNames, double[] thetaStar) {
    }

    /** Builds the data set: float32 observations plus the manifest that describes how they were made. */
    static Dataset toDataset(TaskDescription d, String preset, OdeDataSettings s, long seed,
                             OdeSimulation sim, double[] thetaMn) {
        Map<String, Object> generator = new LinkedHashMap<>();
        generator.put("n_train", s.nTrain());
        generator.put("n_valid", s.nValid());
        generator.put("n_test", s.nTest());
        generator.put("frames", s.frames());
        generator.put("frame_dt", s.frameDt());
        generator.put("noise", s.noise());
        generator.put("noise_rule", "additive Gaussian, same sigma on every observed value including frame 0"
                + " (Box-Muller, cosine branch)");
        generator.put("truth", d.truthConstants());
        generator.put("initial_state", d.initialStateRule());
        Map<String, Object> integrator = new LinkedHashMap<>();
        integrator.put("name", INTEGRATOR_NAME);
        integrator.put("abs_tol", ABS_TOL);
        integrator.put("rel_tol", REL_TOL);
        integrator.put("min_step", MIN_STEP_FRACTION * s.frameDt());
        integrator.put("max_step", s.frameDt());
        generator.put("integrator", integrator);
        generator.put("rng", "java.util.SplittableRandom(seed)");
        generator.put("draw_order", "initial states of train, valid, test; then noise of train, valid, test"
                + " (sequence, frame, component)");
        generator.put("theta_mn_rule", "least squares of the true field on the scientific model's field"
                + " over the clean train states (all frames)");

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", d.task());
        manifest.put("preset", preset);
        manifest.put("seed", seed);
        manifest.put("generator", generator);
        manifest.put("state_names", d.stateNames());
        manifest.put("theta_names", d.thetaNames());
        manifest.put("theta_star", toList(d.thetaStar()));
        manifest.put("theta_mn", toList(thetaMn));
        manifest.put("format_version", FORMAT_VERSION);
        return new Dataset(manifest, observationArrays(sim));
    }

    static List<Double> toList(double[] values) {
        Double[] boxed = new Double[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return List.of(boxed);
    }

    static void requirePreset(String preset) {
        if (preset == null || preset.isBlank()) {
            throw new IllegalArgumentException("preset must be a non-blank name");
        }
    }
}
