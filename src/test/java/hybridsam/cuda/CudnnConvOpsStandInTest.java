package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CudnnConvOps} through JCudnn over the stand-in libcudnn.so.9, against a scalar Java
 * reference of {@link ConvOps}' layout: forward, backward data and backward filter for K = 2
 * (each replica its own weights, strided inside a larger parameter buffer at an offset) and
 * K = 1, on a non-square grid, with operands at 16-byte aligned and unaligned offsets (the latter
 * staged); nothing outside an operand is written; backward filter accumulates; a captured step
 * replays to the same bits; refused algorithms fall back or say why; close frees everything.
 */
class CudnnConvOpsStandInTest extends EmulatedDeviceTests {
    /** What the guard floats around every operand hold; a write outside an operand changes one. */
    private static final float GUARD = 12345.5f;
    private static final int TAPS = 9;

    @BeforeAll
    static void open() {
        openStandIn();
    }

    @AfterAll
    static void close() {
        closeStandIn();
    }

    @AfterEach
    void allAlgorithms() {
        if (StandIn.active()) StandIn.refuseCudnnAlgorithms("");
    }

    private static JCudaDevice jdev() {
        return (JCudaDevice) dev;
    }

    /**
     * One layer's operands on the host in the device layout: the parameters (replica r's W at
     * wOff + r·P as [out][in][3][3], b at bOff + r·P), the padded input [n][K][in][H+2][W+2],
     * dy [n][K][out][H][W], and the gradient buffer dW/db laid out like the parameters, holding
     * random values beforehand (backward filter adds to them).
     */
    private static final class Layer {
        final int K, n, in, out, H, W, P;
        final long wOff, bOff, actOff;
        final float[] params, x, dy, grad;

        Layer(int K, int n, int in, int out, int H, int W, long actOff, SplittableRandom rng) {
            this.K = K;
            this.n = n;
            this.in = in;
            this.out = out;
            this.H = H;
            this.W = W;
            this.actOff = actOff;
            P = out * in * TAPS + out + 5;  // a replica's parameters and some others: strided, not packed
            wOff = 7;
            bOff = wOff + (long) out * in * TAPS;
            params = random(rng, (int) wOff + K * P + 3);
            x = random(rng, n * K * in * (H + 2) * (W + 2));
            dy = random(rng, n * K * out * H * W);
            grad = random(rng, params.length);
        }

        float w(int r, int o, int c, int ky, int kx) {
            return params[(int) wOff + r * P + (o * in + c) * TAPS + ky * 3 + kx];
        }

        float b(int r, int o) {
            return params[(int) bOff + r * P + o];
        }

        int xi(int s, int r, int c, int py, int px) {
            return (((s * K + r) * in + c) * (H + 2) + py) * (W + 2) + px;
        }

        int yi(int s, int r, int o, int y, int xx) {
            return (((s * K + r) * out + o) * H + y) * W + xx;
        }

        Strided weights(DeviceBuffer buf) {
            return new Strided(buf, wOff, P);
        }

        Strided biases(DeviceBuffer buf) {
            return new Strided(buf, bOff, P);
        }

        /** y = W ⋆ xPadded + b, with the magnitude of its terms (for the tolerance). */
        double[][] forward() {
            double[] y = new double[dy.length], mag = new double[dy.length];
            for (int s = 0; s < n; s++)
                for (int r = 0; r < K; r++)
                    for (int o = 0; o < out; o++)
                        for (int yy = 0; yy < H; yy++)
                            for (int xx = 0; xx < W; xx++) {
                                double acc = b(r, o), m = Math.abs(acc);
                                for (int c = 0; c < in; c++)
                                    for (int ky = 0; ky < 3; ky++)
                                        for (int kx = 0; kx < 3; kx++) {
                                            double t = (double) w(r, o, c, ky, kx) * x[xi(s, r, c, yy + ky, xx + kx)];
                                            acc += t;
                                            m += Math.abs(t);
                                        }
                                y[yi(s, r, o, yy, xx)] = acc;
                                mag[yi(s, r, o, yy, xx)] = m;
                            }
            return new double[][]{y, mag};
        }

        /** dxPadded: every padded cell, border included, gets what the taps that read it send back. */
        double[][] backwardData() {
            double[] dx = new double[x.length], mag = new double[x.length];
            for (int s = 0; s < n; s++)
                for (int r = 0; r < K; r++)
                    for (int o = 0; o < out; o++)
                        for (int yy = 0; yy < H; yy++)
                            for (int xx = 0; xx < W; xx++)
                                for (int c = 0; c < in; c++)
                                    for (int ky = 0; ky < 3; ky++)
                                        for (int kx = 0; kx < 3; kx++) {
                                            double t = (double) w(r, o, c, ky, kx) * dy[yi(s, r, o, yy, xx)];
                                            dx[xi(s, r, c, yy + ky, xx + kx)] += t;
                                            mag[xi(s, r, c, yy + ky, xx + kx)] += Math.abs(t);
                                        }
            return new double[][]{dx, mag};
        }

        /** The gradient buffer after `times` backward filters: grad + times · (Σ dy ⋆ xPadded, Σ dy) at W and b. */
        double[][] backwardFilter(int times) {
            double[] g = new double[grad.length], mag = new double[grad.length];
            for (int i = 0; i < g.length; i++) g[i] = grad[i];
            for (int s = 0; s < n; s++)
                for (int r = 0; r < K; r++)
                    for (int o = 0; o < out; o++)
                        for (int yy = 0; yy < H; yy++)
                            for (int xx = 0; xx < W; xx++) {
                                double d = dy[yi(s, r, o, yy, xx)];
                                int bi = (int) bOff + r * P + o;
                                g[bi] += times * d;
                                mag[bi] += times * Math.abs(d);
                                for (int c = 0; c < in; c++)
                                    for (int ky = 0; ky < 3; ky++)
                                        for (int kx = 0; kx < 3; kx++) {
                                            int wi = (int) wOff + r * P + (o * in + c) * TAPS + ky * 3 + kx;
                                            double t = d * x[xi(s, r, c, yy + ky, xx + kx)];
                                            g[wi] += times * t;
                                            mag[wi] += times * Math.abs(t);
                                        }
                            }
            for (int i = 0; i < g.length; i++) mag[i] += Math.abs(grad[i]);
            return new double[][]{g, mag};
        }
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (2 * rng.nextDouble() - 1);
        return a;
    }

    /** A device buffer holding data at float offset off, guard values before and after it. */
    private static DeviceBuffer put(DeviceScope s, float[] data, long off) {
        float[] all = new float[(int) off + data.length + 8];
        Arrays.fill(all, GUARD);
        System.arraycopy(data, 0, all, (int) off, data.length);
        DeviceBuffer b = s.floats(all.length);
        dev.upload(b, all);
        return b;
    }

    /** Guards only, room for len floats at off (an output). */
    private static DeviceBuffer room(DeviceScope s, int len, long off) {
        return put(s, filled(len, GUARD), off);
    }

    private static float[] filled(int len, float v) {
        float[] a = new float[len];
        Arrays.fill(a, v);
        return a;
    }

    private static float[] get(DeviceBuffer b) {
        float[] all = new float[(int) (b.bytes() / 4)];
        dev.download(b, all);
        return all;
    }

    /** The operand at off equals the reference within float32 rounding of its terms; the guards are untouched. */
    private static void assertOperand(String what, double[][] ref, float[] all, long off) {
        for (int i = 0; i < all.length; i++) {
            if (i < off || i >= off + ref[0].length) {
                assertEquals(GUARD, all[i], what + ": float " + i + " outside the operand was written");
                continue;
            }
            int j = (int) (i - off);
            double tol = 1e-6 * (1 + ref[1][j]);
            assertEquals(ref[0][j], all[i], tol, what + " at " + j);
        }
    }

    /** The gradient buffer: W and b of every replica as the reference says, every other float as it was. */
    private static void assertGradient(String what, double[][] ref, float[] all) {
        assertEquals(ref[0].length, all.length);
        for (int i = 0; i < all.length; i++) assertEquals(ref[0][i], all[i], 1e-6 * (1 + ref[1][i]), what + " at " + i);
    }

    private static DeviceBuffer exact(DeviceScope s, float[] data) {
        DeviceBuffer b = s.floats(data.length);
        dev.upload(b, data);
        return b;
    }

    /** The three passes of one layer on the device against the reference; actOff places every activation. */
    private static void checkLayer(int K, int n, int in, int out, int H, int W, long actOff, long seed) {
        Layer l = new Layer(K, n, in, out, H, W, actOff, new SplittableRandom(seed));
        String shape = "K=" + K + " n=" + n + " " + in + "->" + out + " on " + H + "x" + W + " at offset " + actOff;
        try (DeviceScope s = new DeviceScope(dev)) {
            CudnnConvOps ops = s.own(new CudnnConvOps(jdev()));
            DeviceBuffer params = exact(s, l.params), grad = exact(s, l.grad);
            DeviceBuffer x = put(s, l.x, actOff), dy = put(s, l.dy, actOff);
            DeviceBuffer y = room(s, l.dy.length, actOff), dx = room(s, l.x.length, actOff);
            Strided xs = new Strided(x, actOff, 0), dys = new Strided(dy, actOff, 0);

            ops.forward(K, n, in, out, H, W, l.weights(params), l.biases(params), xs, new Strided(y, actOff, 0));
            assertOperand("forward " + shape, l.forward(), get(y), actOff);

            ops.backwardData(K, n, in, out, H, W, l.weights(params), dys, new Strided(dx, actOff, 0));
            assertOperand("backward data " + shape, l.backwardData(), get(dx), actOff);

            ops.backwardFilter(K, n, in, out, H, W, dys, xs, l.weights(grad), l.biases(grad));
            assertGradient("backward filter " + shape, l.backwardFilter(1), get(grad));
            ops.backwardFilter(K, n, in, out, H, W, dys, xs, l.weights(grad), l.biases(grad));
            assertGradient("backward filter twice " + shape, l.backwardFilter(2), get(grad));

            // the inputs are read only
            assertOperand("the padded input after the passes", new double[][]{toDouble(l.x), new double[l.x.length]}, get(x), actOff);
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    @Test
    void twoReplicasMatchTheReference() {
        checkLayer(2, 3, 2, 3, 6, 5, 0, 11);
    }

    @Test
    void oneReplicaMatchesTheReference() {
        checkLayer(1, 3, 2, 3, 6, 5, 0, 12);
    }

    /** Activations at an offset that is not 16-byte aligned go through cuDNN via aligned staging copies. */
    @Test
    void unalignedActivationsAreStaged() {
        checkLayer(2, 3, 2, 3, 6, 5, 3, 13);
        checkLayer(2, 2, 3, 1, 1, 4, 4, 14);  // aligned offset; a grid one cell high
    }

    /** A step (forward, backward data, backward filter) captured as a graph replays to the bits of the same calls made directly. */
    @Test
    void capturedStepReplaysTheSameNumbers() {
        Layer l = new Layer(2, 3, 2, 3, 6, 5, 0, new SplittableRandom(21));
        int K = l.K, n = l.n, in = l.in, out = l.out, H = l.H, W = l.W;
        try (DeviceScope s = new DeviceScope(dev)) {
            CudnnConvOps ops = s.own(new CudnnConvOps(jdev()));
            DeviceBuffer params = exact(s, l.params), grad = exact(s, l.grad);
            DeviceBuffer x = exact(s, l.x), dy = exact(s, l.dy);
            DeviceBuffer y = s.floats(l.dy.length), dx = s.floats(l.x.length);
            Strided xs = new Strided(x, 0, 0), dys = new Strided(dy, 0, 0);
            Runnable step = () -> {
                ops.forward(K, n, in, out, H, W, l.weights(params), l.biases(params), xs, new Strided(y, 0, 0));
                ops.backwardData(K, n, in, out, H, W, l.weights(params), dys, new Strided(dx, 0, 0));
                ops.backwardFilter(K, n, in, out, H, W, dys, xs, l.weights(grad), l.biases(grad));
            };
            step.run();  // the first run of a shape allocates; outside the capture
            float[][] direct = {get(y), get(dx), get(grad)};
            assertGradient("the direct step", l.backwardFilter(1), direct[2]);

            dev.upload(grad, l.grad);
            dev.zero(y);
            dev.zero(dx);
            int live = StandIn.liveAllocations();
            try (StepGraph g = dev.capture(step)) {
                assertEquals(live, StandIn.liveAllocations(), "nothing allocated while capturing");
                assertArrayEquals(new float[l.dy.length], get(y), "capturing ran nothing");
                g.launch();
                assertArrayEquals(direct[0], get(y));
                assertArrayEquals(direct[1], get(dx));
                assertArrayEquals(direct[2], get(grad));
                g.launch();  // replays accumulate into the gradient like direct calls
                assertGradient("two replays", l.backwardFilter(2), get(grad));
            }
        }
    }

    /** A shape's first use allocates its scratch, which a capture may not: refused, naming the way out. */
    @Test
    void firstUseInsideACaptureIsRefused() {
        Layer l = new Layer(1, 2, 1, 2, 3, 4, 0, new SplittableRandom(22));
        try (DeviceScope s = new DeviceScope(dev)) {
            CudnnConvOps ops = s.own(new CudnnConvOps(jdev()));
            DeviceBuffer params = exact(s, l.params), x = exact(s, l.x), y = s.floats(l.dy.length);
            Runnable forward = () -> ops.forward(l.K, l.n, l.in, l.out, l.H, l.W, l.weights(params), l.biases(params),
                    new Strided(x, 0, 0), new Strided(y, 0, 0));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> dev.capture(forward));
            assertTrue(e.getMessage().contains("run the step once outside the capture first"), e.getMessage());
            assertEquals("", StandIn.lastReport(), "refused before the driver saw an allocation");
            forward.run();  // the way out: once outside, then the capture records it
            dev.capture(forward).close();
        }
    }

    /** cuDNN 9 refusing the preferred algorithms: the deterministic fallbacks (forward with a workspace) give the same numbers. */
    @Test
    void refusedAlgorithmsFallBackToDeterministicOnes() {
        StandIn.refuseCudnnAlgorithms("fwd:0,bwd_data:1,bwd_filter:1");
        checkLayer(2, 3, 2, 3, 6, 5, 0, 31);
    }

    @Test
    void noDeterministicAlgorithmSaysSo() {
        StandIn.refuseCudnnAlgorithms("bwd_filter:1,bwd_filter:2");
        DeviceException e = assertThrows(DeviceException.class, () -> checkLayer(2, 3, 2, 3, 6, 5, 0, 32));
        assertTrue(e.getMessage().contains("no deterministic algorithm for the backward_filter pass of a 3x3 convolution"), e.getMessage());
        assertTrue(e.getMessage().contains("groups 2"), e.getMessage());
        dev.synchronize();  // a refusal is no device fault: the stream carries on
    }

    /** Every scratch buffer (packed filters, bias sums, workspace, staging) is freed by close. */
    @Test
    void closeFreesEverything() {
        int before = liveBuffers();
        checkLayer(2, 3, 2, 3, 6, 5, 3, 41);
        assertEquals(before, liveBuffers());
        new CudnnConvOps(jdev()).close();
        assertEquals(before, liveBuffers());
    }

    @Test
    void describesItself() {
        try (CudnnConvOps ops = new CudnnConvOps(jdev())) {
            assertTrue(ops.describe().startsWith("cuDNN 9.") && ops.describe().contains("3x3"), ops.describe());
        }
    }
}
