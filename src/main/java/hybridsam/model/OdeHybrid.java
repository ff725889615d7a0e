package hybridsam.model;

/**
 * An ODE-additive hybrid dz/dt = f_sci(z; θ) + f_nn(z; φ), integrated with classic RK4 at step
 * h from the first observed frame; frames are stepsPerFrame RK4 steps apart.
 *
 * <p>Parameters of one replica form one flat vector: u (the unconstrained θ, {@link ThetaSpec})
 * first, then the MLP's weights ({@link MlpShape}). K replicas lie back to back.
 */
public record OdeHybrid(ScientificModel science, MlpShape corrector, double h, int stepsPerFrame) {

    public OdeHybrid {
        if (corrector.in(0) != science.stateDim() || corrector.out(corrector.layers() - 1) != science.stateDim()) {
            throw new IllegalArgumentException("the corrector must map the state (" + science.stateDim()
                    + " values) to a state derivative");
        }
        if (!(h > 0) || stepsPerFrame < 1) throw new IllegalArgumentException("RK4 step must be positive");
    }

    public int stateDim() {
        return science.stateDim();
    }

    public int thetaCount() {
        return science.theta().size();
    }

    /** Offset of φ within one replica's parameter vector. */
    public int nnOffset() {
        return thetaCount();
    }

    public int parameterCount() {
        return thetaCount() + corrector.parameterCount();
    }

    public double[] physicalTheta(float[] params, int replicaOffset) {
        return science.theta().physical(params, replicaOffset);
    }
}
