package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.WindTunnelModel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data of the {@code wind-tunnel} task: simulated intake impulses of the Causal Chambers' wind
 * tunnel, after their data set {@code wt_intake_impulse_v1} (tasks.md, "wind-tunnel").
 *
 * <p><b>Protocol</b> of one sequence (50 samples): intake load 0.01 for 5 samples, 1 for 20,
 * 0.01 for 25; exhaust load constant, drawn from {0.01, 0.5, 1}; hatch uniform in [0, 45]°,
 * constant; samples 1/7 s apart, each interval jittered uniformly by ±10 %. Both fans start at the
 * truth's steady speed for their first load.
 *
 * <p><b>Truth</b> ({@link WindTunnelModel}): each fan follows chamber model A2 plus a linear
 * bearing friction, ω′ = (τ(L) − K ω² − c ω) / I ({@link WindTunnelModel#truthFanField}),
 * integrated by classic RK4 in double precision with equal steps of at most {@link #DATA_STEP}
 * between consecutive time stamps, the loads held at the interval's first sample (as the
 * model does). The downwind pressure is chamber model C3 of the clean speeds and the hatch.
 * Observations: the speeds plus tachometer noise (5 rpm), the pressure plus barometer noise (0.2 Pa).
 *
 * <p><b>Arrays</b> (float32, sample-major): {@code SPLIT_obs} [N, 50, 3] = ω_in, ω_out (rad/s),
 * P_dw − P_amb (Pa); {@code SPLIT_inputs} [N, 50, 3] = load_in, load_out, hatch (degrees);
 * {@code SPLIT_times} [N, 50] = seconds since the first sample; SPLIT = train, valid, test.
 * The time stamps are rounded to float32 first and the simulation integrates between the rounded
 * values, so the saved times are exactly the simulated ones.
 *
 * <p><b>Seeds</b>: sequence i (train, valid, test in order) draws from its own
 * {@code SplittableRandom(s_i)}, s_i the i-th {@code nextLong()} of {@code SplittableRandom(seed)};
 * in order: the exhaust load ({@code nextInt(3)}), the hatch (45 · {@code nextDouble()}), the 49
 * interval jitters ({@code nextDouble()} each), then the noise frame by frame (ω_in, ω_out,
 * pressure; Box-Muller, {@link OdeDataGenerator#gaussian}). Sequences are simulated in parallel,
 * each from its own stream, so a seed gives the same bits with any thread count.
 *
 * <p><b>θ_mn</b>: the least-squares fit of the true fan field on the scientific field's two basis
 * terms, g(L) and −ω², over the clean training states (every sample, both fans): the θ the
 * scientific model takes when the network is as simple as possible. Sums per sequence, added in
 * sequence order.
 */
public final class WindTunnelData {

    public static final String TASK = "wind-tunnel";
    /** Samples per sequence. */
    public static final int FRAMES = 50;
    /** Samples before, during and after the intake impulse. */
    public static final int BEFORE = 5, DURING = 20, AFTER = 25;
    /** Intake load outside and during the impulse. */
    public static final double LOAD_IDLE = 0.01, LOAD_FULL = 1;
    /** Exhaust loads, one drawn per sequence (the chambers' experiments). */
    public static final double[] EXHAUST_LOADS = {0.01, 0.5, 1};
    /** Nominal time between samples (s): the real data's rate, about 7 Hz. */
    public static final double SAMPLE_DT = 1.0 / 7;
    /** Relative jitter of each interval: uniform in ±10 %. */
    public static final double JITTER = 0.1;
    /** Largest RK4 step of the reference integration (s). */
    public static final double DATA_STEP = 1e-3;
    /** Version of the saved layout. */
    public static final int FORMAT_VERSION = 1;

    private WindTunnelData() {
    }

    /** Sequences per split. */
    public record Settings(int nTrain, int nValid, int nTest) {
        public Settings {
            if (nTrain < 1 || nValid < 1 || nTest < 1) throw new IllegalArgumentException("every split needs a sequence");
            if ((long) Math.max(nTrain, Math.max(nValid, nTest)) * FRAMES * 3 > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a split is more than one float array holds");
            }
        }

        /** The experiment: 600 / 200 / 200 sequences. */
        public static Settings full() {
            return new Settings(600, 200, 200);
        }

        /** Tests and CI: 32 / 16 / 16 sequences. */
        public static Settings small() {
            return new Settings(32, 16, 16);
        }

        public static Settings preset(String name) {
            return switch (name) {
                case "full" -> full();
                case "small" -> small();
                default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected full or small)");
            };
        }

        public int total() {
            return Math.addExact(Math.addExact(nTrain, nValid), nTest);
        }
    }

    /** The intake load at sample f of the impulse protocol. */
    public static double intakeLoad(int f) {
        return f >= BEFORE && f < BEFORE + DURING ? LOAD_FULL : LOAD_IDLE;
    }

    public static Dataset generate(String preset, long seed) {
        return generate(preset, Settings.preset(preset), seed);
    }

    public static Dataset generate(String preset, Settings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        int n = s.total();
        long[] seeds = new long[n];
        SplittableRandom master = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) seeds[i] = master.nextLong();
        int[] counts = {s.nTrain(), s.nValid(), s.nTest()};
        float[][] obs = new float[3][], inputs = new float[3][], times = new float[3][];
        for (int i = 0; i < 3; i++) {
            obs[i] = new float[counts[i] * FRAMES * 3];
            inputs[i] = new float[counts[i] * FRAMES * 3];
            times[i] = new float[counts[i] * FRAMES];
        }
        double[][] sums = new double[s.nTrain()][];
        IntStream.range(0, n).parallel().forEach(e -> {
            int split = e < s.nTrain() ? 0 : e < s.nTrain() + s.nValid() ? 1 : 2;
            int index = split == 0 ? e : split == 1 ? e - s.nTrain() : e - s.nTrain() - s.nValid();
            double[] part = split == 0 ? new double[5] : null;
            simulate(seeds[e], obs[split], inputs[split], times[split], index, part);
            if (split == 0) sums[index] = part;
        });
        double[] total = new double[5];
        for (double[] part : sums) for (int i = 0; i < 5; i++) total[i] += part[i];
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        for (int i = 0; i < 3; i++) {
            arrays.put(names[i] + "_obs", new NdArray(obs[i], counts[i], FRAMES, 3));
            arrays.put(names[i] + "_inputs", new NdArray(inputs[i], counts[i], FRAMES, 3));
            arrays.put(names[i] + "_times", new NdArray(times[i], counts[i], FRAMES));
        }
        return new Dataset(manifest(preset, s, seed, thetaFromSums(total)), arrays);
    }

    /**
     * One sequence from SplittableRandom(sequenceSeed) into slot `index` of the split's arrays;
     * adds its θ_mn sums to `sums` when not null.
     */
    private static void simulate(long sequenceSeed, float[] obs, float[] inputs, float[] times, int index, double[] sums) {
        SplittableRandom rng = new SplittableRandom(sequenceSeed);
        double exhaust = EXHAUST_LOADS[rng.nextInt(EXHAUST_LOADS.length)];
        double hatch = WindTunnelModel.HATCH_MAX * rng.nextDouble();
        float[] t = new float[FRAMES];
        double clock = 0;
        for (int f = 1; f < FRAMES; f++) {
            clock += SAMPLE_DT * (1 + JITTER * (2 * rng.nextDouble() - 1));
            t[f] = (float) clock;
        }
        double wIn = WindTunnelModel.truthSteadySpeed(intakeLoad(0));
        double wOut = WindTunnelModel.truthSteadySpeed(exhaust);
        double rpmSigma = WindTunnelModel.RPM_NOISE * WindTunnelModel.RPM_TO_RAD;
        int base = index * FRAMES;
        for (int f = 0; f < FRAMES; f++) {
            if (f > 0) {
                double dt = (double) t[f] - t[f - 1];
                wIn = integrate(wIn, intakeLoad(f - 1), dt, true);
                wOut = integrate(wOut, exhaust, dt, true);
            }
            int o = (base + f) * 3;
            obs[o] = (float) (wIn + rpmSigma * OdeDataGenerator.gaussian(rng));
            obs[o + 1] = (float) (wOut + rpmSigma * OdeDataGenerator.gaussian(rng));
            obs[o + 2] = (float) (WindTunnelModel.pressureC3(wIn, wOut, hatch)
                    + WindTunnelModel.PRESSURE_NOISE * OdeDataGenerator.gaussian(rng));
            inputs[o] = (float) intakeLoad(f);
            inputs[o + 1] = (float) exhaust;
            inputs[o + 2] = (float) hatch;
            times[base + f] = t[f];
            if (sums != null) {
                addThetaSums(wIn, intakeLoad(f), sums);
                addThetaSums(wOut, exhaust, sums);
            }
        }
    }

    /**
     * One fan over `duration` seconds at a constant load by classic RK4, equal steps of at most
     * {@link #DATA_STEP}: the truth's field with friction, or A2 at θ* without.
     */
    public static double integrate(double omega, double load, double duration, boolean friction) {
        if (!(duration >= 0) || !Double.isFinite(duration)) throw new IllegalArgumentException("bad duration " + duration);
        int steps = (int) Math.ceil(duration / DATA_STEP);
        if (steps == 0) return omega;
        double h = duration / steps;
        double w = omega;
        for (int i = 0; i < steps; i++) {
            double k1 = field(w, load, friction);
            double k2 = field(w + 0.5 * h * k1, load, friction);
            double k3 = field(w + 0.5 * h * k2, load, friction);
            double k4 = field(w + h * k3, load, friction);
            w += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        }
        return w;
    }

    private static double field(double w, double load, boolean friction) {
        return friction ? WindTunnelModel.truthFanField(w, load)
                : WindTunnelModel.fanField(w, load, WindTunnelModel.THETA_TORQUE, WindTunnelModel.THETA_DRAG);
    }

    /** Adds g², g·q, q², g·F, q·F (g = g(L), q = −ω², F the true field) of one fan state to sums. */
    private static void addThetaSums(double omega, double load, double[] sums) {
        double g = WindTunnelModel.loadFactor(load), q = -omega * omega, F = WindTunnelModel.truthFanField(omega, load);
        sums[0] += g * g;
        sums[1] += g * q;
        sums[2] += q * q;
        sums[3] += g * F;
        sums[4] += q * F;
    }

    /** θ_mn from the sums: the 2 × 2 normal equations of F ≈ θ_T g + θ_K q. */
    static double[] thetaFromSums(double[] s) {
        double det = s[0] * s[2] - s[1] * s[1];
        if (!(Math.abs(det) > 0)) throw new IllegalArgumentException("theta_mn is undefined: the basis terms are collinear");
        return new double[]{(s[3] * s[2] - s[1] * s[4]) / det, (s[0] * s[4] - s[1] * s[3]) / det};
    }

    static Map<String, Object> manifest(String preset, Settings s, long seed, double[] thetaMn) {
        Map<String, Object> truth = new LinkedHashMap<>();
        truth.put("fan", "I omega' = T max(L_min, L)^3 (C_max - C_min) - K omega^2 - c omega (torque 0 when L = 0), both fans");
        truth.put("pressure", "P_dw - P_amb = (1 - r(H)) S_max ((omega_in/omega_max)^2 - (omega_out/omega_max)^2),"
                + " r(H) = min(1, 0.75 + 0.15 H/45) (chamber model C3, closed form)");
        truth.put("I", WindTunnelModel.INERTIA);
        truth.put("T", WindTunnelModel.TORQUE);
        truth.put("K", WindTunnelModel.DRAG);
        truth.put("c", WindTunnelModel.FRICTION);
        truth.put("L_min", WindTunnelModel.LOAD_MIN);
        truth.put("C_min", WindTunnelModel.C_MIN);
        truth.put("C_max", WindTunnelModel.C_MAX);
        truth.put("omega_max", WindTunnelModel.OMEGA_MAX);
        truth.put("S_max", WindTunnelModel.S_MAX);
        truth.put("source", "Causal Chambers models A2 and C3 (Gamella, Peters, Buehlmann, Nature Machine Intelligence 2025;"
                + " causalchamber package); the friction c omega is this product's addition");

        Map<String, Object> protocol = new LinkedHashMap<>();
        protocol.put("frames", FRAMES);
        protocol.put("intake_load", "0.01 for 5 samples, 1 for 20, 0.01 for 25");
        protocol.put("exhaust_loads", OdeDataGenerator.toList(EXHAUST_LOADS));
        protocol.put("hatch", "uniform in [0, 45] degrees per sequence");
        protocol.put("sample_dt", SAMPLE_DT);
        protocol.put("jitter", JITTER);
        protocol.put("start", "both fans at the truth's steady speed for their first load");

        Map<String, Object> generator = new LinkedHashMap<>();
        generator.put("n_train", s.nTrain());
        generator.put("n_valid", s.nValid());
        generator.put("n_test", s.nTest());
        generator.put("protocol", protocol);
        generator.put("truth", truth);
        generator.put("rpm_noise", WindTunnelModel.RPM_NOISE);
        generator.put("pressure_noise", WindTunnelModel.PRESSURE_NOISE);
        generator.put("noise_rule", "additive Gaussian on every sample including the first (Box-Muller, cosine branch):"
                + " omega_in, omega_out (rpm_noise rpm in rad/s), pressure (pressure_noise Pa)");
        generator.put("integrator", "classic RK4 in double, equal steps of at most " + DATA_STEP
                + " s between consecutive (float32) time stamps, loads held at the interval's first sample");
        generator.put("data_step", DATA_STEP);
        generator.put("rng", "sequence i (train, valid, test in order) uses java.util.SplittableRandom(s_i), s_i the"
                + " i-th nextLong() of java.util.SplittableRandom(seed)");
        generator.put("draw_order", "per sequence: exhaust load nextInt(3), hatch 45 nextDouble(), 49 jitters nextDouble(),"
                + " then per sample the noise of omega_in, omega_out, pressure");
        generator.put("theta_mn_rule", "least squares of the true fan field on (g(L), -omega^2) over the clean train"
                + " states (every sample, both fans), in double");

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", TASK);
        manifest.put("preset", preset);
        manifest.put("seed", seed);
        manifest.put("generator", generator);
        manifest.put("channel_names", List.of("omega_in", "omega_out", "pressure"));
        manifest.put("input_names", List.of("load_in", "load_out", "hatch"));
        manifest.put("units", "omega rad/s, pressure Pa (downwind minus ambient), loads in [0, 1], hatch degrees, times s");
        manifest.put("layout", "SPLIT_obs and SPLIT_inputs [sequence, sample, channel], SPLIT_times [sequence, sample]");
        manifest.put("theta_names", WindTunnelModel.THETA_NAMES);
        manifest.put("theta_star", OdeDataGenerator.toList(WindTunnelModel.thetaStar()));
        manifest.put("theta_mn", OdeDataGenerator.toList(thetaMn));
        manifest.put("format_version", FORMAT_VERSION);
        return manifest;
    }
}
