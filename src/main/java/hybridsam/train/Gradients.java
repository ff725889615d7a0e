package hybridsam.train;

import hybridsam.model.Split;

/** Loss and gradient of K replicas on their minibatches: what a rule needs from a backend. */
@FunctionalInterface
public interface Gradients {
    /**
     * losses[r] = mean loss of replica r on batch[r*B .. r*B+B) at params[r*P ..]; grads[r*P ..]
     * = its gradient with respect to (u, φ).
     */
    void lossAndGradient(int K, float[] params, Split data, int[] batch, int B, float[] grads, double[] losses);
}
