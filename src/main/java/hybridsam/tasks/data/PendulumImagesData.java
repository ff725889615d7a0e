package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Data of the {@code pendulum-images} task (tasks.md): the {@code pendulum} dynamics seen through
 * a camera. The state (q, p) follows {@link PendulumData#truth()} exactly, integrated like the
 * pendulum task's data (Dormand-Prince 8(5,3), frame to frame) without noise on the state; each
 * frame is a grey H × W image of the bob:
 * <ul>
 *   <li>a Gaussian spot of peak 1 and σ = {@link #SPOT_SIGMA} px, centred at
 *       x = cx + R sin q, y = cy + R cos q (pixel centres at whole numbers, y downward, so the bob
 *       hangs straight down at q = 0), (cx, cy) = ((W − 1)/2, (H − 1)/2), R = {@link #RADIUS_FRACTION}
 *       · min(H, W) (12 px on 32 × 32 as tasks.md says, scaled to 6 px on the small preset's
 *       16 × 16, where 12 px would leave the image);</li>
 *   <li>the spot is separable: pixel (x, y) gets exp(−(x − bx)²/2σ²) · exp(−(y − by)²/2σ²);</li>
 *   <li>plus Gaussian pixel noise σ = {@link #PIXEL_NOISE} on every pixel, not clipped.</li>
 * </ul>
 * In double, saved as float32 [N, T, H, W].
 *
 * <p>Determinism: one {@code SplittableRandom(seed)} draws, in this order, the initial states of
 * train, valid and test ({@link PendulumData#drawInitialState}, so they are the pendulum task's
 * initial states for the same sizes and seed), then the pixel noise of train, valid and test in
 * (sequence, frame, y, x) order (Box-Muller, {@link OdeDataGenerator#gaussian}). Transcendental
 * functions go through {@link StrictMath}: a seed gives the same bits on every JVM.
 */
public final class PendulumImagesData {

    public static final String TASK = "pendulum-images";
    /** Standard deviation of the bob's Gaussian spot, in pixels. */
    public static final double SPOT_SIGMA = 1.5;
    /** Radius of the bob's circle as a fraction of the image side (12 px on 32 × 32). */
    public static final double RADIUS_FRACTION = 0.375;
    /** Standard deviation of the additive pixel noise. */
    public static final double PIXEL_NOISE = 0.01;
    public static final int FORMAT_VERSION = 1;

    private PendulumImagesData() {
    }

    /**
     * Sizes of a generated data set: square images of side {@code side}, {@code frames} frames
     * {@code frameDt} apart, pixel noise {@code noise}.
     */
    public record Settings(int side, int nTrain, int nValid, int nTest, int frames, double frameDt, double noise) {
        public Settings {
            if (side < 2) throw new IllegalArgumentException("images must be at least 2 x 2");
            if (nTrain < 1 || nValid < 1 || nTest < 1) throw new IllegalArgumentException("every split needs a sequence");
            if (frames < 4) throw new IllegalArgumentException("a sequence needs at least 4 frames (3 for the encoder)");
            if (!(frameDt > 0) || !Double.isFinite(frameDt)) throw new IllegalArgumentException("frameDt must be positive");
            if (!(noise >= 0) || !Double.isFinite(noise)) throw new IllegalArgumentException("noise must be >= 0");
            long most = (long) Math.max(nTrain, Math.max(nValid, nTest)) * frames * side * side;
            if (most > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("a split of " + most + " values is too large");
        }

        /** 32 × 32 images, 1000 / 200 / 500 sequences of 20 frames every 0.2, noise 0.01. */
        public static Settings full() {
            return new Settings(32, 1000, 200, 500, 20, 0.2, PIXEL_NOISE);
        }

        /** 16 × 16 images, 64 / 32 / 32 sequences of 10 frames (tests and CI). */
        public static Settings small() {
            return new Settings(16, 64, 32, 32, 10, 0.2, PIXEL_NOISE);
        }

        public static Settings preset(String name) {
            return switch (name) {
                case "full" -> full();
                case "small" -> small();
                default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected full or small)");
            };
        }

        /** The radius of the bob's circle in pixels. */
        public double radius() {
            return RADIUS_FRACTION * side;
        }
    }

    public static Dataset generate(String preset, long seed) {
        return generate(preset, Settings.preset(preset), seed);
    }

    /** Generates the data set; preset is the name recorded in the manifest. */
    public static Dataset generate(String preset, Settings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        SplittableRandom rng = new SplittableRandom(seed);
        int[] counts = {s.nTrain(), s.nValid(), s.nTest()};
        double[][][] init = new double[3][][];
        for (int i = 0; i < 3; i++) {
            init[i] = new double[counts[i]][];
            for (int n = 0; n < counts[i]; n++) init[i][n] = PendulumData.drawInitialState(rng);
        }
        double[][][][] states = new double[3][][][];
        for (int i = 0; i < 3; i++) {
            states[i] = new double[counts[i]][][];
            for (int n = 0; n < counts[i]; n++) {
                states[i][n] = OdeDataGenerator.integrate(PendulumData.truth(), init[i][n], s.frames(), s.frameDt());
            }
        }
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        int px = s.side() * s.side();
        for (int i = 0; i < 3; i++) {
            float[] images = new float[counts[i] * s.frames() * px];
            double[] frame = new double[px];
            int at = 0;
            for (double[][] sequence : states[i]) {
                for (double[] state : sequence) {
                    render(state[0], s.side(), s.side(), frame);
                    for (double v : frame) images[at++] = (float) (v + s.noise() * OdeDataGenerator.gaussian(rng));
                }
            }
            arrays.put(names[i] + "_images", new NdArray(images, counts[i], s.frames(), s.side(), s.side()));
        }
        double[] thetaMn = PendulumData.thetaMinNorm(states[0]);
        return new Dataset(manifest(preset, s, seed, thetaMn), arrays);
    }

    /**
     * The noiseless image of the bob at angle q into out (row-major, height × width): the
     * separable Gaussian spot of peak 1 at (cx + R sin q, cy + R cos q), R = RADIUS_FRACTION · min(H, W).
     */
    public static void render(double q, int height, int width, double[] out) {
        double r = RADIUS_FRACTION * Math.min(height, width);
        double bx = (width - 1) / 2.0 + r * StrictMath.sin(q);
        double by = (height - 1) / 2.0 + r * StrictMath.cos(q);
        double k = -0.5 / (SPOT_SIGMA * SPOT_SIGMA);
        double[] gx = new double[width];
        for (int x = 0; x < width; x++) gx[x] = StrictMath.exp(k * (x - bx) * (x - bx));
        for (int y = 0; y < height; y++) {
            double gy = StrictMath.exp(k * (y - by) * (y - by));
            for (int x = 0; x < width; x++) out[y * width + x] = gy * gx[x];
        }
    }

    static Map<String, Object> manifest(String preset, Settings s, long seed, double[] thetaMn) {
        OdeDataGenerator.TaskDescription pendulum = PendulumData.description();
        Map<String, Object> camera = new LinkedHashMap<>();
        camera.put("spot", "Gaussian, peak 1, separable: exp(-(x - bx)^2 / 2 sigma^2) * exp(-(y - by)^2 / 2 sigma^2)"
                + " at pixel centres (x, y) = (column, row)");
        camera.put("spot_sigma", SPOT_SIGMA);
        camera.put("radius", s.radius());
        camera.put("radius_rule", RADIUS_FRACTION + " * side (tasks.md: 12 px on 32 x 32; scaled on other sides,"
                + " e.g. 6 px on 16 x 16, where 12 px would leave the image)");
        camera.put("centre", List.of((s.side() - 1) / 2.0, (s.side() - 1) / 2.0));
        camera.put("angle", "bob at x = cx + radius sin q, y = cy + radius cos q, y downward: hanging down at q = 0");
        camera.put("noise", s.noise());
        camera.put("noise_rule", "additive Gaussian on every pixel (Box-Muller, cosine branch), not clipped");

        Map<String, Object> integrator = new LinkedHashMap<>();
        integrator.put("name", OdeDataGenerator.INTEGRATOR_NAME);
        integrator.put("abs_tol", OdeDataGenerator.ABS_TOL);
        integrator.put("rel_tol", OdeDataGenerator.REL_TOL);
        integrator.put("min_step", OdeDataGenerator.MIN_STEP_FRACTION * s.frameDt());
        integrator.put("max_step", s.frameDt());

        Map<String, Object> generator = new LinkedHashMap<>();
        generator.put("n_train", s.nTrain());
        generator.put("n_valid", s.nValid());
        generator.put("n_test", s.nTest());
        generator.put("frames", s.frames());
        generator.put("frame_dt", s.frameDt());
        generator.put("height", s.side());
        generator.put("width", s.side());
        generator.put("truth", pendulum.truthConstants());
        generator.put("initial_state", pendulum.initialStateRule());
        generator.put("state_noise", 0.0);
        generator.put("integrator", integrator);
        generator.put("camera", camera);
        generator.put("rng", "java.util.SplittableRandom(seed)");
        generator.put("draw_order", "initial states of train, valid, test; then the pixel noise of train, valid, test"
                + " (sequence, frame, y, x)");
        generator.put("theta_mn_rule", "pendulum's: least squares of the true field on the scientific model's field"
                + " over the clean train states (all frames)");

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", TASK);
        manifest.put("preset", preset);
        manifest.put("seed", seed);
        manifest.put("generator", generator);
        manifest.put("height", s.side());
        manifest.put("width", s.side());
        manifest.put("layout", "images [sequence, frame, y, x], grey, about [0, 1], row 0 at the top");
        manifest.put("state_names", pendulum.stateNames());
        manifest.put("theta_names", pendulum.thetaNames());
        manifest.put("theta_star", OdeDataGenerator.toList(pendulum.thetaStar()));
        manifest.put("theta_mn", OdeDataGenerator.toList(thetaMn));
        manifest.put("format_version", FORMAT_VERSION);
        return manifest;
    }
}
