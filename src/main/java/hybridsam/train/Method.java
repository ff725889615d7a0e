package hybridsam.train;

import hybridsam.io.ConfigException;
import java.util.Locale;

/** The training rules of method.md §2. */
public enum Method {
    ERM, L2, SAM, ASAM, FSAM;

    public static Method parse(String s) {
        for (Method m : values()) if (m.name().equalsIgnoreCase(s)) return m;
        throw new ConfigException("--method: unknown method '" + s + "' (choose erm, l2, sam, asam or fsam)");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the rule takes a second gradient at perturbed weights. */
    public boolean perturbs() {
        return this == SAM || this == ASAM || this == FSAM;
    }

    /** Starting ρ from method.md; tasks record their tuned values. */
    public double defaultRho() {
        return this == ASAM ? 0.5 : 0.05;
    }
}
