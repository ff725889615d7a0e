package hybridsam.model;

import hybridsam.io.ConfigException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * An ODE-additive hybrid dz/dt = f_sci(z; θ) + f_nn(z; φ), integrated with classic RK4 at step
 * h from the first observed frame; frames are stepsPerFrame RK4 steps apart.
 *
 * <p>Parameters of one replica form one flat vector: u (the unconstrained θ, {@link ThetaSpec})
 * first, then the corrector's weights ({@link MlpShape} or {@link ConvShape}). K replicas lie back to back.
 */
public record OdeHybrid(ScientificModel science, Corrector corrector, double h, int stepsPerFrame) implements Hybrid {

    /**
     * Most RK4 steps between two frames. The rollout keeps every stage of every step for the exact
     * gradient, so frame_dt / --rk4-step beyond this makes array sizes overflow (and a double
     * ratio cast to int saturates at 2^31 - 1 silently); such a pair is refused, naming both.
     */
    public static final int MAX_STEPS_PER_FRAME = 100_000;

    public OdeHybrid {
        if (corrector.inputs() != science.stateDim() || corrector.outputs() != science.stateDim()) {
            throw new IllegalArgumentException("the corrector must map the state (" + science.stateDim()
                    + " values) to a state derivative");
        }
        if (!(h > 0) || stepsPerFrame < 1) throw new IllegalArgumentException("RK4 step must be positive");
        if (stepsPerFrame > MAX_STEPS_PER_FRAME) {
            throw new ConfigException("--rk4-step " + h + ": frame_dt / --rk4-step gives "
                    + (stepsPerFrame == Integer.MAX_VALUE ? "2^31 or more" : Integer.toString(stepsPerFrame))
                    + " RK4 steps per frame, more than the " + MAX_STEPS_PER_FRAME + " allowed (the rollout's arrays"
                    + " would overflow); use a larger --rk4-step, or check frame_dt in the data set's manifest");
        }
    }

    /** The corrector as an MLP, for the paths that only run MLPs (after their capability check). */
    public MlpShape mlp() {
        if (corrector instanceof MlpShape m) return m;
        throw new IllegalStateException("this path runs MLP correctors only, not " + corrector.describe());
    }

    public int stateDim() {
        return science.stateDim();
    }

    @Override
    public ThetaSpec thetaSpec() {
        return science.theta();
    }

    @Override
    public int parameterCount() {
        return thetaCount() + corrector.parameterCount();
    }

    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        corrector.initialize(params, off + nnOffset(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("form", "ode-additive");
        m.put("corrector", corrector.describe());
        m.put("corrector_parameters", corrector.parameterCount());
        m.put("parameters", parameterCount());
        m.put("integrator", "rk4");
        m.put("rk4_step", h);
        m.put("steps_per_frame", stepsPerFrame);
        return m;
    }
}
