package hybridsam.train;

/**
 * The arithmetic of the rules over one replica's segment [off, off + n) of flat vectors, in
 * float storage with norms accumulated in double. This is the reference the GPU kernels are
 * checked against.
 */
public final class Rules {
    private Rules() {
    }

    public static double norm(float[] x, int off, int n) {
        double s = 0;
        for (int i = off; i < off + n; i++) s += (double) x[i] * x[i];
        return Math.sqrt(s);
    }

    /**
     * Writes the perturbation ε of method.md §2 for sam, asam or fsam into eps[off ..]. For fsam
     * it also advances the gradient average avg (d uses the previous average; the average then
     * takes the raw gradient); on the first step (firstStep) the average starts at g and d = g.
     */
    public static void perturbation(RuleConfig cfg, float[] g, float[] params, float[] avg, boolean firstStep,
                                    int off, int n, float[] eps) {
        switch (cfg.method()) {
            case SAM -> {
                float scale = (float) (cfg.rho() / (norm(g, off, n) + RuleConfig.GUARD));
                for (int i = off; i < off + n; i++) eps[i] = scale * g[i];
            }
            case ASAM -> {
                float eta = (float) cfg.eta();
                double s = 0;
                for (int i = off; i < off + n; i++) {
                    float tg = (Math.abs(params[i]) + eta) * g[i];
                    s += (double) tg * tg;
                }
                float scale = (float) (cfg.rho() / (Math.sqrt(s) + RuleConfig.GUARD));
                for (int i = off; i < off + n; i++) {
                    float t = Math.abs(params[i]) + eta;
                    eps[i] = scale * t * t * g[i];
                }
            }
            case FSAM -> {
                float sigma = (float) cfg.sigma(), lambda = (float) cfg.lambda(), fresh = (float) (1 - cfg.lambda());
                if (firstStep) {
                    System.arraycopy(g, off, eps, off, n);
                    System.arraycopy(g, off, avg, off, n);
                } else {
                    for (int i = off; i < off + n; i++) {
                        eps[i] = g[i] - sigma * avg[i];
                        avg[i] = lambda * avg[i] + fresh * g[i];
                    }
                }
                float scale = (float) (cfg.rho() / (norm(eps, off, n) + RuleConfig.GUARD));
                for (int i = off; i < off + n; i++) eps[i] *= scale;
            }
            default -> throw new IllegalArgumentException(cfg.method() + " does not perturb");
        }
    }

    /** Scales g[off ..] so its norm is at most maxNorm (no-op when maxNorm is 0). */
    public static void clip(float[] g, int off, int n, double maxNorm) {
        if (maxNorm <= 0) return;
        double norm = norm(g, off, n);
        if (norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + RuleConfig.GUARD));
            for (int i = off; i < off + n; i++) g[i] *= scale;
        }
    }

    /**
     * One Adam step on params[off ..] with learning rate lr; step is the 1-based step count used
     * for bias correction. decay is the decoupled weight decay (applied before the update).
     */
    public static void adam(float[] params, float[] g, float[] m, float[] v, int off, int n,
                            double lr, double decay, long step) {
        float b1 = (float) RuleConfig.BETA1, b2 = (float) RuleConfig.BETA2;
        // 1 - β taken in double: 1 - (float) 0.999 would be off by 1.3e-5 relative
        float a1 = (float) (1 - RuleConfig.BETA1), a2 = (float) (1 - RuleConfig.BETA2);
        float c1 = (float) (1 - Math.pow(RuleConfig.BETA1, step));
        float c2 = (float) (1 - Math.pow(RuleConfig.BETA2, step));
        float lrf = (float) lr, keep = (float) (1 - lr * decay), eps = (float) RuleConfig.ADAM_EPS;
        for (int i = off; i < off + n; i++) {
            if (decay != 0) params[i] *= keep;
            m[i] = b1 * m[i] + a1 * g[i];
            v[i] = b2 * v[i] + a2 * g[i] * g[i];
            float mHat = m[i] / c1, vHat = v[i] / c2;
            params[i] -= lrf * mHat / ((float) Math.sqrt(vHat) + eps);
        }
    }
}
