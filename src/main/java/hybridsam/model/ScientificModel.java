package hybridsam.model;

/**
 * The scientific part f_sci(z; θ) of an ODE-additive hybrid, evaluated on a chunk of C samples
 * stored state-major (z[d * C + c]), the layout the CPU and GPU backends share.
 */
public interface ScientificModel {

    int stateDim();

    ThetaSpec theta();

    /** out[d*C + c] = f_sci(z[·, c]; θ)_d for c in [0, C). */
    void field(float[] z, int zOff, int C, double[] theta, float[] out, int outOff);

    /**
     * Vector-Jacobian product with g (same layout as the field): gz += (∂f/∂z)ᵀ g and
     * gTheta += (∂f/∂θ)ᵀ g summed over the chunk.
     */
    void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff,
             float[] gz, int gzOff, double[] gTheta);
}
