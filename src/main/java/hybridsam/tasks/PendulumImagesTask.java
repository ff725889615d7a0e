package hybridsam.tasks;

import hybridsam.cpu.CpuBackend;
import hybridsam.cpu.CpuNestedBackend;
import hybridsam.io.AtomicFiles;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.GreyPng;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.ImageSequences;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.data.PendulumData;
import hybridsam.tasks.data.PendulumImagesData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The damped pendulum seen through a camera (tasks.md, "pendulum-images"): a nested hybrid
 * ({@link NestedHybrid}) whose encoder maps the first 3 frames to (q0, p0), whose ODE is the
 * {@code pendulum} task's hybrid (science p' = −θ sin q with θ = ω0², plus its MLP corrector,
 * integrated with RK4 at --rk4-step) and whose decoder renders each state back to an image.
 * Data: {@link PendulumImagesData}, or a user's own image sequences [N, T, H, W] with a manifest
 * that gives frame_dt.
 */
public final class PendulumImagesTask implements ComposedTask {
    public static final PendulumImagesTask INSTANCE = new PendulumImagesTask();

    /** Most pixels per frame this release handles (128 × 128): the encoder alone has 3 · H · W · 128 weights. */
    public static final long MAX_PIXELS = 128 * 128;
    /** Test sequences drawn in a replica's predictions figure. */
    public static final int FIGURE_SEQUENCES = 4;
    /** About how many pixels wide a frame is drawn in the figure (whole-number nearest-neighbour upscaling). */
    static final int FIGURE_FRAME_PX = 64;
    /** Separator widths in the figure (pixels) between frames and rows, and between sequences. */
    static final int FIGURE_GAP = 2, FIGURE_BLOCK_GAP = 6;
    /** Grey level of the separators. */
    static final float FIGURE_SEPARATOR = 0.5f;

    private final PendulumModel science = new PendulumModel();

    private PendulumImagesTask() {
    }

    @Override
    public String name() {
        return PendulumImagesData.TASK;
    }

    @Override
    public String summary() {
        return "damped pendulum seen as images; encoder (3 frames -> q0, p0), science q'=p, p'=-theta sin q"
                + " (theta = omega0^2) + MLP corrector, decoder (state -> image); the networks supply friction and the camera";
    }

    @Override
    public ThetaSpec theta() {
        return science.theta();
    }

    @Override
    public double[] thetaStar() {
        return PendulumData.THETA_STAR.clone();
    }

    /**
     * Measured on the small preset (README, "Results", pendulum-images): batch 16, 300 epochs
     * (1200 steps; a single fsam run under a minute on 2 cores), Adam 3e-2 for θ and 1e-2 for the
     * networks (at the pendulum's 1e-2 / 1e-3 the decoder still drew blurred arcs after 150 epochs,
     * θ error 1.9; ten times the network rate draws the bob), clip 5, the pendulum's ρ; hidden = the
     * ODE corrector's widths (2-64-64-2, tanh; the encoder and decoder have
     * {@link NestedHybrid#CODEC_WIDTH} units; relu left most seeds stuck at a black image), RK4 step 0.1.
     */
    @Override
    public TaskDefaults defaults() {
        return new TaskDefaults(300, 16, 3e-2, 1e-2, 5.0, 0.1, 1.0, 0.05, 1e-3,
                new int[] {64, 64}, Activation.TANH, 0.1);
    }

    @Override
    public Dataset generate(String preset, long seed) {
        return PendulumImagesData.generate(preset, seed);
    }

    @Override
    public Splits splits(Dataset data, Path dir) {
        String manifest = where(dir, null);
        double frameDt = Tasks.frameDt(data.manifest(), manifest);
        if (!(frameDt > 0) || !Double.isFinite(frameDt)) {
            throw new DataException(manifest + ": frame_dt " + frameDt + " should be a positive finite number");
        }
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        ImageSequences[] out = new ImageSequences[3];
        String first = null;
        for (int i = 0; i < 3; i++) {
            String name = names[i] + "_images", file = where(dir, name);
            NdArray a = data.arrays().get(name);
            if (a == null) {
                throw new DataException(file + ": missing; pendulum-images data need train_images, valid_images and"
                        + " test_images, each [sequences, frames, height, width]");
            }
            int[] s = a.shape();
            if (s.length != 4 || s[0] < 1 || s[2] < 1 || s[3] < 1) {
                throw new DataException(file + ": shape " + Arrays.toString(s) + ", expected [sequences >= 1, frames,"
                        + " height, width] (grey image sequences)");
            }
            if (s[1] < NestedHybrid.ENCODER_FRAMES + 1) {
                throw new DataException(file + ": " + s[1] + " frames per sequence; the encoder reads the first "
                        + NestedHybrid.ENCODER_FRAMES + ", so a sequence needs at least " + (NestedHybrid.ENCODER_FRAMES + 1));
            }
            if ((long) s[2] * s[3] > MAX_PIXELS) {
                throw new DataException(file + ": " + s[2] + " x " + s[3] + " images are larger than the " + MAX_PIXELS
                        + " pixels (128 x 128) this release handles");
            }
            if (i == 0) {
                first = file;
            } else if (s[2] != out[0].height() || s[3] != out[0].width()) {
                throw new DataException(file + ": images are " + s[2] + " x " + s[3] + ", those of " + first + " are "
                        + out[0].height() + " x " + out[0].width());
            }
            DatasetStore.checkFinite(file, a);
            out[i] = new ImageSequences(a.data(), s[0], s[1], s[2], s[3], frameDt);
            shapes.put(name, Arrays.stream(s).mapToObj(d -> (long) d).toList());
        }
        return new Splits(out[0], out[1], out[2], shapes);
    }

    private static String where(Path dir, String array) {
        String file = array == null ? DatasetStore.MANIFEST : array + ".npy";
        return (dir == null ? Path.of(file) : dir.resolve(file)).toString();
    }

    @Override
    public Hybrid model(Splits data, int[] hidden, Activation activation) {
        return model(data, hidden, activation, defaults().rk4Step());
    }

    @Override
    public boolean usesRk4Step() {
        return true;
    }

    /** The nested hybrid around the pendulum's ODE hybrid (MLP corrector 2-hidden-2), sized by the training images. */
    @Override
    public Hybrid model(Splits data, int[] hidden, Activation activation, double rk4Step) {
        ImageSequences train = (ImageSequences) data.train();
        int steps = Tasks.stepsPerFrame(train.frameDt(), rk4Step, DatasetStore.MANIFEST + " (frame_dt)");
        OdeHybrid ode = new OdeHybrid(science, corrector(science, hidden, activation), rk4Step, steps);
        return NestedHybrid.mlp(ode, train.height(), train.width(), activation);
    }

    @Override
    public CpuBackend cpu(Hybrid model, int threads) {
        return new CpuNestedBackend((NestedHybrid) model, threads);
    }

    /** predictions.png for a single replica, predictions-replica-R.png for each of several. */
    @Override
    public List<String> figureFiles(int replicas) {
        if (replicas == 1) return List.of("predictions.png");
        List<String> names = new ArrayList<>();
        for (int r = 0; r < replicas; r++) names.add("predictions-replica-" + r + ".png");
        return names;
    }

    /**
     * One PNG per replica ({@link #figureFiles}) of the first {@link #FIGURE_SEQUENCES} test
     * sequences: per sequence three rows (the true frames, the hybrid's prediction, the
     * prediction without the ODE's corrector), one column per frame; see {@link #figure}.
     * A file already there is replaced only by a redraw and only when hybridsam wrote it (its
     * mark); otherwise it is refused (an {@link UncheckedIOException} naming the file).
     */
    @Override
    public List<Path> writeFigures(Hybrid model, CpuBackend cpu, float[] params, int replicas, Splits data, Path dir,
                                   boolean redraw) {
        NestedHybrid nested = (NestedHybrid) model;
        CpuNestedBackend backend = (CpuNestedBackend) cpu;
        ImageSequences test = (ImageSequences) data.test();
        int[] sequences = new int[Math.min(FIGURE_SEQUENCES, test.count())];
        for (int i = 0; i < sequences.length; i++) sequences[i] = i;
        List<String> names = figureFiles(replicas);
        List<Path> written = new ArrayList<>();
        int P = nested.parameterCount();
        for (int r = 0; r < replicas; r++) {
            float[] hybrid = backend.predict(params, r * P, test, sequences, true);
            float[] scienceOnly = backend.predict(params, r * P, test, sequences, false);
            Figure f = figure(test, sequences, hybrid, scienceOnly);
            Path file = dir.resolve(names.get(r));
            try {
                if (redraw) GreyPng.replaceOwn(file, f.pixels(), f.width(), f.height());
                else GreyPng.writeNew(file, f.pixels(), f.width(), f.height());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
            }
            written.add(file);
        }
        return written;
    }

    /** A grey image, row-major. */
    record Figure(float[] pixels, int width, int height) {
    }

    /** The whole-number factor that draws a frame about {@link #FIGURE_FRAME_PX} pixels wide (at least 1). */
    static int scale(int height, int width) {
        return Math.max(1, Math.round((float) FIGURE_FRAME_PX / Math.max(height, width)));
    }

    /**
     * The figure of the given sequences: for each, three rows of T frames (truth, hybrid,
     * science alone: hybrid and scienceOnly are [n][T][H][W] as {@link CpuNestedBackend#predict}
     * gives them), every frame upscaled by {@link #scale} (nearest neighbour), grey levels as they
     * are (the PNG clips them to [0, 1]); separators of {@link #FIGURE_GAP} px between and around
     * frames and rows, {@link #FIGURE_BLOCK_GAP} px between sequences, at grey {@link #FIGURE_SEPARATOR}.
     */
    static Figure figure(ImageSequences test, int[] sequences, float[] hybrid, float[] scienceOnly) {
        int T = test.frames(), H = test.height(), W = test.width(), k = scale(H, W);
        int fw = W * k, fh = H * k, n = sequences.length;
        int width = T * fw + (T + 1) * FIGURE_GAP;
        int height = 3 * n * fh + (3 * n + 1) * FIGURE_GAP + (n - 1) * (FIGURE_BLOCK_GAP - FIGURE_GAP);
        float[] px = new float[width * height];
        Arrays.fill(px, FIGURE_SEPARATOR);
        int top = FIGURE_GAP;
        for (int i = 0; i < n; i++) {
            for (int row = 0; row < 3; row++) {
                for (int t = 0; t < T; t++) {
                    float[] src = row == 0 ? test.images() : row == 1 ? hybrid : scienceOnly;
                    int off = row == 0 ? test.frameOffset(sequences[i], t) : (i * T + t) * H * W;
                    int left = FIGURE_GAP + t * (fw + FIGURE_GAP);
                    for (int y = 0; y < fh; y++) {
                        for (int x = 0; x < fw; x++) {
                            px[(top + y) * width + left + x] = src[off + (y / k) * W + x / k];
                        }
                    }
                }
                top += fh + FIGURE_GAP;
            }
            top += FIGURE_BLOCK_GAP - FIGURE_GAP;
        }
        return new Figure(px, width, height);
    }
}
