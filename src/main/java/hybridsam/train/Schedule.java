package hybridsam.train;

import hybridsam.io.ConfigException;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A per-epoch factor on a hyperparameter (the Adam learning rates, or ρ): f(e) for the epoch
 * index e = 0 .. E-1 of a run of E epochs, constant within an epoch and a pure function of e and
 * E, so that a resumed run gets the factors an uninterrupted one gets.
 *
 * <ul>
 * <li>constant: 1 (the value is used as given, untouched);</li>
 * <li>cosine: m + (1 − m) · ½ (1 + cos(π e / E)) with m = {@link #COSINE_FLOOR}: 1 at e = 0, near m at the end;</li>
 * <li>step: 1 while 2e &lt; E, then 0.1 while 4e &lt; 3E, then 0.01 (whole-number comparisons, exact);</li>
 * <li>warmup: min(1, (e + 1) / (E / 4)), a linear ramp over the first quarter of the epochs.</li>
 * </ul>
 */
public enum Schedule {
    CONSTANT, COSINE, STEP, WARMUP;

    /** The cosine schedule's last value: what it decays towards. */
    public static final double COSINE_FLOOR = 0.01;
    /** The step schedule's factors after the first half and after the first three quarters of the epochs. */
    public static final double STEP_SECOND = 0.1, STEP_LAST = 0.01;

    /** The schedules the learning rates take (--lr-schedule), the first the default. */
    public static final List<Schedule> LEARNING_RATE = List.of(CONSTANT, COSINE, STEP);
    /** The schedules ρ takes (--rho-schedule), the first the default. */
    public static final List<Schedule> RHO = List.of(CONSTANT, WARMUP, COSINE);

    /** The factor during epoch index epochIndex (0-based) of a run of epochs epochs. */
    public double factor(int epochIndex, int epochs) {
        if (epochs < 1 || epochIndex < 0 || epochIndex >= epochs) {
            throw new IllegalArgumentException("epoch index " + epochIndex + " outside [0, " + epochs + ")");
        }
        return switch (this) {
            case CONSTANT -> 1.0;
            case COSINE -> COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * epochIndex / epochs));
            case STEP -> 2L * epochIndex < epochs ? 1.0 : 4L * epochIndex < 3L * epochs ? STEP_SECOND : STEP_LAST;
            // (e + 1) / (E / 4): E / 4 is exact in double, so this is the one rounding of the quotient
            case WARMUP -> Math.min(1.0, 4.0 * (epochIndex + 1) / epochs);
        };
    }

    /** The name on the command line and in results.json. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The ids of some schedules, for help and messages: "constant, cosine or step". */
    public static String describe(List<Schedule> schedules) {
        List<String> ids = schedules.stream().map(Schedule::id).toList();
        if (ids.size() == 1) return ids.get(0);
        return String.join(", ", ids.subList(0, ids.size() - 1)) + " or " + ids.get(ids.size() - 1);
    }

    /** The ids of some schedules as a list (for completion candidates). */
    public static List<String> ids(List<Schedule> schedules) {
        return schedules.stream().map(Schedule::id).collect(Collectors.toUnmodifiableList());
    }

    /** The schedule named text among allowed; a ConfigException naming option otherwise. */
    public static Schedule parse(String option, String text, List<Schedule> allowed) {
        for (Schedule s : allowed) if (s.id().equals(text)) return s;
        throw new ConfigException(option + ": unknown schedule '" + text + "' (choose " + describe(allowed) + ")");
    }
}
