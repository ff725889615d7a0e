package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data of the {@code reaction-diffusion} task: the FitzHugh-Nagumo equations on a 2-D grid,
 * <pre>
 *   U_t = a ΔU + U − U³ − V − k,
 *   V_t = b ΔV + U − V,          a = 1.5e-3, b = 5e-3, k = 5e-3,
 * </pre>
 * the setup of APHYNITY (Yin et al., ICLR 2021). The grid has {@code width} columns on x ∈ [−1, 1],
 * so the mesh step is dx = 2 / (width − 1), with square cells ({@code height} rows at the same
 * step: the domain is [−1, 1]² on a square grid). Δ is the five-point Laplacian
 * (u[y−1][x] + u[y+1][x] + u[y][x−1] + u[y][x+1] − 4 u[y][x]) / dx² with Neumann boundaries as
 * edge-replicate: an out-of-grid neighbour takes the value of the edge cell itself.
 *
 * <p>State layout everywhere (arrays, the integrator, {@link #laplacian}, {@link #truthField}):
 * channel-major, one double (or float) per value, value (ch, y, x) at ch·H·W + y·W + x, channel 0
 * = U, channel 1 = V. The saved arrays {@code train_obs}, {@code valid_obs}, {@code test_obs}
 * are float32 of shape [episodes, frames, 2, H, W], the same layout per frame.
 *
 * <p>Simulation: each episode starts from U, V independent and uniform in [0, 1) per cell and is
 * integrated by classic RK4 in double precision at a fixed step ({@code dataStep}, 1e-3 by
 * default) far below the model's (0.1); frames are recorded every {@code frameDt} from t = 0.
 * Optional Gaussian noise (0 by default) is added to every recorded value, frame 0 included.
 *
 * <p>Determinism and seeds: the master {@code SplittableRandom(seed)} gives one {@code nextLong()}
 * per episode, in the order train, valid, test (episode i of all three splits together takes
 * the i-th draw); episode i then uses its own {@code SplittableRandom(s_i)}: first the initial
 * state, 2·H·W draws in state order (all U cells row by row, then all V cells), each
 * {@code (nextInt() >>> 8) · 2⁻²⁴} (24 random bits: uniform on [0, 1) and exactly a float32, so
 * the recorded frame 0 is the very state that was integrated); then, only when noise &gt; 0, the
 * noise of its frames in frame / state order (Box-Muller, {@link OdeDataGenerator#gaussian}).
 * Episodes are simulated in parallel, each from its own stream, with plain arithmetic only (no
 * transcendental functions in the dynamics, no fused multiply-add), so a seed gives the same
 * bits whatever the thread count and on every JVM. The integrator's interior loop uses the
 * Vector API ({@code jdk.incubator.vector}, as the CPU backend does) lane by lane with the
 * scalar loop's operations in the same order, so every vector width gives the scalar bits. θ_mn's sums are kept per episode and added in episode order.
 */
public final class ReactionDiffusionData {

    public static final String TASK = "reaction-diffusion";
    /** Diffusion coefficient of U. */
    public static final double A = 1.5e-3;
    /** Diffusion coefficient of V. */
    public static final double B = 5e-3;
    /** Constant stimulus of U. */
    public static final double K = 5e-3;
    /** True θ = (a, b) of the scientific model (diffusion only). Do not modify: it is a shared constant. */
    public static final double[] THETA_STAR = {A, B};
    public static final List<String> THETA_NAMES = List.of("a", "b");
    public static final List<String> CHANNEL_NAMES = List.of("U", "V");
    /** Version of the saved layout; bump when arrays or manifest keys change meaning. */
    public static final int FORMAT_VERSION = 1;

    static final String INITIAL_STATE_RULE = "U and V independent and uniform in [0, 1) per cell, each value"
            + " (nextInt() >>> 8) * 2^-24 (24 random bits, exactly a float32); draws in state order: U cells"
            + " row by row (y, then x), then V cells";
    static final String LAPLACIAN_RULE = "five-point (u[y-1][x] + u[y+1][x] + u[y][x-1] + u[y][x+1] - 4 u[y][x]) / dx^2,"
            + " summed in that order; Neumann boundaries as edge-replicate (an out-of-grid neighbour takes the"
            + " edge cell's own value)";

    private ReactionDiffusionData() {
    }

    /**
     * Sizes and simulation settings of a generated reaction-diffusion data set.
     *
     * @param height   grid rows (y)
     * @param width    grid columns (x); the mesh step is 2 / (width − 1)
     * @param nTrain   training episodes
     * @param nValid   validation episodes
     * @param nTest    test episodes
     * @param frames   recorded frames per episode, at t = j · frameDt, j = 0 .. frames − 1
     * @param frameDt  time between recorded frames
     * @param dataStep the RK4 step of the simulation; frameDt must be a whole multiple of it
     * @param noise    standard deviation of the Gaussian noise added to every recorded value
     */
    public record Settings(int height, int width, int nTrain, int nValid, int nTest, int frames,
                           double frameDt, double dataStep, double noise) {

        /** Most RK4 steps between two frames. */
        public static final int MAX_STEPS_PER_FRAME = 1_000_000;

        public Settings {
            // Two columns at least: the mesh step 2 / (width - 1) must be finite.
            if (height < 1) throw new IllegalArgumentException("height must be at least 1, got " + height);
            if (width < 2) throw new IllegalArgumentException("width must be at least 2, got " + width);
            requirePositive("nTrain", nTrain);
            requirePositive("nValid", nValid);
            requirePositive("nTest", nTest);
            if (frames < 2) throw new IllegalArgumentException("frames must be at least 2, got " + frames);
            if (!(frameDt > 0) || !Double.isFinite(frameDt)) {
                throw new IllegalArgumentException("frameDt must be positive and finite, got " + frameDt);
            }
            if (!(dataStep > 0) || !Double.isFinite(dataStep)) {
                throw new IllegalArgumentException("dataStep must be positive and finite, got " + dataStep);
            }
            double ratio = frameDt / dataStep;
            if (!(ratio < MAX_STEPS_PER_FRAME + 0.5) || Math.rint(ratio) < 1
                    || Math.abs(ratio - Math.rint(ratio)) > 1e-9 * ratio) {
                throw new IllegalArgumentException("frameDt " + frameDt + " must be a whole multiple (1 to "
                        + MAX_STEPS_PER_FRAME + ") of dataStep " + dataStep);
            }
            if (!(noise >= 0) || !Double.isFinite(noise)) {
                throw new IllegalArgumentException("noise must be non-negative and finite, got " + noise);
            }
            long values = (long) nTrain * frames * 2L * height * width;
            long most = Math.max(values, Math.max((long) nValid, nTest) * frames * 2L * height * width);
            if (most > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a split of " + most + " values is more than one float array holds");
            }
        }

        private static void requirePositive(String field, int value) {
            if (value <= 0) throw new IllegalArgumentException(field + " must be positive, got " + value);
        }

        /** The experiment: 32 × 32 grid, 400 / 300 / 300 episodes, 16 frames every 0.1, RK4 step 1e-3, no noise. */
        public static Settings full() {
            return new Settings(32, 32, 400, 300, 300, 16, 0.1, 1e-3, 0.0);
        }

        /** Tests and CI: 16 × 16 grid, 32 / 16 / 16 episodes, otherwise as {@link #full()}. */
        public static Settings small() {
            return new Settings(16, 16, 32, 16, 16, 16, 0.1, 1e-3, 0.0);
        }

        /** The settings of a named preset ("full" or "small"). */
        public static Settings preset(String name) {
            return switch (name) {
                case "full" -> full();
                case "small" -> small();
                default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected full or small)");
            };
        }

        /** Mesh step: 2 / (width − 1). */
        public double dx() {
            return meshStep(width);
        }

        /** RK4 steps between two recorded frames. */
        public int stepsPerFrame() {
            return (int) Math.rint(frameDt / dataStep);
        }

        /** Episodes over the three splits. */
        public int total() {
            return Math.addExact(Math.addExact(nTrain, nValid), nTest);
        }

        /** Values in one state: 2 · height · width. */
        public int stateSize() {
            return 2 * height * width;
        }
    }

    /** Mesh step of a grid with {@code width} columns on [−1, 1]. */
    public static double meshStep(int width) {
        if (width < 2) throw new IllegalArgumentException("width must be at least 2, got " + width);
        return 2.0 / (width - 1);
    }

    /** Generates a named preset ("full" or "small"). */
    public static Dataset generate(String preset, long seed) {
        return generate(preset, Settings.preset(preset), seed);
    }

    /**
     * Generates the data set: float32 arrays train_obs / valid_obs / test_obs [N, frames, 2, H, W]
     * and the manifest.
     *
     * @param preset the name recorded in the manifest (any non-blank name for custom settings)
     */
    public static Dataset generate(String preset, Settings s, long seed) {
        OdeDataGenerator.requirePreset(preset);
        int n = s.total();
        long[] seeds = episodeSeeds(seed, n);
        int per = s.frames() * s.stateSize();
        float[][] splits = {new float[s.nTrain() * per], new float[s.nValid() * per], new float[s.nTest() * per]};
        double[][] sums = new double[s.nTrain()][];
        IntStream.range(0, n).parallel().forEach(e -> {
            int split = e < s.nTrain() ? 0 : e < s.nTrain() + s.nValid() ? 1 : 2;
            int index = split == 0 ? e : split == 1 ? e - s.nTrain() : e - s.nTrain() - s.nValid();
            double[] thetaSums = split == 0 ? new double[4] : null;
            simulateEpisode(s, seeds[e], splits[split], index * per, thetaSums);
            if (split == 0) sums[index] = thetaSums;
        });
        double[] total = new double[4];
        for (double[] part : sums) {
            for (int i = 0; i < 4; i++) total[i] += part[i];
        }
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        String[] names = {"train_obs", "valid_obs", "test_obs"};
        int[] counts = {s.nTrain(), s.nValid(), s.nTest()};
        for (int i = 0; i < 3; i++) {
            arrays.put(names[i], new NdArray(splits[i], counts[i], s.frames(), 2, s.height(), s.width()));
        }
        return new Dataset(manifest(preset, s, seed, thetaFromSums(total)), arrays);
    }

    /** The per-episode seeds: the first n {@code nextLong()} of {@code SplittableRandom(seed)}, train then valid then test. */
    public static long[] episodeSeeds(long seed, int n) {
        SplittableRandom master = new SplittableRandom(seed);
        long[] seeds = new long[n];
        for (int i = 0; i < n; i++) seeds[i] = master.nextLong();
        return seeds;
    }

    /** Episode's initial state by the documented rule, drawn from {@code SplittableRandom(episodeSeed)}. */
    public static double[] initialState(long episodeSeed, int height, int width) {
        return drawInitialState(new SplittableRandom(episodeSeed), 2 * height * width);
    }

    private static double[] drawInitialState(SplittableRandom rng, int size) {
        double[] y = new double[size];
        for (int i = 0; i < size; i++) y[i] = (rng.nextInt() >>> 8) * 0x1.0p-24;
        return y;
    }

    /**
     * One episode: draws, integrates and records it into {@code out} from {@code offset}
     * (frames × state values, float32); adds the episode's θ_mn sums to {@code thetaSums} when
     * it is not null.
     */
    private static void simulateEpisode(Settings s, long episodeSeed, float[] out, int offset, double[] thetaSums) {
        SplittableRandom rng = new SplittableRandom(episodeSeed);
        int size = s.stateSize();
        Rk4 rk4 = new Rk4(s.height(), s.width(), s.dx(), drawInitialState(rng, size));
        int stepsPerFrame = s.stepsPerFrame();
        double h = s.dataStep();
        double sigma = s.noise();
        for (int f = 0; f < s.frames(); f++) {
            if (f > 0) {
                for (int step = 0; step < stepsPerFrame; step++) rk4.step(h);
            }
            double[] y = rk4.y;
            int at = offset + f * size;
            if (sigma > 0) {
                // Drawn after the initial state in the episode's stream: the noise never moves the clean states.
                for (int i = 0; i < size; i++) out[at + i] = (float) (y[i] + sigma * OdeDataGenerator.gaussian(rng));
            } else {
                for (int i = 0; i < size; i++) out[at + i] = (float) y[i];
            }
            if (thetaSums != null) rk4.addThetaSums(thetaSums);
        }
    }

    /**
     * Integrates one episode by classic RK4 and returns the states at t = j · stepsPerFrame · step,
     * j = 0 .. frames − 1, indexed [frame][state value], in double (the generator's own integrator).
     */
    public static double[][] integrate(double[] y0, int height, int width, int frames, int stepsPerFrame, double step) {
        return integrate(y0, height, width, frames, stepsPerFrame, step, true);
    }

    /** {@link #integrate} with the vector loop on or off (off only to test that both give the same bits). */
    static double[][] integrate(double[] y0, int height, int width, int frames, int stepsPerFrame, double step,
                                boolean vectorized) {
        if (y0.length != 2 * height * width) {
            throw new IllegalArgumentException("state has " + y0.length + " values, a " + height + " x " + width
                    + " grid of 2 channels has " + 2 * height * width);
        }
        if (frames < 1 || stepsPerFrame < 0 || !(step > 0) || !Double.isFinite(step)) {
            throw new IllegalArgumentException("need frames >= 1, stepsPerFrame >= 0 and a positive finite step, got "
                    + frames + ", " + stepsPerFrame + ", " + step);
        }
        Rk4 rk4 = new Rk4(height, width, meshStep(width), y0.clone(), vectorized);
        double[][] out = new double[frames][];
        out[0] = y0.clone();
        for (int f = 1; f < frames; f++) {
            for (int i = 0; i < stepsPerFrame; i++) rk4.step(step);
            out[f] = rk4.y.clone();
        }
        return out;
    }

    /**
     * The edge-replicate five-point Laplacian of one channel u (H × W, row-major) into out
     * (which must not be u).
     */
    public static void laplacian(double[] u, int height, int width, double dx, double[] out) {
        int cells = height * width;
        if (u.length < cells || out.length < cells) {
            throw new IllegalArgumentException("arrays hold " + u.length + " and " + out.length + " values, the grid "
                    + cells);
        }
        if (u == out) throw new IllegalArgumentException("laplacian cannot work in place");
        if (height < 1 || width < 1 || !(dx > 0) || !Double.isFinite(dx)) {
            throw new IllegalArgumentException("need a grid of at least 1 x 1 and a positive finite dx, got "
                    + height + " x " + width + ", dx " + dx);
        }
        double inv = 1.0 / (dx * dx);
        for (int y = 0; y < height; y++) {
            laplacianRow(u, 0, height, width, y, inv, out, y * width);
        }
    }

    /**
     * Row y of the Laplacian of the channel that starts at {@code base} of {@code u}, into
     * {@code out} from {@code outAt}. The interior loop has no branches.
     */
    private static void laplacianRow(double[] u, int base, int height, int width, int y, double inv,
                                     double[] out, int outAt) {
        int row = base + y * width;
        int up = base + (y == 0 ? 0 : y - 1) * width;
        int down = base + (y == height - 1 ? y : y + 1) * width;
        int last = width - 1;
        if (last == 0) { // one column: both side neighbours are the cell itself
            out[outAt] = (u[up] + u[down] + u[row] + u[row] - 4 * u[row]) * inv;
            return;
        }
        // x = 0: the left neighbour is the cell itself.
        out[outAt] = (u[up] + u[down] + u[row] + u[row + 1] - 4 * u[row]) * inv;
        for (int x = 1; x < last; x++) {
            out[outAt + x] = (u[up + x] + u[down + x] + u[row + x - 1] + u[row + x + 1] - 4 * u[row + x]) * inv;
        }
        out[outAt + last] = (u[up + last] + u[down + last] + u[row + last - 1] + u[row + last] - 4 * u[row + last]) * inv;
    }

    /** The true field of a state (channel-major, 2·H·W values) into out (which must not be state). */
    public static void truthField(double[] state, int height, int width, double dx, double[] out) {
        int cells = height * width;
        if (state.length != 2 * cells || out.length != 2 * cells || state == out) {
            throw new IllegalArgumentException("state and out must be distinct arrays of 2 * " + cells + " values");
        }
        if (!(dx > 0) || !Double.isFinite(dx)) throw new IllegalArgumentException("dx must be positive and finite, got " + dx);
        double inv = 1.0 / (dx * dx);
        double[] lapU = new double[width];
        double[] lapV = new double[width];
        for (int y = 0; y < height; y++) {
            laplacianRow(state, 0, height, width, y, inv, lapU, 0);
            laplacianRow(state, cells, height, width, y, inv, lapV, 0);
            for (int x = 0; x < width; x++) {
                int i = y * width + x;
                double u = state[i];
                double v = state[cells + i];
                out[i] = reactionU(A * lapU[x], u, v);
                out[cells + i] = reactionV(B * lapV[x], u, v);
            }
        }
    }

    // The field's two components, written once so the integrator, truthField and θ_mn agree bit for bit.
    private static double reactionU(double diffusion, double u, double v) {
        return diffusion + u - u * u * u - v - K;
    }

    private static double reactionV(double diffusion, double u, double v) {
        return diffusion + u - v;
    }

    /**
     * The simplest-network value over the given clean states: least squares of the true field on
     * the scientific field (a ΔU, b ΔV), channel by channel,
     * a_mn = Σ ΔU · F_U / Σ ΔU², b_mn = Σ ΔV · F_V / Σ ΔV², over every state and cell
     * (sums per episode, then over episodes in order, as the generator does).
     *
     * @param episodes clean states indexed [episode][frame][state value]
     */
    public static double[] thetaMinNorm(double[][][] episodes, int height, int width) {
        int size = 2 * height * width;
        Rk4 r = new Rk4(height, width, meshStep(width), new double[size]);
        double[] total = new double[4];
        for (double[][] episode : episodes) {
            double[] part = new double[4];
            for (double[] state : episode) {
                if (state.length != size) {
                    throw new IllegalArgumentException("a state has " + state.length + " values, a " + height + " x "
                            + width + " grid of 2 channels has " + size);
                }
                System.arraycopy(state, 0, r.y, 0, size);
                r.addThetaSums(part);
            }
            for (int i = 0; i < 4; i++) total[i] += part[i];
        }
        return thetaFromSums(total);
    }

    private static double[] thetaFromSums(double[] sums) {
        if (!(sums[1] > 0) || !(sums[3] > 0)) {
            throw new IllegalArgumentException("theta_mn is undefined: a Laplacian is zero on every state");
        }
        return new double[] {sums[0] / sums[1], sums[2] / sums[3]};
    }

    /**
     * Classic RK4 for the FitzHugh-Nagumo grid with preallocated buffers: no allocation per step.
     * One pass per stage computes the stage's field cell by cell and updates both the running
     * combination y + h/6 k1 + h/3 k2 + h/3 k3 + h/6 k4 (in that order) and the next stage's input.
     */
    private static final class Rk4 {
        static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
        /** False only in tests, to check that the vector loop gives the scalar loop's bits. */
        final boolean vectorized;
        final int height;
        final int width;
        final int cells;
        final double inv;
        final double[] y;
        final double[] acc;
        final double[] s1;
        final double[] s2;
        final double[] lapU;
        final double[] lapV;

        Rk4(int height, int width, double dx, double[] y) {
            this(height, width, dx, y, true);
        }

        Rk4(int height, int width, double dx, double[] y, boolean vectorized) {
            this.vectorized = vectorized;
            this.height = height;
            this.width = width;
            this.cells = height * width;
            this.inv = 1.0 / (dx * dx);
            this.y = y;
            this.acc = new double[2 * cells];
            this.s1 = new double[2 * cells];
            this.s2 = new double[2 * cells];
            this.lapU = new double[width];
            this.lapV = new double[width];
        }

        void step(double h) {
            double h2 = 0.5 * h;
            double h3 = h / 3;
            double h6 = h / 6;
            stage(y, y, h6, s1, h2);      // k1 = f(y):  acc = y + h/6 k1,   s1 = y + h/2 k1
            stage(s1, acc, h3, s2, h2);   // k2 = f(s1): acc += h/3 k2,      s2 = y + h/2 k2
            stage(s2, acc, h3, s1, h);    // k3 = f(s2): acc += h/3 k3,      s1 = y + h k3
            stage(s1, acc, h6, null, 0);  // k4 = f(s1): y = acc + h/6 k4
        }

        /**
         * k = f(in); target = accBase + wAcc k (into acc, or into y on the last stage, when next
         * is null); next = y + cNext k. Edge columns go through {@link #laplacianRow}'s rule; the
         * interior columns inline the same expression (same operations in the same order, so the
         * same bits), in vectors of {@link #SPECIES} and then scalar for the rest of the row.
         */
        private void stage(double[] in, double[] accBase, double wAcc, double[] next, double cNext) {
            double[] target = next == null ? y : acc;
            int last = width - 1;
            int lanes = SPECIES.length();
            for (int row = 0; row < height; row++) {
                int r = row * width;
                int up = (row == 0 ? 0 : row - 1) * width;
                int down = (row == height - 1 ? row : row + 1) * width;
                edge(in, target, accBase, wAcc, next, cNext, row, 0);
                int x = 1;
                if (vectorized) {
                    for (int end = 1 + SPECIES.loopBound(last - 1); x < end; x += lanes) {
                        int iu = r + x;
                        int iv = cells + iu;
                        DoubleVector u = DoubleVector.fromArray(SPECIES, in, iu);
                        DoubleVector v = DoubleVector.fromArray(SPECIES, in, iv);
                        DoubleVector lu = DoubleVector.fromArray(SPECIES, in, up + x)
                                .add(DoubleVector.fromArray(SPECIES, in, down + x))
                                .add(DoubleVector.fromArray(SPECIES, in, iu - 1))
                                .add(DoubleVector.fromArray(SPECIES, in, iu + 1))
                                .sub(u.mul(4.0)).mul(inv);
                        DoubleVector lv = DoubleVector.fromArray(SPECIES, in, cells + up + x)
                                .add(DoubleVector.fromArray(SPECIES, in, cells + down + x))
                                .add(DoubleVector.fromArray(SPECIES, in, iv - 1))
                                .add(DoubleVector.fromArray(SPECIES, in, iv + 1))
                                .sub(v.mul(4.0)).mul(inv);
                        // reactionU and reactionV, operation for operation
                        DoubleVector ku = lu.mul(A).add(u).sub(u.mul(u).mul(u)).sub(v).sub(K);
                        DoubleVector kv = lv.mul(B).add(u).sub(v);
                        DoubleVector.fromArray(SPECIES, accBase, iu).add(ku.mul(wAcc)).intoArray(target, iu);
                        DoubleVector.fromArray(SPECIES, accBase, iv).add(kv.mul(wAcc)).intoArray(target, iv);
                        if (next != null) {
                            DoubleVector.fromArray(SPECIES, y, iu).add(ku.mul(cNext)).intoArray(next, iu);
                            DoubleVector.fromArray(SPECIES, y, iv).add(kv.mul(cNext)).intoArray(next, iv);
                        }
                    }
                }
                if (next != null) {
                    for (; x < last; x++) {
                        int iu = r + x;
                        int iv = cells + iu;
                        double u = in[iu];
                        double v = in[iv];
                        double lu = (in[up + x] + in[down + x] + in[iu - 1] + in[iu + 1] - 4 * u) * inv;
                        double lv = (in[cells + up + x] + in[cells + down + x] + in[iv - 1] + in[iv + 1] - 4 * v) * inv;
                        double ku = reactionU(A * lu, u, v);
                        double kv = reactionV(B * lv, u, v);
                        target[iu] = accBase[iu] + wAcc * ku;
                        target[iv] = accBase[iv] + wAcc * kv;
                        next[iu] = y[iu] + cNext * ku;
                        next[iv] = y[iv] + cNext * kv;
                    }
                } else {
                    for (; x < last; x++) {
                        int iu = r + x;
                        int iv = cells + iu;
                        double u = in[iu];
                        double v = in[iv];
                        double lu = (in[up + x] + in[down + x] + in[iu - 1] + in[iu + 1] - 4 * u) * inv;
                        double lv = (in[cells + up + x] + in[cells + down + x] + in[iv - 1] + in[iv + 1] - 4 * v) * inv;
                        target[iu] = accBase[iu] + wAcc * reactionU(A * lu, u, v);
                        target[iv] = accBase[iv] + wAcc * reactionV(B * lv, u, v);
                    }
                }
                edge(in, target, accBase, wAcc, next, cNext, row, last);
            }
        }

        /** The stage update of one edge cell (row, x), its Laplacian by {@link #laplacianRow}'s rule. */
        private void edge(double[] in, double[] target, double[] accBase, double wAcc, double[] next, double cNext,
                          int row, int x) {
            int r = row * width;
            int up = (row == 0 ? 0 : row - 1) * width;
            int down = (row == height - 1 ? row : row + 1) * width;
            int left = x == 0 ? 0 : x - 1;
            int right = x == width - 1 ? x : x + 1;
            int iu = r + x;
            int iv = cells + iu;
            double u = in[iu];
            double v = in[iv];
            double lu = (in[up + x] + in[down + x] + in[r + left] + in[r + right] - 4 * u) * inv;
            double lv = (in[cells + up + x] + in[cells + down + x] + in[cells + r + left] + in[cells + r + right] - 4 * v) * inv;
            double ku = reactionU(A * lu, u, v);
            double kv = reactionV(B * lv, u, v);
            target[iu] = accBase[iu] + wAcc * ku;
            target[iv] = accBase[iv] + wAcc * kv;
            if (next != null) {
                next[iu] = y[iu] + cNext * ku;
                next[iv] = y[iv] + cNext * kv;
            }
        }

        /** Adds Σ ΔU F_U, Σ ΔU², Σ ΔV F_V, Σ ΔV² over the current state's cells to sums. */
        void addThetaSums(double[] sums) {
            for (int row = 0; row < height; row++) {
                laplacianRow(y, 0, height, width, row, inv, lapU, 0);
                laplacianRow(y, cells, height, width, row, inv, lapV, 0);
                int r = row * width;
                for (int x = 0; x < width; x++) {
                    double u = y[r + x];
                    double v = y[cells + r + x];
                    double lu = lapU[x];
                    double lv = lapV[x];
                    sums[0] += lu * reactionU(A * lu, u, v);
                    sums[1] += lu * lu;
                    sums[2] += lv * reactionV(B * lv, u, v);
                    sums[3] += lv * lv;
                }
            }
        }
    }

    static Map<String, Object> manifest(String preset, Settings s, long seed, double[] thetaMn) {
        Map<String, Object> truth = new LinkedHashMap<>();
        truth.put("equations", "U_t = a Lap U + U - U^3 - V - k, V_t = b Lap V + U - V");
        truth.put("a", A);
        truth.put("b", B);
        truth.put("k", K);

        Map<String, Object> integrator = new LinkedHashMap<>();
        integrator.put("name", "classic RK4, fixed step, double precision");
        integrator.put("step", s.dataStep());
        integrator.put("steps_per_frame", s.stepsPerFrame());

        Map<String, Object> generator = new LinkedHashMap<>();
        generator.put("n_train", s.nTrain());
        generator.put("n_valid", s.nValid());
        generator.put("n_test", s.nTest());
        generator.put("height", s.height());
        generator.put("width", s.width());
        generator.put("frames", s.frames());
        generator.put("frame_dt", s.frameDt());
        generator.put("data_step", s.dataStep());
        generator.put("noise", s.noise());
        generator.put("noise_rule", "additive Gaussian, same sigma on every recorded value including frame 0"
                + " (Box-Muller, cosine branch); none drawn when noise is 0");
        generator.put("truth", truth);
        generator.put("domain", "x in [-1, 1] over width cells, square cells (y spans (height - 1) dx)");
        generator.put("dx", s.dx());
        generator.put("laplacian", LAPLACIAN_RULE);
        generator.put("initial_state", INITIAL_STATE_RULE);
        generator.put("integrator", integrator);
        generator.put("rng", "episode i (train, valid, test in order) uses java.util.SplittableRandom(s_i), s_i the"
                + " i-th nextLong() of java.util.SplittableRandom(seed)");
        generator.put("draw_order", "per episode: initial state (U cells, then V cells, row-major); then, when noise > 0,"
                + " its noise (frame, channel, y, x)");
        generator.put("theta_mn_rule", "least squares of the true field on the diffusion field (a Lap U, b Lap V), per"
                + " channel, over the clean train states (all frames, all cells), in double");

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", TASK);
        manifest.put("preset", preset);
        manifest.put("seed", seed);
        manifest.put("generator", generator);
        manifest.put("height", s.height());
        manifest.put("width", s.width());
        manifest.put("channel_names", CHANNEL_NAMES);
        manifest.put("layout", "[episode, frame, channel, y, x]; a frame flattens channel-major to 2 * height * width values");
        manifest.put("theta_names", THETA_NAMES);
        manifest.put("theta_star", OdeDataGenerator.toList(THETA_STAR));
        manifest.put("theta_mn", OdeDataGenerator.toList(thetaMn));
        manifest.put("format_version", FORMAT_VERSION);
        return manifest;
    }
}
