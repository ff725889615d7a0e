package hybridsam.tasks;

import hybridsam.model.Activation;
import hybridsam.train.Method;

/**
 * A task's tuned defaults: what `hybridsam train --task NAME` uses when an option is not given.
 * ρ per rule is the value tuned for the task (see README, "Results").
 */
public record TaskDefaults(int epochs, int batchSize, double lrTheta, double lrNn, double clip,
                           double rhoSam, double rhoAsam, double rhoFsam, double l2,
                           int[] hidden, Activation activation, double rk4Step) {

    public double rho(Method m) {
        return switch (m) {
            case SAM -> rhoSam;
            case ASAM -> rhoAsam;
            case FSAM -> rhoFsam;
            default -> 0.0;
        };
    }
}
