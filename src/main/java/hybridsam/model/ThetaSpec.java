package hybridsam.model;

import java.util.List;

/**
 * The physical unknowns θ: names, box bounds and the transform from the unconstrained u the
 * optimizer moves. θ = lo + (hi - lo) σ(u) (linear) or log θ = log lo + (log hi - log lo) σ(u)
 * (log, for scale parameters spanning decades). u = 0 is the middle of the box.
 */
public record ThetaSpec(List<String> names, double[] lo, double[] hi, boolean[] logScale) {

    public ThetaSpec {
        int n = names.size();
        if (lo.length != n || hi.length != n || logScale.length != n) {
            throw new IllegalArgumentException("theta spec: names, bounds and transforms differ in length");
        }
        for (int i = 0; i < n; i++) {
            if (!(lo[i] < hi[i]) || (logScale[i] && lo[i] <= 0)) {
                throw new IllegalArgumentException("theta spec: bad bounds for " + names.get(i));
            }
        }
    }

    public static ThetaSpec linear(List<String> names, double[] lo, double[] hi) {
        return new ThetaSpec(names, lo, hi, new boolean[names.size()]);
    }

    public int size() {
        return names.size();
    }

    private static double sigmoid(double u) {
        return 1.0 / (1.0 + Math.exp(-u));
    }

    public double toPhysical(int i, double u) {
        double s = sigmoid(u);
        if (logScale[i]) return Math.exp(Math.log(lo[i]) + (Math.log(hi[i]) - Math.log(lo[i])) * s);
        return lo[i] + (hi[i] - lo[i]) * s;
    }

    /** dθ_i/du_i at u. */
    public double derivative(int i, double u) {
        double s = sigmoid(u);
        double ds = s * (1 - s);
        if (logScale[i]) return toPhysical(i, u) * (Math.log(hi[i]) - Math.log(lo[i])) * ds;
        return (hi[i] - lo[i]) * ds;
    }

    /** The u that maps to physical value t (inside the open box). */
    public double toUnconstrained(int i, double t) {
        if (!(t > lo[i] && t < hi[i])) {
            throw new IllegalArgumentException("theta " + names.get(i) + " = " + t
                    + " lies outside its box (" + lo[i] + ", " + hi[i] + ")");
        }
        double s = logScale[i]
                ? (Math.log(t) - Math.log(lo[i])) / (Math.log(hi[i]) - Math.log(lo[i]))
                : (t - lo[i]) / (hi[i] - lo[i]);
        return Math.log(s / (1 - s));
    }

    /** Physical θ of one replica whose u starts at params[off]. */
    public double[] physical(float[] params, int off) {
        double[] t = new double[size()];
        for (int i = 0; i < t.length; i++) t[i] = toPhysical(i, params[off + i]);
        return t;
    }
}
