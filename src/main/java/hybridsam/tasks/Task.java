package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.Corrector;
import hybridsam.model.MlpShape;
import hybridsam.model.ScientificModel;
import hybridsam.model.ThetaSpec;

import java.util.Arrays;

/** One benchmark problem: its data generator, scientific model, true θ and defaults. */
public interface Task {

    String name();

    /** One line for `hybridsam --help` and the README. */
    String summary();

    /** The scientific model at the task's nominal size (its θ names and bounds hold for every size). */
    ScientificModel science();

    /**
     * The scientific model for observed frames of the given shape (an observation array's axes
     * after [sequences, frames]); a shape it cannot model is a {@link DataException} naming where.
     * The ODE tasks observe the state itself: frame = [state dimension].
     */
    default ScientificModel science(int[] frame, String where) {
        ScientificModel s = science();
        if (frame.length != 1 || frame[0] != s.stateDim()) {
            throw new DataException(where + ": each frame has shape " + Arrays.toString(frame) + ", " + name()
                    + " observes [" + s.stateDim() + "] (the state)");
        }
        return s;
    }

    /**
     * The default network for a scientific model: an MLP from the state to its derivative with
     * the given hidden widths. Tasks on grids give a convolutional net (hidden = channels).
     */
    default Corrector corrector(ScientificModel science, int[] hidden, Activation activation) {
        int[] w = new int[hidden.length + 2];
        w[0] = science.stateDim();
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = science.stateDim();
        return new MlpShape(w, activation);
    }

    /** θ's names, bounds and transforms (the same for every data size). */
    default ThetaSpec theta() {
        return science().theta();
    }

    /**
     * Whether θ is identifiable only up to scale (a sensor matrix): runs then report the cosine
     * similarity of θ̂ and θ* ("theta_cosine") beside the relative error.
     */
    default boolean thetaUpToScale() {
        return false;
    }

    /**
     * Where θ starts when --theta-init is not given, in physical units; null: the middle of its
     * box (u = 0). A task whose box is centred on θ* gives a start away from it, so that a run
     * shows θ being found rather than kept.
     */
    default double[] thetaInit() {
        return null;
    }

    /** True θ of the synthetic task, in the order of theta(). */
    double[] thetaStar();

    TaskDefaults defaults();

    /** Generates the preset ("full" or "small") with the given seed. */
    Dataset generate(String preset, long seed);
}
