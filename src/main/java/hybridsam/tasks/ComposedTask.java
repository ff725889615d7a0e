package hybridsam.tasks;

import hybridsam.cpu.CpuBackend;
import hybridsam.io.ConfigException;
import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Split;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A task whose data are more than the observed state (exogenous inputs, time stamps, images) and
 * whose hybrid is more than an ODE with a corrector: it reads its own arrays, builds its own
 * model and brings its own CPU backend. The trainer, the rules, checkpoints and the command line
 * treat it like any other task.
 */
public interface ComposedTask extends Task {

    /** The three splits of a data set and the shapes config.json records (array name to shape). */
    record Splits(Split train, Split valid, Split test, Map<String, List<Long>> shapes) {
    }

    /**
     * The splits of a loaded data set in this task's layout, every array's presence, shape and
     * values checked; a problem is a {@link hybridsam.io.DataException} naming the file (dir/NAME.npy).
     */
    Splits splits(Dataset data, Path dir);

    /** The hybrid for these data, its networks sized by --hidden and --activation. */
    Hybrid model(Splits data, int[] hidden, Activation activation);

    /**
     * Whether the model integrates an ODE with RK4 whose step --rk4-step sets (the nested
     * pendulum-images); the others refuse the option.
     */
    default boolean usesRk4Step() {
        return false;
    }

    /** The hybrid with the RK4 step given (only called where {@link #usesRk4Step()}). */
    default Hybrid model(Splits data, int[] hidden, Activation activation, double rk4Step) {
        return model(data, hidden, activation);
    }

    /**
     * The names of the files {@link #writeFigures} writes into a run folder for this many
     * replicas; a run refuses a folder that already holds one of them. Default: none.
     */
    default List<String> figureFiles(int replicas) {
        return List.of();
    }

    /**
     * Writes this task's figures of a trained run into dir (the run folder) and returns the files
     * written (those {@link #figureFiles} names); an existing file is replaced only when redraw is
     * set and the file carries hybridsam's mark ({@link hybridsam.io.PngMark}), else refused.
     * Parameters of replica r start at params[r · P]. Default: none.
     */
    default List<Path> writeFigures(Hybrid model, CpuBackend cpu, float[] params, int replicas, Splits data, Path dir,
                                    boolean redraw) {
        return List.of();
    }

    /** The CPU backend of a model this task built. */
    CpuBackend cpu(Hybrid model, int threads);

    /**
     * Whether dir holds data in the layout its publishers use (the Causal Chambers' CSV files),
     * for `--data-format auto`.
     */
    default boolean isPublishedLayout(Path dir) {
        return false;
    }

    /**
     * Reads data in the publishers' layout into this task's arrays, split into train / valid /
     * test by sequence (or sample) with the given seed. The manifest lists under "source_files"
     * every file read (relative to dir), so a resume can check that none changed.
     */
    default Dataset readPublished(Path dir, long splitSeed) {
        return readPublished(dir, splitSeed, 0);
    }

    /**
     * As {@link #readPublished(Path, long)} with published images resized to imageSide ×
     * imageSide (0: the task's default; ignored by a task that reads no images).
     */
    default Dataset readPublished(Path dir, long splitSeed, int imageSide) {
        throw new ConfigException("--data-format causal-chambers: " + name() + " has no published data format");
    }

    /** Whether the published data are images that {@link #readPublished(Path, long, int)} resizes. */
    default boolean readsPublishedImages() {
        return false;
    }

    @Override
    default ScientificModel science() {
        throw new IllegalStateException(name() + " has no state-observing scientific model; use theta() and model()");
    }
}
