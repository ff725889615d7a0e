package hybridsam.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A convolutional corrector on an H × W grid: 3 × 3 convolutions with edge-replicate padding
 * (the boundary rule of the grid's Laplacian), channels[0] in, channels[last] out, the
 * activation after every layer but the last. The state is channel-major: value (ch, y, x) is
 * state component ch·H·W + y·W + x.
 *
 * <p>Weights sit layer by layer: W as [out][in][3][3] (row ky, column kx; tap (ky, kx) reads
 * the input at (y + ky − 1, x + kx − 1)), then b[out]. Every backend uses this layout.
 */
public record ConvShape(int[] channels, int height, int width, Activation activation) implements Corrector {
    public static final int KERNEL = 3;

    public ConvShape {
        if (channels.length < 2) throw new IllegalArgumentException("a convolutional net needs input and output channels");
        for (int c : channels) {
            if (c <= 0) throw new IllegalArgumentException("channel counts must be positive: " + Arrays.toString(channels));
        }
        if (height < 1 || width < 1) throw new IllegalArgumentException("grid must be at least 1 x 1");
        channels = channels.clone();
    }

    public int layers() {
        return channels.length - 1;
    }

    public int in(int layer) {
        return channels[layer];
    }

    public int out(int layer) {
        return channels[layer + 1];
    }

    public int cells() {
        return height * width;
    }

    public int weightOffset(int layer) {
        int off = 0;
        for (int l = 0; l < layer; l++) off += channels[l + 1] * (channels[l] * KERNEL * KERNEL + 1);
        return off;
    }

    public int biasOffset(int layer) {
        return weightOffset(layer) + channels[layer + 1] * channels[layer] * KERNEL * KERNEL;
    }

    @Override
    public int parameterCount() {
        return weightOffset(layers());
    }

    @Override
    public int inputs() {
        return channels[0] * cells();
    }

    @Override
    public int outputs() {
        return channels[channels.length - 1] * cells();
    }

    /** Hidden channels times cells: the activations kept per evaluation. */
    @Override
    public int hiddenUnits() {
        int n = 0;
        for (int l = 1; l < channels.length - 1; l++) n += channels[l];
        return n * cells();
    }

    public int maxChannels() {
        return Arrays.stream(channels).max().orElseThrow();
    }

    @Override
    public void initialize(float[] params, int off, SplittableRandom rng) {
        for (int l = 0; l < layers(); l++) {
            double bound = 1.0 / Math.sqrt(in(l) * KERNEL * KERNEL);
            int n = out(l) * (in(l) * KERNEL * KERNEL + 1);
            int w = off + weightOffset(l);
            for (int i = 0; i < n; i++) params[w + i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        }
    }

    @Override
    public long forwardFlops() {
        long f = 0;
        for (int l = 0; l < layers(); l++) f += 2L * in(l) * out(l) * KERNEL * KERNEL * cells();
        return f;
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder("conv3x3 ");
        for (int i = 0; i < channels.length; i++) sb.append(i == 0 ? "" : "-").append(channels[i]);
        return sb + " " + activation.id() + " on " + height + "x" + width;
    }
}
