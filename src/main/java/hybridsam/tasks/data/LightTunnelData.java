package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.LightTunnelModel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data of the {@code light-tunnel} task: camera images of the light tunnel's hexagon, simulated
 * as model F2 ({@link LightTunnelModel}) at the true sensor matrix S* plus effects F2 lacks
 * (tasks.md, "light-tunnel"):
 * <ol>
 *   <li>a polariser leakage floor, in the form of the Causal Chambers' model F3 (causalchamber
 *       package, {@code model_f3}: malus factor (Tp − Tc) cos² + Tc) with Tp = 1 and per-channel
 *       Tc = {@link #TC}: the colour is
 *       k_c = clip(exposure · w_c · (S* rgb)_c / 255 · (Tc_c + (1 − Tc_c) · cos²(θ1 − θ2)), 0, 1);</li>
 *   <li>radial vignetting: pixel value k_c · mask · (1 − {@link #VIGNETTING} · (d / d_corner)²), d the
 *       distance of the pixel centre from the image centre and d_corner that of a corner, both in
 *       fractions of the side (d_corner² = 0.5);</li>
 *   <li>a Gaussian blur of σ = {@link #BLUR_SIGMA} px, separable, the kernel truncated at
 *       {@link #BLUR_RADIUS} px and normalized to sum 1, edges replicated; rows first, then columns;</li>
 *   <li>Gaussian noise of σ = {@link #NOISE} on every value, then a clip to [0, 1].</li>
 * </ol>
 * All in double; the arrays hold float32.
 *
 * <p>Inputs: R, G, B independent uniform integers 0 .. 255; θ1, θ2 independent uniform on
 * [−180, 180) degrees in steps of 2⁻¹⁶ (exact float32 values), so the saved inputs are exactly
 * what the truth was computed from.
 *
 * <p>Determinism: the master {@code SplittableRandom(seed)} gives one {@code nextLong()} per sample
 * in the order train, valid, test; sample i uses its own {@code SplittableRandom(s_i)}: R, G, B
 * ({@code nextInt(256)} each), θ1, θ2 ({@code −180 + nextInt(360·2¹⁶) · 2⁻¹⁶} each), then 3·H·W
 * noise values in (channel, row, column) order (Box-Muller, {@link OdeDataGenerator#gaussian}).
 * Samples are simulated in parallel, each from its own stream, and θ_mn's sums are kept per sample
 * and added in sample order, so a seed gives the same bits whatever the thread count.
 *
 * <p>Saved arrays: {@code train_inputs} [N, 5] (R, G, B, pol_1, pol_2) and {@code train_images}
 * [N, 3, H, W] (channel-major, values in [0, 1]), the same for valid_ and test_.
 */
public final class LightTunnelData {

    public static final String TASK = "light-tunnel";
    /** Polariser leakage per channel (fraction of the colour without Malus's factor that crossed polarisers pass). */
    public static final double[] TC = {0.02, 0.08, 0.18};
    /** Vignetting strength: the factor at a corner is 1 − VIGNETTING. */
    public static final double VIGNETTING = 0.3;
    /** Gaussian blur σ in pixels. */
    public static final double BLUR_SIGMA = 1.0;
    /** Blur kernel half-width in pixels (3 σ). */
    public static final int BLUR_RADIUS = 3;
    /** Standard deviation of the additive pixel noise. */
    public static final double NOISE = 0.02;
    /** Angles are multiples of 2^-16 degrees. */
    static final int ANGLE_STEPS = 360 << 16;
    public static final int FORMAT_VERSION = 1;

    private LightTunnelData() {
    }

    /** Sizes of a generated data set. */
    public record Settings(int height, int width, int nTrain, int nValid, int nTest) {
        public Settings {
            if (height < 1 || width < 1) throw new IllegalArgumentException("images must be at least 1 x 1");
            if (nTrain < 1 || nValid < 1 || nTest < 1) throw new IllegalArgumentException("every split needs a sample");
            long most = (long) Math.max(nTrain, Math.max(nValid, nTest)) * 3 * height * width;
            if (most > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("a split of " + most + " values is too large");
        }

        /** 64 × 64 images, 4000 / 1000 / 1000. */
        public static Settings full() {
            return new Settings(64, 64, 4000, 1000, 1000);
        }

        /** 16 × 16 images, 256 / 64 / 64 (tests and CI). */
        public static Settings small() {
            return new Settings(16, 16, 256, 64, 64);
        }

        public static Settings preset(String name) {
            return switch (name) {
                case "full" -> full();
                case "small" -> small();
                default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected full or small)");
            };
        }

        public int total() {
            return nTrain + nValid + nTest;
        }
    }

    public static Dataset generate(String preset, long seed) {
        return generate(preset, Settings.preset(preset), seed);
    }

    /** Generates the data set; preset is the name recorded in the manifest. */
    public static Dataset generate(String preset, Settings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        int n = s.total();
        long[] seeds = ReactionDiffusionData.episodeSeeds(seed, n);
        int size = 3 * s.height() * s.width();
        int[] counts = {s.nTrain(), s.nValid(), s.nTest()};
        float[][] inputs = new float[3][], images = new float[3][];
        for (int i = 0; i < 3; i++) {
            inputs[i] = new float[counts[i] * LightTunnelModel.INPUTS];
            images[i] = new float[counts[i] * size];
        }
        float[] mask = LightTunnelModel.hexagonMask(s.height(), s.width());
        double[][] sums = new double[s.nTrain()][];
        IntStream.range(0, n).parallel().forEach(e -> {
            int split = e < s.nTrain() ? 0 : e < s.nTrain() + s.nValid() ? 1 : 2;
            int index = split == 0 ? e : split == 1 ? e - s.nTrain() : e - s.nTrain() - s.nValid();
            double[] thetaSums = split == 0 ? new double[THETA_SUMS] : null;
            simulate(s.height(), s.width(), mask, seeds[e], inputs[split], index * LightTunnelModel.INPUTS,
                    images[split], index * size, thetaSums);
            if (split == 0) sums[index] = thetaSums;
        });
        double[] total = new double[THETA_SUMS];
        for (double[] part : sums) for (int i = 0; i < THETA_SUMS; i++) total[i] += part[i];
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        for (int i = 0; i < 3; i++) {
            arrays.put(names[i] + "_inputs", new NdArray(inputs[i], counts[i], LightTunnelModel.INPUTS));
            arrays.put(names[i] + "_images", new NdArray(images[i], counts[i], 3, s.height(), s.width()));
        }
        return new Dataset(manifest(preset, s, seed, thetaFromSums(total)), arrays);
    }

    /** Draws one sample's inputs into in[inOff .. inOff + 5) by the documented rule. */
    static void drawInputs(SplittableRandom rng, float[] in, int inOff) {
        for (int k = 0; k < 3; k++) in[inOff + k] = rng.nextInt(256);
        for (int k = 3; k < 5; k++) in[inOff + k] = (float) (-180.0 + rng.nextInt(ANGLE_STEPS) * 0x1.0p-16);
    }

    /**
     * The noise-free true image of one sample (before the noise and the final clip), channel-major
     * [3][H][W] in double: leakage floor, vignetting, blur.
     */
    public static double[] cleanImage(int height, int width, float[] mask, float[] in, int inOff) {
        double m = LightTunnelModel.malus(in[inOff + 3], in[inOff + 4]);
        int cells = height * width;
        double[] img = new double[3 * cells];
        for (int c = 0; c < 3; c++) {
            double k = LightTunnelModel.clip(colourWithoutMalus(in, inOff, c) * (TC[c] + (1 - TC[c]) * m));
            for (int y = 0; y < height; y++) {
                double dy = 1.0 - (y + 0.5) / height - 0.5;
                for (int x = 0; x < width; x++) {
                    int p = y * width + x;
                    if (mask[p] == 0f) continue;
                    double dx = (x + 0.5) / width - 0.5;
                    double d2 = (dx * dx + dy * dy) / 0.5;
                    img[c * cells + p] = k * (1 - VIGNETTING * d2);
                }
            }
        }
        blur(img, height, width);
        return img;
    }

    /** exposure · w_c · (S* rgb)_c / 255: channel c's colour at S* without Malus's factor. */
    static double colourWithoutMalus(float[] in, int inOff, int c) {
        double[] s = LightTunnelModel.S_STAR;
        double dot = s[3 * c] * in[inOff] + s[3 * c + 1] * in[inOff + 1] + s[3 * c + 2] * in[inOff + 2];
        return LightTunnelModel.EXPOSURE * LightTunnelModel.W[c] * dot / 255.0;
    }

    /** The normalized Gaussian kernel, taps −BLUR_RADIUS .. BLUR_RADIUS. */
    static double[] blurKernel() {
        double[] k = new double[2 * BLUR_RADIUS + 1];
        double sum = 0;
        for (int i = -BLUR_RADIUS; i <= BLUR_RADIUS; i++) {
            k[i + BLUR_RADIUS] = Math.exp(-0.5 * i * i / (BLUR_SIGMA * BLUR_SIGMA));
            sum += k[i + BLUR_RADIUS];
        }
        for (int i = 0; i < k.length; i++) k[i] /= sum;
        return k;
    }

    /** In-place separable blur of a [3][H][W] image: rows, then columns, edges replicated, taps summed left to right. */
    static void blur(double[] img, int height, int width) {
        double[] k = blurKernel();
        int cells = height * width;
        double[] tmp = new double[cells];
        for (int c = 0; c < 3; c++) {
            int base = c * cells;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    double v = 0;
                    for (int t = -BLUR_RADIUS; t <= BLUR_RADIUS; t++) {
                        int xx = Math.min(Math.max(x + t, 0), width - 1);
                        v += k[t + BLUR_RADIUS] * img[base + y * width + xx];
                    }
                    tmp[y * width + x] = v;
                }
            }
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    double v = 0;
                    for (int t = -BLUR_RADIUS; t <= BLUR_RADIUS; t++) {
                        int yy = Math.min(Math.max(y + t, 0), height - 1);
                        v += k[t + BLUR_RADIUS] * tmp[yy * width + x];
                    }
                    img[base + y * width + x] = v;
                }
            }
        }
    }

    /** Per channel: the 6 entries of Σ f fᵀ (upper triangle) and 3 of Σ f y: 27 sums. */
    static final int THETA_SUMS = 27;

    private static void simulate(int height, int width, float[] mask, long sampleSeed, float[] inputs, int inOff,
                                 float[] images, int imgOff, double[] thetaSums) {
        SplittableRandom rng = new SplittableRandom(sampleSeed);
        drawInputs(rng, inputs, inOff);
        double[] clean = cleanImage(height, width, mask, inputs, inOff);
        for (int d = 0; d < clean.length; d++) {
            images[imgOff + d] = (float) LightTunnelModel.clip(clean[d] + NOISE * OdeDataGenerator.gaussian(rng));
        }
        if (thetaSums != null) addThetaSums(height, width, mask, inputs, inOff, clean, thetaSums);
    }

    /**
     * θ_mn's sums of one sample. F2 without its clip is linear in S: on an inside pixel, channel c
     * is Σ_j S_cj f_cj with f_cj = exposure · w_c · m · rgb_j / 255. Over the inside pixels where
     * neither F2 at S* (a_c) nor the true colour is clipped (both pre-clip values in (0, 1)), the
     * sums Σ f fᵀ and Σ f y (y the clean true image) of each channel's least-squares problem.
     */
    static void addThetaSums(int height, int width, float[] mask, float[] in, int inOff, double[] clean, double[] sums) {
        double m = LightTunnelModel.malus(in[inOff + 3], in[inOff + 4]);
        int cells = height * width;
        double[] aStar = new double[3];
        LightTunnelModel.preClip(LightTunnelModel.S_STAR, 0, in, inOff, aStar);
        for (int c = 0; c < 3; c++) {
            double truth = colourWithoutMalus(in, inOff, c) * (TC[c] + (1 - TC[c]) * m);
            if (!(aStar[c] > 0 && aStar[c] < 1) || !(truth < 1)) continue;
            double[] f = new double[3];
            for (int j = 0; j < 3; j++) f[j] = LightTunnelModel.EXPOSURE * LightTunnelModel.W[c] * m * in[inOff + j] / 255.0;
            double count = 0, ySum = 0;
            for (int p = 0; p < cells; p++) {
                if (mask[p] == 0f) continue;
                count++;
                ySum += clean[c * cells + p];
            }
            int b = 9 * c;
            sums[b] += count * f[0] * f[0];
            sums[b + 1] += count * f[0] * f[1];
            sums[b + 2] += count * f[0] * f[2];
            sums[b + 3] += count * f[1] * f[1];
            sums[b + 4] += count * f[1] * f[2];
            sums[b + 5] += count * f[2] * f[2];
            for (int j = 0; j < 3; j++) sums[b + 6 + j] += f[j] * ySum;
        }
    }

    /** Solves each channel's 3 × 3 normal equations (Cramer's rule): θ_mn row-major. */
    static double[] thetaFromSums(double[] sums) {
        double[] theta = new double[9];
        for (int c = 0; c < 3; c++) {
            int b = 9 * c;
            double[][] a = {
                    {sums[b], sums[b + 1], sums[b + 2]},
                    {sums[b + 1], sums[b + 3], sums[b + 4]},
                    {sums[b + 2], sums[b + 4], sums[b + 5]}};
            double[] r = {sums[b + 6], sums[b + 7], sums[b + 8]};
            double det = det3(a);
            if (!(Math.abs(det) > 0)) throw new IllegalArgumentException("theta_mn is undefined for channel " + c);
            for (int j = 0; j < 3; j++) {
                double[][] aj = {a[0].clone(), a[1].clone(), a[2].clone()};
                for (int i = 0; i < 3; i++) aj[i][j] = r[i];
                theta[3 * c + j] = det3(aj) / det;
            }
        }
        return theta;
    }

    private static double det3(double[][] a) {
        return a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
                - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    }

    static Map<String, Object> manifest(String preset, Settings s, long seed, double[] thetaMn) {
        Map<String, Object> truth = new LinkedHashMap<>();
        truth.put("model", "F2 at S* plus polariser leakage (F3 form, Tp = 1), vignetting, Gaussian blur, noise");
        truth.put("s_star", OdeDataGenerator.toList(LightTunnelModel.S_STAR));
        truth.put("w", OdeDataGenerator.toList(LightTunnelModel.W));
        truth.put("exposure", LightTunnelModel.EXPOSURE);
        truth.put("hexagon", "regular, circumradius " + LightTunnelModel.RADIUS + " of the side, centre ("
                + LightTunnelModel.CENTER + ", " + LightTunnelModel.CENTER + "), vertices at k pi/3, y up, row 0 at the top,"
                + " pixel centres, inside when all six edge cross products share a sign (strictly)");
        truth.put("colour", "clip(exposure * w_c * (S* (R,G,B))_c / 255 * (Tc_c + (1 - Tc_c) cos^2(pol_1 - pol_2)), 0, 1)");
        truth.put("tc", OdeDataGenerator.toList(TC));
        truth.put("vignetting", "pixel value times 1 - " + VIGNETTING + " (d / d_corner)^2, d from the image centre in"
                + " fractions of the side, d_corner^2 = 0.5");
        truth.put("vignetting_strength", VIGNETTING);
        truth.put("blur", "separable Gaussian, rows then columns, kernel truncated at +-" + BLUR_RADIUS
                + " px and normalized, edges replicated");
        truth.put("blur_sigma", BLUR_SIGMA);
        truth.put("noise", NOISE);
        truth.put("noise_rule", "additive Gaussian on every value (Box-Muller, cosine branch), then clip to [0, 1]");

        Map<String, Object> generator = new LinkedHashMap<>();
        generator.put("n_train", s.nTrain());
        generator.put("n_valid", s.nValid());
        generator.put("n_test", s.nTest());
        generator.put("height", s.height());
        generator.put("width", s.width());
        generator.put("truth", truth);
        generator.put("inputs", "R, G, B uniform integers 0..255; pol_1, pol_2 uniform on [-180, 180) degrees in steps of 2^-16");
        generator.put("rng", "sample i (train, valid, test in order) uses java.util.SplittableRandom(s_i), s_i the"
                + " i-th nextLong() of java.util.SplittableRandom(seed)");
        generator.put("draw_order", "per sample: R, G, B (nextInt(256)), pol_1, pol_2 (-180 + nextInt(360 * 2^16) * 2^-16),"
                + " then the noise (channel, y, x)");
        generator.put("theta_mn_rule", "per channel c, least squares of the clean true image (no noise) on F2's unclipped"
                + " linear-in-S form sum_j S_cj exposure w_c cos^2 rgb_j / 255, over the inside pixels of the train samples"
                + " where neither F2 at S* nor the true colour is clipped, in double");

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", TASK);
        manifest.put("preset", preset);
        manifest.put("seed", seed);
        manifest.put("generator", generator);
        manifest.put("height", s.height());
        manifest.put("width", s.width());
        manifest.put("layout", "inputs [sample, 5] = R, G, B (0..255), pol_1, pol_2 (degrees); images [sample, channel, y, x]"
                + " with channels R, G, B in [0, 1]");
        manifest.put("input_names", List.of("red", "green", "blue", "pol_1", "pol_2"));
        manifest.put("w", OdeDataGenerator.toList(LightTunnelModel.W));
        manifest.put("exposure", LightTunnelModel.EXPOSURE);
        manifest.put("theta_names", LightTunnelModel.THETA_NAMES);
        manifest.put("theta_star", OdeDataGenerator.toList(LightTunnelModel.S_STAR));
        manifest.put("theta_mn", OdeDataGenerator.toList(thetaMn));
        manifest.put("format_version", FORMAT_VERSION);
        return manifest;
    }
}
