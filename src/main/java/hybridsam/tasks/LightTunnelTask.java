package hybridsam.tasks;

import hybridsam.cpu.CpuBackend;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.data.ChambersLightTunnel;
import hybridsam.tasks.data.LightTunnelData;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Camera images of the Causal Chambers' light tunnel (tasks.md, "light-tunnel"): model F2 with
 * θ = the sensor matrix S (9 entries in [0, 3]) plus a 3 × 3 convolutional net on the F2 image and
 * the five inputs, output-additive ({@link LightTunnelHybrid}). S is identifiable only up to scale,
 * so runs report the cosine of vec(Ŝ) and vec(S*).
 */
public final class LightTunnelTask implements ComposedTask {
    public static final LightTunnelTask INSTANCE = new LightTunnelTask();

    /** Image side the published images are resized to unless the caller asks for another. */
    public static final int DEFAULT_SIDE = 64;
    /** Most pixels per image this release handles. */
    static final long MAX_CELLS = 1 << 16;

    private LightTunnelTask() {
    }

    @Override
    public String name() {
        return LightTunnelData.TASK;
    }

    @Override
    public String summary() {
        return "light-tunnel camera images; science model F2 (hexagon colour = exposure diag(w) S rgb cos^2), theta = S"
                + " (3x3, up to scale); a 3x3 conv net adds a residual image";
    }

    @Override
    public ThetaSpec theta() {
        return LightTunnelHybrid.theta();
    }

    @Override
    public boolean thetaUpToScale() {
        return true;
    }

    @Override
    public double[] thetaStar() {
        return LightTunnelModel.S_STAR.clone();
    }

    /**
     * Epochs, batch and rates that train the small preset (16 × 16, 256 images) in well under a
     * minute on 2 cores; hidden = the conv net's channels (8-16-16-3, leaky ReLU). The RK4 step has
     * no meaning here (no ODE) and is 0. fsam's ρ = 0.1 is the README's validation-only rule applied
     * on the small preset (seed 0): the largest of 0.02, 0.05, 0.1, 0.2, 0.5 whose validation MSE
     * stays within 3 × erm's (README, "Results").
     */
    @Override
    public TaskDefaults defaults() {
        return new TaskDefaults(30, 32, 1e-1, 1e-3, 5.0, 0.05, 0.5, 0.1, 1e-3,
                new int[] {16, 16}, Activation.LEAKY_RELU, 0.0);
    }

    @Override
    public Dataset generate(String preset, long seed) {
        return LightTunnelData.generate(preset, seed);
    }

    @Override
    public Splits splits(Dataset data, Path dir) {
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        LightTunnelSplit[] out = new LightTunnelSplit[3];
        int h = -1, w = -1;
        String first = null;
        for (int i = 0; i < 3; i++) {
            NdArray in = array(data, dir, names[i] + "_inputs");
            NdArray im = array(data, dir, names[i] + "_images");
            String inWhere = where(dir, names[i] + "_inputs"), imWhere = where(dir, names[i] + "_images");
            if (in.rank() != 2 || in.dim(1) != LightTunnelModel.INPUTS || in.dim(0) < 1) {
                throw new DataException(inWhere + ": shape " + Arrays.toString(in.shape()) + ", expected [N, 5] with N >= 1"
                        + " (R, G, B, pol_1, pol_2 per sample)");
            }
            if (im.rank() != 4 || im.dim(1) != 3 || im.dim(2) < 1 || im.dim(3) < 1) {
                throw new DataException(imWhere + ": shape " + Arrays.toString(im.shape()) + ", expected [N, 3, H, W]"
                        + " (RGB images, channel-major)");
            }
            if (im.dim(0) != in.dim(0)) {
                throw new DataException(imWhere + ": " + im.dim(0) + " images but " + inWhere + " has " + in.dim(0)
                        + " samples");
            }
            if ((long) im.dim(2) * im.dim(3) > MAX_CELLS) {
                throw new DataException(imWhere + ": " + im.dim(2) + " x " + im.dim(3) + " images are larger than the "
                        + MAX_CELLS + " pixels this release handles");
            }
            if (h < 0) {
                h = im.dim(2);
                w = im.dim(3);
                first = imWhere;
            } else if (im.dim(2) != h || im.dim(3) != w) {
                throw new DataException(imWhere + ": images are " + im.dim(2) + " x " + im.dim(3) + ", those of " + first
                        + " are " + h + " x " + w);
            }
            DatasetStore.checkFinite(inWhere, in);
            DatasetStore.checkFinite(imWhere, im);
            out[i] = new LightTunnelSplit(in.data(), im.data(), in.dim(0), h, w);
            shapes.put(names[i] + "_inputs", shape(in));
            shapes.put(names[i] + "_images", shape(im));
        }
        return new Splits(out[0], out[1], out[2], shapes);
    }

    private static String where(Path dir, String name) {
        return (dir == null ? Path.of(name + ".npy") : dir.resolve(name + ".npy")).toString();
    }

    private static NdArray array(Dataset data, Path dir, String name) {
        NdArray a = data.arrays().get(name);
        if (a == null) {
            throw new DataException(where(dir, name) + ": missing; light-tunnel data need train_inputs, train_images,"
                    + " valid_inputs, valid_images, test_inputs and test_images");
        }
        return a;
    }

    private static List<Long> shape(NdArray a) {
        return Arrays.stream(a.shape()).mapToObj(d -> (long) d).toList();
    }

    @Override
    public Hybrid model(Splits data, int[] hidden, Activation activation) {
        LightTunnelSplit t = (LightTunnelSplit) data.train();
        return new LightTunnelHybrid(t.height(), t.width(), hidden, activation);
    }

    @Override
    public CpuBackend cpu(Hybrid model, int threads) {
        return new LightTunnelBackend((LightTunnelHybrid) model, threads);
    }

    @Override
    public boolean isPublishedLayout(Path dir) {
        return ChambersLightTunnel.isLayout(dir);
    }

    /**
     * Reads the chambers' camera data at dir, images resized to imageSide (0: {@link #DEFAULT_SIDE});
     * see {@link ChambersLightTunnel#read}.
     */
    @Override
    public Dataset readPublished(Path dir, long splitSeed, int imageSide) {
        return ChambersLightTunnel.read(dir, splitSeed, imageSide > 0 ? imageSide : DEFAULT_SIDE);
    }

    @Override
    public boolean readsPublishedImages() {
        return true;
    }
}
