package hybridsam.tasks;

import hybridsam.cpu.CpuBackend;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.data.ChambersWindTunnel;
import hybridsam.tasks.data.WindTunnelData;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code wind-tunnel} task (tasks.md): the two fans and the downwind pressure of the Causal
 * Chambers' wind tunnel under intake impulses. Scientific model: chamber model A2 per fan with
 * θ = (T/I, K/I) and the pressure readout C1; networks: a fan MLP shared by both fans and a
 * pressure MLP ({@link WindTunnelHybrid}); loss and gradient: {@link WindTunnelBackend}. Data:
 * the simulator {@link WindTunnelData}, or the chambers' published {@code wt_intake_impulse_v1}
 * CSV files ({@link ChambersWindTunnel}).
 */
public final class WindTunnelTask implements ComposedTask {
    public static final WindTunnelTask INSTANCE = new WindTunnelTask();

    private WindTunnelTask() {
    }

    @Override
    public String name() {
        return WindTunnelData.TASK;
    }

    @Override
    public String summary() {
        return "Causal Chambers wind tunnel, intake impulses; science fan model A2 per fan (theta = T/I, K/I) and"
                + " pressure C1; MLPs supply friction and the hatch's effect";
    }

    @Override
    public ThetaSpec theta() {
        return WindTunnelModel.THETA;
    }

    /**
     * (2 T/I, K/(2 I)) of the chambers' nominal constants: tasks.md's box is a decade either side
     * of θ* on a log scale, so its middle would be θ* itself and a run could only drift away.
     */
    @Override
    public double[] thetaInit() {
        double[] t = WindTunnelModel.thetaStar();
        return new double[]{2 * t[0], t[1] / 2};
    }

    @Override
    public double[] thetaStar() {
        return WindTunnelModel.thetaStar();
    }

    /**
     * Tuned on the small preset (seed 1, θ started at (2 θ*_T, θ*_K / 2), fsam): 150 epochs of
     * batches of 8 with 32-32 tanh networks take about 23 s on two busy cores and end at a θ
     * error of 0.018; lr_θ 3e-2 (1e-2 left θ at an error of 0.26 after 100 epochs). The record's
     * rk4Step is unused here: the model takes {@link WindTunnelHybrid#SUBSTEPS} RK4 steps per
     * sampling interval, recorded as 0.25 (a quarter of an interval).
     */
    @Override
    public TaskDefaults defaults() {
        return new TaskDefaults(150, 8, 3e-2, 3e-3, 5.0, 0.05, 0.5, 0.05, 1e-3,
                new int[]{32, 32}, Activation.TANH, 1.0 / WindTunnelHybrid.SUBSTEPS);
    }

    @Override
    public Dataset generate(String preset, long seed) {
        return WindTunnelData.generate(preset, seed);
    }

    @Override
    public Splits splits(Dataset data, Path dir) {
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        WindTunnelSplit[] s = new WindTunnelSplit[3];
        String[] names = {"train", "valid", "test"};
        for (int i = 0; i < 3; i++) s[i] = split(data, dir, names[i], shapes);
        return new Splits(s[0], s[1], s[2], shapes);
    }

    private static NdArray array(Dataset data, Path dir, String name, int rank) {
        NdArray a = data.arrays().get(name);
        Path file = dir.resolve(name + ".npy");
        if (a == null) {
            throw new DataException(file + ": missing; the wind-tunnel task needs SPLIT_obs [N, T, 3], SPLIT_inputs"
                    + " [N, T, 3] and SPLIT_times [N, T] for train, valid and test");
        }
        if (a.rank() != rank) {
            throw new DataException(file + ": has shape " + Arrays.toString(a.shape()) + ", expected rank " + rank
                    + (rank == 3 ? " [sequences, samples, 3]" : " [sequences, samples]"));
        }
        return a;
    }

    private static WindTunnelSplit split(Dataset data, Path dir, String split, Map<String, List<Long>> shapes) {
        NdArray obs = array(data, dir, split + "_obs", 3);
        NdArray in = array(data, dir, split + "_inputs", 3);
        NdArray times = array(data, dir, split + "_times", 2);
        int n = obs.dim(0), t = obs.dim(1);
        Path obsFile = dir.resolve(split + "_obs.npy");
        if (n < 1 || t < 2 || obs.dim(2) != WindTunnelSplit.CHANNELS) {
            throw new DataException(obsFile + ": has shape " + Arrays.toString(obs.shape())
                    + ", expected [sequences >= 1, samples >= 2, 3] (omega_in, omega_out in rad/s, pressure in Pa)");
        }
        if (in.dim(0) != n || in.dim(1) != t || in.dim(2) != WindTunnelSplit.INPUTS) {
            throw new DataException(dir.resolve(split + "_inputs.npy") + ": has shape " + Arrays.toString(in.shape())
                    + ", expected [" + n + ", " + t + ", 3] (load_in, load_out, hatch) to match " + obsFile);
        }
        if (times.dim(0) != n || times.dim(1) != t) {
            throw new DataException(dir.resolve(split + "_times.npy") + ": has shape " + Arrays.toString(times.shape())
                    + ", expected [" + n + ", " + t + "] to match " + obsFile);
        }
        String[] obsNames = {"omega_in", "omega_out", "pressure"};
        String[] inNames = {"load_in", "load_out", "hatch"};
        float[] o = obs.data(), u = in.data(), ts = times.data();
        for (int s = 0; s < n; s++) {
            for (int f = 0; f < t; f++) {
                for (int c = 0; c < 3; c++) {
                    float v = o[(s * t + f) * 3 + c];
                    if (!Float.isFinite(v)) {
                        throw new DataException(obsFile + ": sequence " + s + ", sample " + f + ", " + obsNames[c]
                                + " is " + v + " (every value must be finite)");
                    }
                    float w = u[(s * t + f) * 3 + c];
                    boolean ok = c < 2 ? w >= 0 && w <= 1 : w >= 0 && w <= WindTunnelModel.HATCH_MAX;
                    if (!ok) {
                        throw new DataException(dir.resolve(split + "_inputs.npy") + ": sequence " + s + ", sample " + f
                                + ", " + inNames[c] + " is " + w + " (loads lie in [0, 1], the hatch in [0, 45] degrees)");
                    }
                }
                float tf = ts[s * t + f];
                if (!Float.isFinite(tf) || (f > 0 && !(tf > ts[s * t + f - 1]))) {
                    throw new DataException(dir.resolve(split + "_times.npy") + ": sequence " + s + ", sample " + f
                            + ": time " + tf + (f > 0 ? " does not come after " + ts[s * t + f - 1] : " is not finite")
                            + " (times in seconds must increase strictly within a sequence)");
                }
            }
        }
        shapes.put(split + "_obs", shape(obs));
        shapes.put(split + "_inputs", shape(in));
        shapes.put(split + "_times", shape(times));
        return new WindTunnelSplit(o, u, ts, n, t);
    }

    private static List<Long> shape(NdArray a) {
        List<Long> l = new ArrayList<>();
        for (int d : a.shape()) l.add((long) d);
        return l;
    }

    @Override
    public Hybrid model(Splits data, int[] hidden, Activation activation) {
        return WindTunnelHybrid.of(hidden, activation);
    }

    @Override
    public CpuBackend cpu(Hybrid model, int threads) {
        return new WindTunnelBackend((WindTunnelHybrid) model, threads);
    }

    @Override
    public boolean isPublishedLayout(Path dir) {
        return ChambersWindTunnel.isPublishedLayout(dir);
    }

    @Override
    public Dataset readPublished(Path dir, long splitSeed, int imageSide) {
        return ChambersWindTunnel.read(dir, splitSeed);
    }
}
