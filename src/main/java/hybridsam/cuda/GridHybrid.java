package hybridsam.cuda;

import hybridsam.model.ConvShape;
import hybridsam.model.ThetaSpec;

/**
 * What the convolutional gradient program ({@link ConvOdeGradient}) runs: the ODE-additive hybrid
 * dz/dt = (θ_c Δ z_c)_c + conv(z; φ) on a grid of C = θ-count channels of height × width cells
 * (the net's grid), channel-major, with the five-point Laplacian at mesh step dx and
 * edge-replicate boundaries, integrated with RK4 at step h, stepsPerFrame steps between frames.
 * Parameters per replica: u (θ's unconstrained values) then the net's weights ({@link ConvShape}).
 */
public record GridHybrid(ThetaSpec theta, ConvShape net, double dx, double h, int stepsPerFrame) {

    public GridHybrid {
        int C = theta.size();
        if (C < 1 || C > StepKernels.MAX_THETA) {
            throw new IllegalArgumentException("the diffusion field takes 1 to " + StepKernels.MAX_THETA + " channels, one theta each (got " + C + ")");
        }
        if (net.in(0) != C || net.out(net.layers() - 1) != C) {
            throw new IllegalArgumentException("the corrector must map the " + C + " state channels to their derivatives, not "
                    + net.describe());
        }
        if (!(dx > 0) || !(h > 0) || stepsPerFrame < 1) throw new IllegalArgumentException("dx, h and steps per frame must be positive");
    }

    public int channels() {
        return theta.size();
    }

    public int height() {
        return net.height();
    }

    public int width() {
        return net.width();
    }

    /** Values per sample: channels × height × width. */
    public int stateDim() {
        return net.inputs();
    }

    public int thetaCount() {
        return theta.size();
    }

    public int parameterCount() {
        return thetaCount() + net.parameterCount();
    }

    /** 1 / dx², as the kernels take it. */
    public float invDx2() {
        return (float) (1.0 / (dx * dx));
    }
}
