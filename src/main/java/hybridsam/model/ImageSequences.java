package hybridsam.model;

/**
 * Image sequences (the nested task's split): N sequences of T grey frames of H × W pixels,
 * frames frameDt apart. images[((n · T + t) · H + y) · W + x], values about [0, 1].
 */
public record ImageSequences(float[] images, int count, int frames, int height, int width, double frameDt) implements Split {

    public ImageSequences {
        if (count < 1) throw new IllegalArgumentException("a split needs at least one sequence");
        if (height < 1 || width < 1) throw new IllegalArgumentException("images must be at least 1 x 1");
        if (frames < 2) throw new IllegalArgumentException("a sequence needs at least 2 frames");
        if (images.length != (long) count * frames * height * width) {
            throw new IllegalArgumentException("images hold " + images.length + " values, " + count + " sequences of "
                    + frames + " frames of " + height + " x " + width + " need " + (long) count * frames * height * width);
        }
        if (!(frameDt > 0) || !Double.isFinite(frameDt)) throw new IllegalArgumentException("frame spacing must be positive");
    }

    /** Pixels per frame: H · W. */
    public int pixels() {
        return height * width;
    }

    /** Offset of frame t of sequence n in {@link #images()}. */
    public int frameOffset(int n, int t) {
        return (n * frames + t) * pixels();
    }
}
