package hybridsam.cpu;

import hybridsam.model.ThetaSpec;

import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * One chunk's share of a minibatch: its loss sum, θ's gradient with respect to physical θ, and
 * every network's gradient (φ, in layout order, starting right after θ). The CPU backends add a
 * replica's chunks in chunk order ({@link #sum}), so the result does not depend on which thread
 * computed which chunk.
 */
public record ChunkGradient(double loss, double[] gTheta, float[] gNn) {

    /**
     * For each replica r of K: grads[r·P ..] = the sum over its nChunks chunks (in chunk order) of
     * (gTheta chained to u through spec at params[r·P ..], gNn), overwriting the replica's block, and
     * losses[r] = scale(sum of the chunks' losses). parts is replica-major: replica r's chunks
     * are parts[r·nChunks .. r·nChunks + nChunks).
     */
    public static void sum(List<ChunkGradient> parts, int K, int nChunks, int P, ThetaSpec spec, float[] params,
                           float[] grads, double[] losses, DoubleUnaryOperator scale) {
        int nTheta = spec.size();
        for (int r = 0; r < K; r++) {
            double loss = 0;
            double[] gTheta = new double[nTheta];
            int g = r * P;
            Arrays.fill(grads, g, g + P, 0f);
            for (int ci = 0; ci < nChunks; ci++) {
                ChunkGradient p = parts.get(r * nChunks + ci);
                loss += p.loss;
                for (int i = 0; i < nTheta; i++) gTheta[i] += p.gTheta[i];
                for (int i = 0; i < p.gNn.length; i++) grads[g + nTheta + i] += p.gNn[i];
            }
            for (int i = 0; i < nTheta; i++) grads[g + i] = (float) (gTheta[i] * spec.derivative(i, params[g + i]));
            losses[r] = scale.applyAsDouble(loss);
        }
    }
}
