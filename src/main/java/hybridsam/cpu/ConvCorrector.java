package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3 × 3 convolutional corrector on the CPU over a chunk of C samples: value (ch, y, x) of
 * sample c at x[((ch·H + y)·W + x)·C + c], so every tap is a multiply-add over contiguous sample
 * vectors. Layers pad their input by edge replication into a scratch grid of (H+2) × (W+2); the
 * backward pass pads again from the taped activations rather than keeping the padded copies.
 *
 * <p>Output channels are computed four at a time (each loaded input vector feeds four
 * multiply-adds); a block running past the last channel repeats that channel's weights and
 * drops the result, so every channel count works with one loop.
 */
final class ConvCorrector implements CpuCorrector {
    private static final VectorSpecies<Float> S = DenseKernels.S;
    private static final int L = DenseKernels.L, TAPS = 9;

    private final ConvShape net;
    private final Activation act;
    private final int C, H, W, cells, PW, PHW, ZW, ZHW;
    private final float[] padded;   // [maxCh][H+2][W+2][C]: a layer's padded input
    private final float[] gZero;    // [maxCh][H+4][W+4][C]: a layer's output gradient with a zero border of 2
    private final float[] gPadded;  // [maxCh][H+2][W+2][C]: gradient of the padded input
    private final float[] gA, gB;   // [maxCh][H][W][C]: gradients between layers
    private final float[] gLanes;   // one vector of lanes per parameter
    private final int[] hiddenStart;

    ConvCorrector(ConvShape net, int C) {
        // one vector of samples per cell: the loops walk cells vector by vector
        if (C != L) throw new IllegalArgumentException("a convolutional chunk is one vector of " + L + " samples, not " + C);
        this.net = net;
        this.act = net.activation();
        this.C = C;
        this.H = net.height();
        this.W = net.width();
        this.cells = H * W;
        this.PW = W + 2;
        this.PHW = (H + 2) * PW;
        this.ZW = W + 4;
        this.ZHW = (H + 4) * ZW;
        int maxCh = net.maxChannels();
        padded = new float[maxCh * PHW * C];
        gZero = new float[maxCh * ZHW * C];
        gPadded = new float[maxCh * PHW * C];
        gA = new float[maxCh * cells * C];
        gB = new float[maxCh * cells * C];
        gLanes = new float[net.parameterCount() * L];
        hiddenStart = new int[net.layers()];
        for (int l = 1; l < net.layers(); l++) hiddenStart[l] = hiddenStart[l - 1] + net.out(l - 1) * cells * C;
    }

    @Override
    public int tapeFloats() {
        return net.hiddenUnits() * C;
    }

    /** padded = x[off ..] with ch channels, edge-replicated by one cell on every side. */
    private void pad(float[] x, int off, int ch) {
        for (int i = 0; i < ch; i++) {
            for (int py = 0; py < H + 2; py++) {
                int y = Math.min(Math.max(py - 1, 0), H - 1);
                for (int px = 0; px < PW; px++) {
                    int xx = Math.min(Math.max(px - 1, 0), W - 1);
                    System.arraycopy(x, off + ((i * H + y) * W + xx) * C, padded, ((i * (H + 2) + py) * PW + px) * C, C);
                }
            }
        }
    }

    @Override
    public void forward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] out) {
        int last = net.layers() - 1;
        float[] src = in;
        int srcOff = inOff;
        for (int l = 0; l <= last; l++) {
            pad(src, srcOff, net.in(l));
            float[] dst = l == last ? out : tape;
            int dstOff = l == last ? 0 : tapeOff + hiddenStart[l];
            convolve(p, nn + net.weightOffset(l), nn + net.biasOffset(l), net.in(l), net.out(l), dst, dstOff);
            if (l < last) {
                act.applyInPlace(dst, dstOff, net.out(l) * cells * C);
                src = dst;
                srcOff = dstOff;
            }
        }
    }

    /**
     * dst[o] = b[o] + Σ_i Σ_taps W[o][i][tap] · padded[i] shifted by the tap. Two neighbouring
     * cells at a time: they share two of the three input columns of every tap row, so a pair
     * loads four vectors per row for 24 multiply-adds instead of six; each output still sums its
     * taps in the order (i, ky, kx), so pairing does not change a bit.
     */
    private void convolve(float[] p, int w, int b, int nIn, int nOut, float[] dst, int dstOff) {
        int wo = nIn * TAPS;
        for (int o = 0; o < nOut; o += 4) {
            int o1 = Math.min(o + 1, nOut - 1), o2 = Math.min(o + 2, nOut - 1), o3 = Math.min(o + 3, nOut - 1);
            for (int y = 0; y < H; y++) {
                int x = 0;
                for (; x + 1 < W; x += 2) {
                    for (int c = 0; c < C; c += L) {
                        FloatVector a0 = FloatVector.broadcast(S, p[b + o]), a1 = FloatVector.broadcast(S, p[b + o1]);
                        FloatVector a2 = FloatVector.broadcast(S, p[b + o2]), a3 = FloatVector.broadcast(S, p[b + o3]);
                        FloatVector e0 = a0, e1 = a1, e2 = a2, e3 = a3;
                        for (int i = 0; i < nIn; i++) {
                            for (int ky = 0; ky < 3; ky++) {
                                int row = ((i * (H + 2) + y + ky) * PW + x) * C + c;
                                int t = w + i * TAPS + ky * 3;
                                FloatVector v0 = FloatVector.fromArray(S, padded, row), v1 = FloatVector.fromArray(S, padded, row + C),
                                        v2 = FloatVector.fromArray(S, padded, row + 2 * C), v3 = FloatVector.fromArray(S, padded, row + 3 * C);
                                FloatVector k;
                                k = FloatVector.broadcast(S, p[t + o * wo]);
                                a0 = v0.fma(k, a0); e0 = v1.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + o1 * wo]);
                                a1 = v0.fma(k, a1); e1 = v1.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + o2 * wo]);
                                a2 = v0.fma(k, a2); e2 = v1.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + o3 * wo]);
                                a3 = v0.fma(k, a3); e3 = v1.fma(k, e3);
                                k = FloatVector.broadcast(S, p[t + 1 + o * wo]);
                                a0 = v1.fma(k, a0); e0 = v2.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + 1 + o1 * wo]);
                                a1 = v1.fma(k, a1); e1 = v2.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + 1 + o2 * wo]);
                                a2 = v1.fma(k, a2); e2 = v2.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + 1 + o3 * wo]);
                                a3 = v1.fma(k, a3); e3 = v2.fma(k, e3);
                                k = FloatVector.broadcast(S, p[t + 2 + o * wo]);
                                a0 = v2.fma(k, a0); e0 = v3.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + 2 + o1 * wo]);
                                a1 = v2.fma(k, a1); e1 = v3.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + 2 + o2 * wo]);
                                a2 = v2.fma(k, a2); e2 = v3.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + 2 + o3 * wo]);
                                a3 = v2.fma(k, a3); e3 = v3.fma(k, e3);
                            }
                        }
                        store(dst, dstOff, o, nOut, cells, (y * W + x) * C + c, a0, a1, a2, a3);
                        store(dst, dstOff, o, nOut, cells, (y * W + x + 1) * C + c, e0, e1, e2, e3);
                    }
                }
                for (; x < W; x++) {  // the last cell of an odd row
                    for (int c = 0; c < C; c += L) {
                        FloatVector a0 = FloatVector.broadcast(S, p[b + o]), a1 = FloatVector.broadcast(S, p[b + o1]);
                        FloatVector a2 = FloatVector.broadcast(S, p[b + o2]), a3 = FloatVector.broadcast(S, p[b + o3]);
                        for (int i = 0; i < nIn; i++) {
                            for (int ky = 0; ky < 3; ky++) {
                                int row = ((i * (H + 2) + y + ky) * PW + x) * C + c;
                                for (int kx = 0; kx < 3; kx++) {
                                    FloatVector v = FloatVector.fromArray(S, padded, row + kx * C);
                                    int t = w + i * TAPS + ky * 3 + kx;
                                    a0 = v.fma(FloatVector.broadcast(S, p[t + o * wo]), a0);
                                    a1 = v.fma(FloatVector.broadcast(S, p[t + o1 * wo]), a1);
                                    a2 = v.fma(FloatVector.broadcast(S, p[t + o2 * wo]), a2);
                                    a3 = v.fma(FloatVector.broadcast(S, p[t + o3 * wo]), a3);
                                }
                            }
                        }
                        store(dst, dstOff, o, nOut, cells, (y * W + x) * C + c, a0, a1, a2, a3);
                    }
                }
            }
        }
    }

    /** Channels o .. o+3 (those below n) of one cell vector, channel planes of `plane` cells. */
    private void store(float[] dst, int dstOff, int o, int n, int plane, int cell, FloatVector a0, FloatVector a1,
                       FloatVector a2, FloatVector a3) {
        a0.intoArray(dst, dstOff + o * plane * C + cell);
        if (o + 1 < n) a1.intoArray(dst, dstOff + (o + 1) * plane * C + cell);
        if (o + 2 < n) a2.intoArray(dst, dstOff + (o + 2) * plane * C + cell);
        if (o + 3 < n) a3.intoArray(dst, dstOff + (o + 3) * plane * C + cell);
    }

    @Override
    public void backward(float[] p, int nn, float[] in, int inOff, float[] tape, int tapeOff, float[] gOut, float[] gIn) {
        int last = net.layers() - 1;
        float[] g = gOut;
        float[] buf = gA;
        for (int l = last; l >= 0; l--) {
            float[] x = l == 0 ? in : tape;
            int xOff = l == 0 ? inOff : tapeOff + hiddenStart[l - 1];
            int nIn = net.in(l), nOut = net.out(l);
            pad(x, xOff, nIn);
            accumulateWeights(g, nIn, nOut, net.weightOffset(l) * L, net.biasOffset(l) * L);
            float[] dst = l == 0 ? gIn : buf;
            inputGradient(p, nn + net.weightOffset(l), nIn, nOut, g, dst);
            if (l > 0) {
                act.backwardInPlace(dst, 0, tape, tapeOff + hiddenStart[l - 1], nIn * cells * C);
                g = dst;
                buf = buf == gA ? gB : gA;
            }
        }
    }

    /**
     * gW[o][i][tap] += Σ_cells g[o] · padded[i] shifted by the tap; gb[o] += Σ_cells g[o]; per
     * lane. Two output channels and one row of taps at a time, walking a grid row: each step loads
     * one new input column (the other two move over from the previous cell) and one gradient
     * vector per channel for six multiply-adds. The accumulators live across that one loop only
     * (carried across two nested loops, the JIT kept them boxed: 2 GFLOP/s).
     */
    private void accumulateWeights(float[] g, int nIn, int nOut, int wLanes, int bLanes) {
        for (int o = 0; o < nOut; o++) {
            int go = o * cells * C;
            FloatVector bs = FloatVector.fromArray(S, gLanes, bLanes + o * L);
            for (int k = 0; k < cells * C; k += L) bs = bs.add(FloatVector.fromArray(S, g, go + k));
            bs.intoArray(gLanes, bLanes + o * L);
        }
        for (int o = 0; o < nOut; o += 2) {
            boolean pair = o + 1 < nOut;  // an odd last channel runs with itself and keeps one half
            int go = o * cells * C, go1 = (pair ? o + 1 : o) * cells * C;
            for (int i = 0; i < nIn; i++) {
                for (int ky = 0; ky < 3; ky++) {
                    int a = wLanes + ((o * nIn + i) * TAPS + ky * 3) * L;
                    int a1 = pair ? a + nIn * TAPS * L : a;
                    for (int y = 0; y < H; y++) {
                        int r = ((i * (H + 2) + y + ky) * PW) * C, gr = go + y * W * C, gr1 = go1 + y * W * C;
                        FloatVector t0 = FloatVector.fromArray(S, gLanes, a), t1 = FloatVector.fromArray(S, gLanes, a + L),
                                t2 = FloatVector.fromArray(S, gLanes, a + 2 * L);
                        FloatVector s0 = FloatVector.fromArray(S, gLanes, a1), s1 = FloatVector.fromArray(S, gLanes, a1 + L),
                                s2 = FloatVector.fromArray(S, gLanes, a1 + 2 * L);
                        FloatVector v0 = FloatVector.fromArray(S, padded, r), v1 = FloatVector.fromArray(S, padded, r + C);
                        for (int x = 0; x < W; x++) {
                            FloatVector v2 = FloatVector.fromArray(S, padded, r + (x + 2) * C);
                            FloatVector g0 = FloatVector.fromArray(S, g, gr + x * C), g1 = FloatVector.fromArray(S, g, gr1 + x * C);
                            t0 = g0.fma(v0, t0);
                            t1 = g0.fma(v1, t1);
                            t2 = g0.fma(v2, t2);
                            s0 = g1.fma(v0, s0);
                            s1 = g1.fma(v1, s1);
                            s2 = g1.fma(v2, s2);
                            v0 = v1;
                            v1 = v2;
                        }
                        t0.intoArray(gLanes, a);
                        t1.intoArray(gLanes, a + L);
                        t2.intoArray(gLanes, a + 2 * L);
                        if (pair) {
                            s0.intoArray(gLanes, a1);
                            s1.intoArray(gLanes, a1 + L);
                            s2.intoArray(gLanes, a1 + 2 * L);
                        }
                    }
                }
            }
        }
    }

    /**
     * gIn = the adjoint of pad-then-convolve applied to g: the full correlation of the
     * zero-bordered g with the weights gives the padded input's gradient, whose border then folds
     * back onto the edge cells it replicated (in a fixed order).
     */
    private void inputGradient(float[] p, int w, int nIn, int nOut, float[] g, float[] gIn) {
        for (int o = 0; o < nOut; o++) {  // the border of gZero stays zero: only the interior is written
            for (int y = 0; y < H; y++) {
                System.arraycopy(g, (o * cells + y * W) * C, gZero, ((o * (H + 4) + y + 2) * ZW + 2) * C, W * C);
            }
        }
        int wo = nIn * TAPS;
        for (int i = 0; i < nIn; i += 4) {
            int i1 = Math.min(i + 1, nIn - 1), i2 = Math.min(i + 2, nIn - 1), i3 = Math.min(i + 3, nIn - 1);
            for (int py = 0; py < H + 2; py++) {
                int px = 0;
                // two neighbouring cells share the zero-bordered gradient's columns, as in convolve
                for (; px + 1 < PW; px += 2) {
                    for (int c = 0; c < C; c += L) {
                        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
                        for (int o = 0; o < nOut; o++) {
                            int wb = w + o * wo;
                            for (int ky = 0; ky < 3; ky++) {
                                // tap (ky, kx) of output cell (py - ky, px - kx) read padded cell (py, px)
                                int row = ((o * (H + 4) + py - ky + 2) * ZW + px) * C + c;
                                FloatVector v0 = FloatVector.fromArray(S, gZero, row), v1 = FloatVector.fromArray(S, gZero, row + C),
                                        v2 = FloatVector.fromArray(S, gZero, row + 2 * C), v3 = FloatVector.fromArray(S, gZero, row + 3 * C);
                                int t = wb + ky * 3;
                                FloatVector k;
                                k = FloatVector.broadcast(S, p[t + i * TAPS]);
                                a0 = v2.fma(k, a0); e0 = v3.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + i1 * TAPS]);
                                a1 = v2.fma(k, a1); e1 = v3.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + i2 * TAPS]);
                                a2 = v2.fma(k, a2); e2 = v3.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + i3 * TAPS]);
                                a3 = v2.fma(k, a3); e3 = v3.fma(k, e3);
                                k = FloatVector.broadcast(S, p[t + 1 + i * TAPS]);
                                a0 = v1.fma(k, a0); e0 = v2.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + 1 + i1 * TAPS]);
                                a1 = v1.fma(k, a1); e1 = v2.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + 1 + i2 * TAPS]);
                                a2 = v1.fma(k, a2); e2 = v2.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + 1 + i3 * TAPS]);
                                a3 = v1.fma(k, a3); e3 = v2.fma(k, e3);
                                k = FloatVector.broadcast(S, p[t + 2 + i * TAPS]);
                                a0 = v0.fma(k, a0); e0 = v1.fma(k, e0);
                                k = FloatVector.broadcast(S, p[t + 2 + i1 * TAPS]);
                                a1 = v0.fma(k, a1); e1 = v1.fma(k, e1);
                                k = FloatVector.broadcast(S, p[t + 2 + i2 * TAPS]);
                                a2 = v0.fma(k, a2); e2 = v1.fma(k, e2);
                                k = FloatVector.broadcast(S, p[t + 2 + i3 * TAPS]);
                                a3 = v0.fma(k, a3); e3 = v1.fma(k, e3);
                            }
                        }
                        int cell = (py * PW + px) * C + c;
                        store(gPadded, 0, i, nIn, PHW, cell, a0, a1, a2, a3);
                        store(gPadded, 0, i, nIn, PHW, cell + C, e0, e1, e2, e3);
                    }
                }
                for (; px < PW; px++) {  // the last cell of an odd row
                    for (int c = 0; c < C; c += L) {
                        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                        for (int o = 0; o < nOut; o++) {
                            int wb = w + o * wo;
                            for (int ky = 0; ky < 3; ky++) {
                                int row = ((o * (H + 4) + py - ky + 2) * ZW + px + 2) * C + c;
                                for (int kx = 0; kx < 3; kx++) {
                                    FloatVector v = FloatVector.fromArray(S, gZero, row - kx * C);
                                    int t = wb + ky * 3 + kx;
                                    a0 = v.fma(FloatVector.broadcast(S, p[t + i * TAPS]), a0);
                                    a1 = v.fma(FloatVector.broadcast(S, p[t + i1 * TAPS]), a1);
                                    a2 = v.fma(FloatVector.broadcast(S, p[t + i2 * TAPS]), a2);
                                    a3 = v.fma(FloatVector.broadcast(S, p[t + i3 * TAPS]), a3);
                                }
                            }
                        }
                        store(gPadded, 0, i, nIn, PHW, (py * PW + px) * C + c, a0, a1, a2, a3);
                    }
                }
            }
        }
        for (int i = 0; i < nIn; i++) {
            for (int y = 0; y < H; y++) {
                System.arraycopy(gPadded, ((i * (H + 2) + y + 1) * PW + 1) * C, gIn, (i * cells + y * W) * C, W * C);
            }
            for (int py = 0; py < H + 2; py++) {
                for (int px = 0; px < PW; px++) {
                    if (py > 0 && py <= H && px > 0 && px <= W) continue;
                    int y = Math.min(Math.max(py - 1, 0), H - 1), x = Math.min(Math.max(px - 1, 0), W - 1);
                    int from = ((i * (H + 2) + py) * PW + px) * C, to = (i * cells + y * W + x) * C;
                    for (int c = 0; c < C; c++) gIn[to + c] += gPadded[from + c];
                }
            }
        }
    }

    @Override
    public void clearGradient() {
        java.util.Arrays.fill(gLanes, 0f);
    }

    @Override
    public void reduce(float[] out, int off) {
        DenseKernels.reduceLanes(gLanes, net.parameterCount(), out, off);
    }
}
