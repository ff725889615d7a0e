package hybridsam.tasks;

import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.Hybrid;
import hybridsam.model.ThetaSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The light tunnel's output-additive hybrid (method.md §1):
 * <pre>
 *   ŷ = F2(x; S) + net([F2(x; S), R/255, G/255, B/255, pol_1/180, pol_2/180])
 * </pre>
 * F2 is {@link LightTunnelModel}'s renderer; the network is a 3 × 3 convolutional net
 * ({@link ConvShape}, channels 8 → hidden … → 3, edge-replicate padding) on an H × W image whose
 * eight input channels are the F2 image (3 channels) and the five inputs, each broadcast as a
 * constant channel. The angles enter as θ/180 (about [−1, 1]): the raw inputs, scaled, with no
 * trigonometric feature, so Malus's law stays the scientific model's work rather than being handed
 * to the network.
 *
 * <p>Parameters of one replica: θ as 9 unconstrained u (S row-major, each S_cj = 3 σ(u), linear
 * in [0, 3]), then the net's weights in {@link ConvShape}'s layout.
 */
public final class LightTunnelHybrid implements Hybrid {
    /** Input channels of the network: F2's 3, then R, G, B and the two angles. */
    public static final int NET_INPUTS = 8;
    /** Scale of the angle channels: pol / 180. */
    public static final double ANGLE_SCALE = 180.0;
    /** Box of every S entry. */
    public static final double S_LO = 0.0, S_HI = 3.0;

    private static final ThetaSpec THETA;

    static {
        double[] lo = new double[9], hi = new double[9];
        java.util.Arrays.fill(lo, S_LO);
        java.util.Arrays.fill(hi, S_HI);
        THETA = ThetaSpec.linear(LightTunnelModel.THETA_NAMES, lo, hi);
    }

    private final ConvShape net;
    private final float[] mask;

    public LightTunnelHybrid(int height, int width, int[] hidden, Activation activation) {
        int[] ch = new int[hidden.length + 2];
        ch[0] = NET_INPUTS;
        System.arraycopy(hidden, 0, ch, 1, hidden.length);
        ch[ch.length - 1] = LightTunnelModel.CHANNELS;
        this.net = new ConvShape(ch, height, width, activation);
        this.mask = LightTunnelModel.hexagonMask(height, width);
    }

    /** θ's names, box [0, 3] and linear transform. */
    public static ThetaSpec theta() {
        return THETA;
    }

    public ConvShape net() {
        return net;
    }

    public int height() {
        return net.height();
    }

    public int width() {
        return net.width();
    }

    /** The hexagon mask of this image size (shared: do not modify). */
    float[] mask() {
        return mask;
    }

    @Override
    public ThetaSpec thetaSpec() {
        return THETA;
    }

    @Override
    public int parameterCount() {
        return thetaCount() + net.parameterCount();
    }

    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        net.initialize(params, off + nnOffset(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("form", "output-additive");
        m.put("science", "light-tunnel model F2: hexagon of colour clip(exposure diag(w) S (R,G,B)/255 cos^2(pol_1 - pol_2))");
        m.put("w", java.util.List.of(LightTunnelModel.W[0], LightTunnelModel.W[1], LightTunnelModel.W[2]));
        m.put("exposure", LightTunnelModel.EXPOSURE);
        m.put("network", net.describe());
        m.put("network_inputs", "F2 image (3 channels), R/255, G/255, B/255, pol_1/180, pol_2/180 broadcast as channels");
        m.put("network_parameters", net.parameterCount());
        m.put("parameters", parameterCount());
        m.put("height", net.height());
        m.put("width", net.width());
        return m;
    }
}
