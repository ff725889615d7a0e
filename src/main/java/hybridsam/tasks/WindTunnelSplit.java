package hybridsam.tasks;

import hybridsam.model.Split;

/**
 * One split of wind-tunnel data: N sequences of T samples, sample-major float32 arrays.
 * <ul>
 * <li>obs [N, T, 3]: ω_in, ω_out (rad/s) and the downwind pressure P_dw − P_amb (Pa);</li>
 * <li>inputs [N, T, 3]: load_in, load_out (in [0, 1]) and the hatch angle (degrees);</li>
 * <li>times [N, T]: seconds since the sequence's first sample (strictly increasing, irregular).</li>
 * </ul>
 * The arrays are held, not copied; {@link WindTunnelTask#splits} checks them.
 */
public record WindTunnelSplit(float[] obs, float[] inputs, float[] times, int sequences, int frames) implements Split {

    /** Observed channels: ω_in, ω_out, pressure. */
    public static final int CHANNELS = 3;
    /** Input channels: load_in, load_out, hatch. */
    public static final int INPUTS = 3;

    public WindTunnelSplit {
        if (sequences < 1 || frames < 2) throw new IllegalArgumentException("need at least 1 sequence of 2 samples");
        long n = (long) sequences * frames;
        if (obs.length != n * CHANNELS || inputs.length != n * INPUTS || times.length != n) {
            throw new IllegalArgumentException("arrays do not match " + sequences + " sequences of " + frames + " samples");
        }
    }

    @Override
    public int count() {
        return sequences;
    }

    /** Observed channel ch (0 ω_in, 1 ω_out, 2 pressure) of sequence s at sample f. */
    public float obs(int s, int f, int ch) {
        return obs[(s * frames + f) * CHANNELS + ch];
    }

    /** Input channel ch (0 load_in, 1 load_out, 2 hatch) of sequence s at sample f. */
    public float input(int s, int f, int ch) {
        return inputs[(s * frames + f) * INPUTS + ch];
    }

    /** Time of sample f of sequence s (s since its first sample). */
    public float time(int s, int f) {
        return times[s * frames + f];
    }
}
