package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;

/** A fully connected corrector on the CPU: {@link DenseKernels} layer by layer. */
final class MlpCorrector implements CpuCorrector {
    private final MlpShape mlp;
    private final Activation act;
    private final int C;
    private final float[] gA, gB;
    private final float[] gLanes;   // one vector of lanes per parameter
    private final int[] hiddenStart; // offset of each hidden layer's activations within a tape slot

    MlpCorrector(MlpShape mlp, int C) {
        this.mlp = mlp;
        this.act = mlp.activation();
        this.C = C;
        // the buffers hold gradients w.r.t. hidden activations only: layer 0's input gradient goes to the caller's gIn
        gA = new float[maxHiddenWidth(mlp) * C];
        gB = new float[maxHiddenWidth(mlp) * C];
        gLanes = new float[mlp.parameterCount() * DenseKernels.L];
        hiddenStart = new int[mlp.layers()];
        for (int l = 1; l < mlp.layers(); l++) hiddenStart[l] = hiddenStart[l - 1] + mlp.out(l - 1) * C;
    }

    /** The widest hidden layer (0 without one): what the backward pass's scratch holds per sample. */
    static int maxHiddenWidth(MlpShape mlp) {
        int w = 0;
        for (int l = 1; l < mlp.layers(); l++) w = Math.max(w, mlp.in(l));
        return w;
    }

    @Override
    public int tapeFloats() {
        return mlp.hiddenUnits() * C;
    }

    @Override
    public void forward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] out) {
        float[] src = in;
        int srcOff = inOff;
        int hOff = tapeOff;
        int last = mlp.layers() - 1;
        for (int l = 0; l <= last; l++) {
            float[] dst = l == last ? out : tape;
            int dstOff = l == last ? 0 : hOff;
            DenseKernels.forward(p, nn + mlp.weightOffset(l), nn + mlp.biasOffset(l), mlp.in(l), mlp.out(l),
                    src, srcOff, dst, dstOff, C);
            if (l < last) {
                act.applyInPlace(dst, dstOff, mlp.out(l) * C);
                src = dst;
                srcOff = dstOff;
                hOff += mlp.out(l) * C;
            }
        }
    }

    /**
     * As {@link CpuCorrector#backward}; gIn null skips the input gradient (layer 0's transposed
     * product, as costly as that layer's forward) where the input is data, as for an encoder.
     */
    @Override
    public void backward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] gOut, float[] gIn) {
        int last = mlp.layers() - 1;
        float[] g = gOut;
        float[] buf = gA;
        for (int l = last; l >= 0; l--) {
            float[] x = l == 0 ? in : tape;
            int xOff = l == 0 ? inOff : tapeOff + hiddenStart[l - 1];
            DenseKernels.accumulateWeights(g, 0, x, xOff, mlp.in(l), mlp.out(l),
                    gLanes, mlp.weightOffset(l) * DenseKernels.L, gLanes, mlp.biasOffset(l) * DenseKernels.L, C);
            float[] dst = l == 0 ? gIn : buf;
            if (dst == null) break;
            DenseKernels.backwardInput(p, nn + mlp.weightOffset(l), mlp.in(l), mlp.out(l), g, 0, dst, 0, C);
            if (l > 0) {
                act.backwardInPlace(dst, 0, tape, tapeOff + hiddenStart[l - 1], mlp.in(l) * C);
                g = dst;
                buf = buf == gA ? gB : gA;
            }
        }
    }

    @Override
    public void clearGradient() {
        java.util.Arrays.fill(gLanes, 0f);
    }

    @Override
    public void reduce(float[] out, int off) {
        DenseKernels.reduceLanes(gLanes, mlp.parameterCount(), out, off);
    }

}
