package hybridsam.train;

import hybridsam.model.Sequences;

/** Loss and gradient of K replicas on their minibatches: what a rule needs from a backend. */
@FunctionalInterface
public interface Gradients {
    /**
     * losses[r] = mean loss of replica r on batch[r*B .. r*B+B) at params[r*P ..]; grads[r*P ..]
     * = its gradient with respect to (u, φ).
     */
    void lossAndGradient(int K, float[] params, Sequences data, int[] batch, int B, float[] grads, double[] losses);
}
