package hybridsam.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A fully connected corrector: widths[0] inputs, hidden layers, widths[last] outputs (no
 * activation on the output). Its weights sit in a flat segment of the parameter vector, layer
 * by layer: W (row-major, [out][in]) then b. The GPU kernels use the same layout.
 */
public record MlpShape(int[] widths, Activation activation) implements Corrector {

    public MlpShape {
        if (widths.length < 2) throw new IllegalArgumentException("an MLP needs input and output widths");
        for (int w : widths) if (w <= 0) throw new IllegalArgumentException("MLP widths must be positive: " + Arrays.toString(widths));
        widths = widths.clone();
    }

    @Override
    public int inputs() {
        return widths[0];
    }

    @Override
    public int outputs() {
        return widths[widths.length - 1];
    }

    public int layers() {
        return widths.length - 1;
    }

    public int in(int layer) {
        return widths[layer];
    }

    public int out(int layer) {
        return widths[layer + 1];
    }

    /** Offset of layer l's weight matrix within the MLP segment. */
    public int weightOffset(int layer) {
        int off = 0;
        for (int l = 0; l < layer; l++) off += widths[l + 1] * (widths[l] + 1);
        return off;
    }

    public int biasOffset(int layer) {
        return weightOffset(layer) + widths[layer + 1] * widths[layer];
    }

    @Override
    public int parameterCount() {
        return weightOffset(layers());
    }

    /** Sum of hidden widths: the activations stored per evaluation for the backward pass. */
    @Override
    public int hiddenUnits() {
        int n = 0;
        for (int l = 1; l < widths.length - 1; l++) n += widths[l];
        return n;
    }

    public int maxWidth() {
        return Arrays.stream(widths).max().orElseThrow();
    }

    /** PyTorch's default: weights and biases uniform in ±1/sqrt(fan_in). */
    @Override
    public void initialize(float[] params, int off, SplittableRandom rng) {
        for (int l = 0; l < layers(); l++) {
            double bound = 1.0 / Math.sqrt(in(l));
            int n = out(l) * (in(l) + 1);
            int w = off + weightOffset(l);
            for (int i = 0; i < n; i++) params[w + i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        }
    }

    /** FLOPs of one forward evaluation for one sample (multiply-adds count 2). */
    @Override
    public long forwardFlops() {
        long f = 0;
        for (int l = 0; l < layers(); l++) f += 2L * in(l) * out(l);
        return f;
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < widths.length; i++) sb.append(i == 0 ? "" : "-").append(widths[i]);
        return sb + " " + activation.id();
    }
}
