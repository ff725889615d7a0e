package hybridsam.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The nested hybrid of method.md §1, y = dec_φ(ODE(enc_φ(x_0..k); θ, φ)): an encoder network maps
 * the first {@link #encoderFrames} frames of an image sequence to the initial state z0 of an
 * ODE-additive hybrid (its scientific model and corrector unchanged), RK4 integrates it frame
 * to frame, and a decoder network renders every state (frame 0 included) back to an image
 * through a sigmoid. The loss is the pixel MSE over all frames.
 *
 * <p>Parameters of one replica: u (θ of the ODE's scientific model), then the ODE's corrector,
 * then the encoder (inputs encoderFrames · H · W, frame-major as stored), then the decoder
 * (outputs H · W, row-major), each MLP in {@link MlpShape}'s layout. Every network is φ: the
 * rules perturb all three and never θ. The corrector sits right after θ, as in {@link OdeHybrid},
 * so the ODE's kernels and loops address it unchanged.
 */
public record NestedHybrid(OdeHybrid ode, MlpShape encoder, MlpShape decoder, int encoderFrames, int height, int width)
        implements Hybrid {

    /** Frames the encoder reads (tasks.md: the first 3). */
    public static final int ENCODER_FRAMES = 3;
    /** Hidden width of the encoder and decoder MLPs (tasks.md: 3·H·W → 128 → 2, 2 → 128 → H·W). */
    public static final int CODEC_WIDTH = 128;

    public NestedHybrid {
        int d = ode.stateDim(), px = height * width;
        if (height < 1 || width < 1) throw new IllegalArgumentException("images must be at least 1 x 1");
        if (encoderFrames < 1) throw new IllegalArgumentException("the encoder needs at least one frame");
        if (encoder.inputs() != encoderFrames * px || encoder.outputs() != d) {
            throw new IllegalArgumentException("the encoder must map " + encoderFrames + " frames of " + px
                    + " pixels to the " + d + " state values, is " + encoder.describe());
        }
        if (decoder.inputs() != d || decoder.outputs() != px) {
            throw new IllegalArgumentException("the decoder must map the " + d + " state values to " + px
                    + " pixels, is " + decoder.describe());
        }
    }

    /** The default networks: MLPs with one hidden layer of {@link #CODEC_WIDTH} units, the given activation. */
    public static NestedHybrid mlp(OdeHybrid ode, int height, int width, Activation activation) {
        int d = ode.stateDim(), px = height * width;
        return new NestedHybrid(ode,
                new MlpShape(new int[] {ENCODER_FRAMES * px, CODEC_WIDTH, d}, activation),
                new MlpShape(new int[] {d, CODEC_WIDTH, px}, activation),
                ENCODER_FRAMES, height, width);
    }

    public int stateDim() {
        return ode.stateDim();
    }

    public int pixels() {
        return height * width;
    }

    /** Offset of the ODE's corrector in one replica's parameters (right after θ). */
    public int correctorOffset() {
        return thetaCount();
    }

    public int encoderOffset() {
        return correctorOffset() + ode.corrector().parameterCount();
    }

    public int decoderOffset() {
        return encoderOffset() + encoder.parameterCount();
    }

    @Override
    public ThetaSpec thetaSpec() {
        return ode.thetaSpec();
    }

    @Override
    public int parameterCount() {
        return decoderOffset() + decoder.parameterCount();
    }

    /** The three networks in layout order (corrector, encoder, decoder), drawn one after another from rng. */
    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        ode.corrector().initialize(params, off + correctorOffset(), rng);
        encoder.initialize(params, off + encoderOffset(), rng);
        decoder.initialize(params, off + decoderOffset(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("form", "nested");
        m.put("networks", "mlp");
        m.put("encoder", encoder.describe() + " (first " + encoderFrames + " frames -> initial state)");
        m.put("encoder_parameters", encoder.parameterCount());
        m.put("corrector", ode.corrector().describe());
        m.put("corrector_parameters", ode.corrector().parameterCount());
        m.put("decoder", decoder.describe() + " + sigmoid (state -> image)");
        m.put("decoder_parameters", decoder.parameterCount());
        m.put("parameters", parameterCount());
        m.put("height", height);
        m.put("width", width);
        m.put("integrator", "rk4");
        m.put("rk4_step", ode.h());
        m.put("steps_per_frame", ode.stepsPerFrame());
        return m;
    }
}
