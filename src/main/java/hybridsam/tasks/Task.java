package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.model.ScientificModel;

/** One benchmark problem: its data generator, scientific model, true θ and defaults. */
public interface Task {

    String name();

    /** One line for `hybridsam --help` and the README. */
    String summary();

    ScientificModel science();

    /** True θ of the synthetic task, in the order of science().theta(). */
    double[] thetaStar();

    TaskDefaults defaults();

    /** Generates the preset ("full" or "small") with the given seed. */
    Dataset generate(String preset, long seed);
}
