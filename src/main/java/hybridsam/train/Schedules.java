package hybridsam.train;

import hybridsam.io.ConfigException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One replica's schedules: a factor on both Adam learning rates (θ's and φ's) and a factor on ρ,
 * per epoch ({@link Schedule}). ρ's factor only matters to the rules that perturb (sam, asam,
 * fsam); the others take it and ignore it, as they ignore ρ.
 */
public record Schedules(Schedule lr, Schedule rho) {

    /** No schedule: every epoch trains with the hyperparameters as given. */
    public static final Schedules CONSTANT = new Schedules(Schedule.CONSTANT, Schedule.CONSTANT);

    public Schedules {
        if (lr == null || !Schedule.LEARNING_RATE.contains(lr)) {
            throw new ConfigException("--lr-schedule must be " + Schedule.describe(Schedule.LEARNING_RATE) + " (got " + lr + ")");
        }
        if (rho == null || !Schedule.RHO.contains(rho)) {
            throw new ConfigException("--rho-schedule must be " + Schedule.describe(Schedule.RHO) + " (got " + rho + ")");
        }
    }

    /** Whether both are constant (the factors are always 1). */
    public boolean constant() {
        return lr == Schedule.CONSTANT && rho == Schedule.CONSTANT;
    }

    /** The learning rates' factor during epoch index epochIndex of epochs. */
    public double lrFactor(int epochIndex, int epochs) {
        return lr.factor(epochIndex, epochs);
    }

    /** ρ's factor during epoch index epochIndex of epochs. */
    public double rhoFactor(int epochIndex, int epochs) {
        return rho.factor(epochIndex, epochs);
    }

    /** As results.json records them, beside {@link RuleConfig#toMap()}: lr_schedule, rho_schedule. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr_schedule", lr.id());
        m.put("rho_schedule", rho.id());
        return m;
    }
}
