package hybridsam.cuda;

import hybridsam.model.ConvShape;
import hybridsam.model.Hybrid;
import hybridsam.model.Split;
import hybridsam.model.ThetaSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * What the light-tunnel gradient program ({@link LightTunnelGradient}) runs: the output-additive
 * hybrid y = F2(x; S) + net([F2(x; S), inputs]; φ) on H × W images (tasks.md, light-tunnel). F2
 * is the chamber's hexagon of one colour, c_ch = colourScale_ch · Σ_j S[ch][j] · rgb_j ·
 * cos²(pol_1 − pol_2), clipped to [0, 1], times mask (1 inside the hexagon, 0 outside; the
 * task's geometry, [H][W]); colourScale_ch = exposure · w_ch / 255. θ = S row by row (9 values);
 * the net takes 3 + {@value #INPUTS} channels, the image then input_i · inputScale_i +
 * inputShift_i broadcast, and gives 3. Parameters per replica: u (θ's unconstrained values),
 * then the net's weights ({@link ConvShape}). The split is read through samples.
 *
 * <p>It is itself a {@link Hybrid}, so that the engine runs it as it stands (tests, and a task
 * whose model the CUDA backend translates into it).
 */
public record LightHybrid(ThetaSpec theta, ConvShape net, float[] mask, double[] colourScale, double[] inputScale,
                          double[] inputShift, Function<Split, Samples> samples) implements Hybrid {
    /** Inputs per sample, R, G, B (0..255), pol_1, pol_2 (degrees): HS_LT_INPUTS of common.cuh. */
    public static final int INPUTS = KernelConstants.value("HS_LT_INPUTS");

    /** A split as the program reads it: inputs [count][INPUTS] raw, target images [count][3][H][W]. */
    public record Samples(float[] inputs, float[] images, int count) implements Split {
    }

    public LightHybrid {
        if (theta.size() != 9) throw new IllegalArgumentException("light-tunnel's theta is the 3 x 3 matrix S, not " + theta.size() + " values");
        if (net.in(0) != 3 + INPUTS || net.out(net.layers() - 1) != 3) {
            throw new IllegalArgumentException("the network maps " + (3 + INPUTS) + " channels to 3, not " + net.describe());
        }
        if (mask.length != net.cells() || colourScale.length != 3 || inputScale.length != INPUTS || inputShift.length != INPUTS) {
            throw new IllegalArgumentException("light-tunnel: mask, colour scale or input scaling of the wrong size");
        }
    }

    public int height() {
        return net.height();
    }

    public int width() {
        return net.width();
    }

    @Override
    public ThetaSpec thetaSpec() {
        return theta;
    }

    @Override
    public int parameterCount() {
        return thetaCount() + net.parameterCount();
    }

    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        net.initialize(params, off + thetaCount(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("form", "output-additive: F2 hexagon image + conv net on [image, inputs]");
        d.put("network", net.describe());
        return d;
    }

    /** The kernels' constants: colourScale (3), inputScale, inputShift (INPUTS each), as hs_lt_* read them. */
    double[] constants() {
        double[] c = new double[3 + 2 * INPUTS];
        System.arraycopy(colourScale, 0, c, 0, 3);
        System.arraycopy(inputScale, 0, c, 3, INPUTS);
        System.arraycopy(inputShift, 0, c, 3 + INPUTS, INPUTS);
        return c;
    }
}
