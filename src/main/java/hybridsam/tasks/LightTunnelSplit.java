package hybridsam.tasks;

import hybridsam.model.Split;

/**
 * One split of light-tunnel data: N samples, each five inputs and one image.
 *
 * <p>inputs: float32 [N, 5], per sample R, G, B (0 .. 255), pol_1, pol_2 (degrees).
 * images: float32 [N, 3, H, W] in [0, 1], channel-major: value (c, y, x) of sample n at
 * n·3·H·W + c·H·W + y·W + x.
 */
public record LightTunnelSplit(float[] inputs, float[] images, int count, int height, int width) implements Split {

    public LightTunnelSplit {
        if (count < 1) throw new IllegalArgumentException("a split needs at least one sample");
        if (height < 1 || width < 1) throw new IllegalArgumentException("images must be at least 1 x 1");
        if (inputs.length != (long) count * LightTunnelModel.INPUTS) {
            throw new IllegalArgumentException("inputs hold " + inputs.length + " values, " + count + " samples need "
                    + (long) count * LightTunnelModel.INPUTS);
        }
        if (images.length != (long) count * 3 * height * width) {
            throw new IllegalArgumentException("images hold " + images.length + " values, " + count + " samples of 3 x "
                    + height + " x " + width + " need " + (long) count * 3 * height * width);
        }
    }

    /** Values per image: 3 · H · W. */
    public int imageSize() {
        return 3 * height * width;
    }

    /** Offset of sample n's inputs in {@link #inputs()}. */
    public int inputOffset(int n) {
        return n * LightTunnelModel.INPUTS;
    }

    /** Offset of sample n's image in {@link #images()}. */
    public int imageOffset(int n) {
        return n * imageSize();
    }
}
