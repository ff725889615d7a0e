package hybridsam.train;

import hybridsam.io.ConfigException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The rule and optimizer hyperparameters of one run (method.md §2).
 *
 * @param rho          perturbation radius ρ (sam, asam, fsam)
 * @param sigma        fsam's σ: how much of the gradient average is removed from the perturbation
 * @param lambda       fsam's λ: the moving average's decay, in [0, 1)
 * @param eta          asam's η in T = |φ| + η
 * @param l2           λ₂ of the l2 rule's penalty (λ₂/2)‖φ‖²
 * @param perturbAll   perturb θ as well as φ (the ablation `--perturb all`)
 * @param thetaGradClean hand Adam θ's gradient from the clean pass instead of the perturbed one
 * @param lrTheta      Adam's learning rate for u (θ's unconstrained coordinates)
 * @param lrNn         Adam's learning rate for φ
 * @param clip         global gradient-norm clip over (θ, φ); 0 turns clipping off
 * @param weightDecay  decoupled weight decay on φ (AdamW style); 0 turns it off
 */
public record RuleConfig(Method method, double rho, double sigma, double lambda, double eta, double l2,
                         boolean perturbAll, boolean thetaGradClean,
                         double lrTheta, double lrNn, double clip, double weightDecay) {

    public static final double GUARD = 1e-12;
    public static final double BETA1 = 0.9, BETA2 = 0.999, ADAM_EPS = 1e-8;
    /** Defaults of fsam's σ and λ and asam's η (method.md §2), for the command line and the library alike. */
    public static final double DEFAULT_SIGMA = 1.0, DEFAULT_LAMBDA = 0.9, DEFAULT_ETA = 0.01;

    public RuleConfig {
        nonNegative("--rho", rho);
        nonNegative("--sigma", sigma);
        nonNegative("--eta", eta);
        nonNegative("--l2", l2);
        nonNegative("--clip", clip);
        nonNegative("--weight-decay", weightDecay);
        positive("--lr-theta", lrTheta);
        positive("--lr-nn", lrNn);
        if (!(lambda >= 0 && lambda < 1)) {
            throw new ConfigException("--lambda must lie in [0, 1) (got " + lambda + ")");
        }
    }

    static void nonNegative(String option, double v) {
        if (!Double.isFinite(v) || v < 0) {
            throw new ConfigException(option + " must be a finite number >= 0 (got " + v + ")");
        }
    }

    static void positive(String option, double v) {
        if (!Double.isFinite(v) || v <= 0) {
            throw new ConfigException(option + " must be a finite number > 0 (got " + v + ")");
        }
    }

    /**
     * This configuration with both learning rates multiplied by lrFactor and ρ by rhoFactor (a
     * {@link Schedule}'s factors for one epoch); this very object when both factors are 1, so that
     * an unscheduled run trains with exactly the values it was given.
     */
    public RuleConfig scaled(double lrFactor, double rhoFactor) {
        if (lrFactor == 1.0 && rhoFactor == 1.0) return this;
        return new RuleConfig(method, rho * rhoFactor, sigma, lambda, eta, l2, perturbAll, thetaGradClean,
                lrTheta * lrFactor, lrNn * lrFactor, clip, weightDecay);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", method.id());
        m.put("rho", rho);
        m.put("sigma", sigma);
        m.put("lambda", lambda);
        m.put("eta", eta);
        m.put("l2", l2);
        m.put("perturb", perturbAll ? "all" : "neural");
        m.put("theta_grad", thetaGradClean ? "clean" : "perturbed");
        m.put("lr_theta", lrTheta);
        m.put("lr_nn", lrNn);
        m.put("clip", clip);
        m.put("weight_decay", weightDecay);
        m.put("adam", Map.of("beta1", BETA1, "beta2", BETA2, "eps", ADAM_EPS));
        return m;
    }
}
