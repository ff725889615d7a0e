package hybridsam.model;

import java.util.Map;
import java.util.SplittableRandom;

/**
 * A hybrid model as the trainer and the rules see it: one flat parameter vector per replica,
 * the unconstrained θ first ({@link ThetaSpec}), then every network's weights (φ). The rules
 * perturb φ = [nnOffset, parameterCount) and never θ.
 */
public interface Hybrid {

    ThetaSpec thetaSpec();

    default int thetaCount() {
        return thetaSpec().size();
    }

    /** Offset of φ within one replica's parameter vector. */
    default int nnOffset() {
        return thetaCount();
    }

    int parameterCount();

    /** Seeded initialization of every network (φ) at params[off ..]; θ is left alone. */
    void initializeNetworks(float[] params, int off, SplittableRandom rng);

    /** The form, networks and integrator in words and numbers, for config.json's "model". */
    Map<String, Object> describe();

    /** Physical θ of one replica whose parameters start at params[replicaOffset]. */
    default double[] physicalTheta(float[] params, int replicaOffset) {
        return thetaSpec().physical(params, replicaOffset);
    }
}
