package hybridsam.model;

/** Observed trajectories, sample-major: obs[(n * frames + t) * dim + d]. */
public record Sequences(float[] obs, int count, int frames, int dim) implements Split {

    public Sequences {
        if ((long) count * frames * dim != obs.length) {
            throw new IllegalArgumentException("sequence array holds " + obs.length + " values, expected "
                    + count + " x " + frames + " x " + dim);
        }
        if (frames < 2) throw new IllegalArgumentException("a sequence needs at least 2 frames");
    }

    public float at(int n, int t, int d) {
        return obs[(n * frames + t) * dim + d];
    }
}
