package hybridsam.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dense-layer loops over a chunk of C samples stored feature-major (x[k * C + c]), C a multiple
 * of the vector length. Output rows are blocked by four so that each loaded input vector feeds
 * four fused multiply-adds.
 */
final class DenseKernels {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private DenseKernels() {
    }

    /** out[i][c] = b[i] + Σ_k W[i][k] in[k][c]; W row-major at p[w], b at p[b]. */
    static void forward(float[] p, int w, int b, int nIn, int nOut,
                        float[] in, int inOff, float[] out, int outOff, int C) {
        int i = 0;
        for (; i + 4 <= nOut; i += 4) {
            int r0 = w + i * nIn, r1 = r0 + nIn, r2 = r1 + nIn, r3 = r2 + nIn;
            for (int c = 0; c < C; c += L) {
                FloatVector a0 = FloatVector.broadcast(S, p[b + i]);
                FloatVector a1 = FloatVector.broadcast(S, p[b + i + 1]);
                FloatVector a2 = FloatVector.broadcast(S, p[b + i + 2]);
                FloatVector a3 = FloatVector.broadcast(S, p[b + i + 3]);
                for (int k = 0; k < nIn; k++) {
                    FloatVector x = FloatVector.fromArray(S, in, inOff + k * C + c);
                    a0 = x.fma(FloatVector.broadcast(S, p[r0 + k]), a0);
                    a1 = x.fma(FloatVector.broadcast(S, p[r1 + k]), a1);
                    a2 = x.fma(FloatVector.broadcast(S, p[r2 + k]), a2);
                    a3 = x.fma(FloatVector.broadcast(S, p[r3 + k]), a3);
                }
                a0.intoArray(out, outOff + i * C + c);
                a1.intoArray(out, outOff + (i + 1) * C + c);
                a2.intoArray(out, outOff + (i + 2) * C + c);
                a3.intoArray(out, outOff + (i + 3) * C + c);
            }
        }
        for (; i < nOut; i++) {
            int r = w + i * nIn;
            for (int c = 0; c < C; c += L) {
                FloatVector a = FloatVector.broadcast(S, p[b + i]);
                for (int k = 0; k < nIn; k++) {
                    a = FloatVector.fromArray(S, in, inOff + k * C + c).fma(FloatVector.broadcast(S, p[r + k]), a);
                }
                a.intoArray(out, outOff + i * C + c);
            }
        }
    }

    /**
     * gIn[k][c] = Σ_i W[i][k] gOut[i][c] (overwrites gIn). The vector of samples is the outer
     * loop: its strip of gOut (nOut vectors) stays in cache for every block of inputs, which
     * matters when gOut is wide and long (a decoder's pixels over a chunk of frames). Each
     * output's sum runs over i in the same order whatever the loop nesting.
     */
    static void backwardInput(float[] p, int w, int nIn, int nOut,
                              float[] gOut, int gOutOff, float[] gIn, int gInOff, int C) {
        for (int c = 0; c < C; c += L) {
            int k = 0;
            for (; k + 4 <= nIn; k += 4) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int i = 0; i < nOut; i++) {
                    FloatVector g = FloatVector.fromArray(S, gOut, gOutOff + i * C + c);
                    int r = w + i * nIn + k;
                    a0 = g.fma(FloatVector.broadcast(S, p[r]), a0);
                    a1 = g.fma(FloatVector.broadcast(S, p[r + 1]), a1);
                    a2 = g.fma(FloatVector.broadcast(S, p[r + 2]), a2);
                    a3 = g.fma(FloatVector.broadcast(S, p[r + 3]), a3);
                }
                a0.intoArray(gIn, gInOff + k * C + c);
                a1.intoArray(gIn, gInOff + (k + 1) * C + c);
                a2.intoArray(gIn, gInOff + (k + 2) * C + c);
                a3.intoArray(gIn, gInOff + (k + 3) * C + c);
            }
            for (; k < nIn; k++) {
                FloatVector a = FloatVector.zero(S);
                for (int i = 0; i < nOut; i++) {
                    a = FloatVector.fromArray(S, gOut, gOutOff + i * C + c).fma(FloatVector.broadcast(S, p[w + i * nIn + k]), a);
                }
                a.intoArray(gIn, gInOff + k * C + c);
            }
        }
    }

    /**
     * Accumulates the weight and bias gradients into lane accumulators: gWl[(i*nIn + k)*L + lane]
     * += Σ over the chunk's vectors of gOut[i]·in[k], gBl[i*L + lane] += Σ gOut[i]. Summing lanes
     * is deferred to the end of the chunk ({@link #reduceLanes}), so the hot loop has no
     * horizontal reductions.
     */
    static void accumulateWeights(float[] gOut, int gOutOff, float[] in, int inOff, int nIn, int nOut,
                                  float[] gWl, int gWlOff, float[] gBl, int gBlOff, int C) {
        int i = 0;
        // four output rows per loaded input vector where there are many rows (a decoder's pixels);
        // every accumulator still adds the chunk's vectors in order, so the blocking changes no bits
        for (; nOut >= 256 && i + 4 <= nOut; i += 4) {
            int g0 = gOutOff + i * C, g1 = g0 + C, g2 = g1 + C, g3 = g2 + C;
            for (int j = 0; j < 4; j++) {
                FloatVector b = FloatVector.fromArray(S, gBl, gBlOff + (i + j) * L);
                for (int c = 0; c < C; c += L) b = b.add(FloatVector.fromArray(S, gOut, g0 + j * C + c));
                b.intoArray(gBl, gBlOff + (i + j) * L);
            }
            for (int k = 0; k < nIn; k++) {
                int a0i = gWlOff + (i * nIn + k) * L, a1i = a0i + nIn * L, a2i = a1i + nIn * L, a3i = a2i + nIn * L;
                FloatVector a0 = FloatVector.fromArray(S, gWl, a0i);
                FloatVector a1 = FloatVector.fromArray(S, gWl, a1i);
                FloatVector a2 = FloatVector.fromArray(S, gWl, a2i);
                FloatVector a3 = FloatVector.fromArray(S, gWl, a3i);
                for (int c = 0; c < C; c += L) {
                    FloatVector x = FloatVector.fromArray(S, in, inOff + k * C + c);
                    a0 = FloatVector.fromArray(S, gOut, g0 + c).fma(x, a0);
                    a1 = FloatVector.fromArray(S, gOut, g1 + c).fma(x, a1);
                    a2 = FloatVector.fromArray(S, gOut, g2 + c).fma(x, a2);
                    a3 = FloatVector.fromArray(S, gOut, g3 + c).fma(x, a3);
                }
                a0.intoArray(gWl, a0i);
                a1.intoArray(gWl, a1i);
                a2.intoArray(gWl, a2i);
                a3.intoArray(gWl, a3i);
            }
        }
        for (; i + 2 <= nOut; i += 2) {
            int g0 = gOutOff + i * C, g1 = g0 + C;
            FloatVector b0 = FloatVector.fromArray(S, gBl, gBlOff + i * L);
            FloatVector b1 = FloatVector.fromArray(S, gBl, gBlOff + (i + 1) * L);
            for (int c = 0; c < C; c += L) {
                b0 = b0.add(FloatVector.fromArray(S, gOut, g0 + c));
                b1 = b1.add(FloatVector.fromArray(S, gOut, g1 + c));
            }
            b0.intoArray(gBl, gBlOff + i * L);
            b1.intoArray(gBl, gBlOff + (i + 1) * L);
            for (int k = 0; k < nIn; k++) {
                int a0i = gWlOff + (i * nIn + k) * L, a1i = a0i + nIn * L;
                FloatVector a0 = FloatVector.fromArray(S, gWl, a0i);
                FloatVector a1 = FloatVector.fromArray(S, gWl, a1i);
                for (int c = 0; c < C; c += L) {
                    FloatVector x = FloatVector.fromArray(S, in, inOff + k * C + c);
                    a0 = FloatVector.fromArray(S, gOut, g0 + c).fma(x, a0);
                    a1 = FloatVector.fromArray(S, gOut, g1 + c).fma(x, a1);
                }
                a0.intoArray(gWl, a0i);
                a1.intoArray(gWl, a1i);
            }
        }
        for (; i < nOut; i++) {
            int g0 = gOutOff + i * C;
            FloatVector b0 = FloatVector.fromArray(S, gBl, gBlOff + i * L);
            for (int c = 0; c < C; c += L) b0 = b0.add(FloatVector.fromArray(S, gOut, g0 + c));
            b0.intoArray(gBl, gBlOff + i * L);
            for (int k = 0; k < nIn; k++) {
                int ai = gWlOff + (i * nIn + k) * L;
                FloatVector a = FloatVector.fromArray(S, gWl, ai);
                for (int c = 0; c < C; c += L) {
                    a = FloatVector.fromArray(S, gOut, g0 + c).fma(FloatVector.fromArray(S, in, inOff + k * C + c), a);
                }
                a.intoArray(gWl, ai);
            }
        }
    }

    /**
     * out[j] = Σ_lane lanes[j*L + lane], summed lane 0 first, for j in [0, n). Scalar on purpose:
     * the order of the Vector API's reduceLanes is unspecified and may change with the JIT.
     */
    static void reduceLanes(float[] lanes, int n, float[] out, int outOff) {
        for (int j = 0; j < n; j++) {
            float s = 0f;
            for (int l = 0; l < L; l++) s += lanes[j * L + l];
            out[outOff + j] = s;
        }
    }
}
