package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.Sequences;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite-difference checks of every adjoint and gradient of GridReference (in double) against its
 * own forward loops: the reference the grid kernels are compared with. Linear maps are checked as
 * the derivative of ⟨v, f(x)⟩, whose gradient is the adjoint applied to v.
 */
class GridReferenceTest {
    private final SplittableRandom rng = new SplittableRandom(17);

    private double[] random(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = 2 * rng.nextDouble() - 1;
        return x;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Central differences of f at x along random directions and along the coordinates listed against grad. */
    private void fd(String what, ToDoubleFunction<double[]> f, double[] x, double[] grad, double step, double rtol, int... coords) {
        for (int t = 0; t < 4 + coords.length; t++) {
            double[] dir = new double[x.length];
            if (t < 4) dir = random(x.length);
            else dir[coords[t - 4]] = 1;
            double[] a = x.clone(), b = x.clone();
            for (int i = 0; i < x.length; i++) {
                a[i] += step * dir[i];
                b[i] -= step * dir[i];
            }
            double num = (f.applyAsDouble(a) - f.applyAsDouble(b)) / (2 * step), an = dot(grad, dir);
            assertEquals(num, an, rtol * Math.abs(num) + 1e-12, what + " direction " + t);
        }
    }

    @Test
    void paddingAdjoint() {
        int planes = 3, H = 4, W = 7;
        double[] x = random(planes * H * W), v = random(planes * (H + 2) * (W + 2));
        fd("pad", y -> dot(v, GridReference.pad(y, planes, H, W)), x, GridReference.padAdjoint(v, planes, H, W), 1e-3, 1e-9);
        // the 1 x 1 grid: every padded cell copies the one cell
        assertEquals(9 * 2.0, GridReference.padAdjoint(new double[]{2, 2, 2, 2, 2, 2, 2, 2, 2}, 1, 1, 1)[0], 0);
        // the float version (the kernel's arithmetic) is the same sum, to float rounding of at most 9 terms
        float[] vf = new float[v.length];
        for (int i = 0; i < v.length; i++) vf[i] = (float) v[i];
        double[] wide = GridReference.padAdjoint(ConvChecks.toDouble(vf), planes, H, W);
        float[] narrow = GridReference.padAdjoint(vf, planes, H, W);
        for (int i = 0; i < wide.length; i++) assertEquals(wide[i], narrow[i], 9 * 9 * 0x1p-24, "cell " + i);
    }

    @Test
    void convolutionAdjointsInInputAndWeights() {
        int K = 2, n = 3, in = 3, out = 2, H = 5, W = 4, stride = out * in * 9 + out + 3, wOff = 2, bOff = wOff + out * in * 9;
        double[] p = random(wOff + K * stride), xp = random(n * K * in * (H + 2) * (W + 2)), v = random(n * K * out * H * W);
        fd("conv data", y -> dot(v, GridReference.convForward(K, n, in, out, H, W, p, wOff, bOff, stride, y)), xp,
                GridReference.convBackwardData(K, n, in, out, H, W, p, wOff, stride, v), 1e-3, 1e-9);
        double[] g = new double[p.length];
        GridReference.convBackwardFilter(K, n, in, out, H, W, v, xp, g, wOff, bOff, stride);
        fd("conv filter", q -> dot(v, GridReference.convForward(K, n, in, out, H, W, q, wOff, bOff, stride, xp)), p, g, 1e-3, 1e-9,
                bOff + stride + 1, wOff + 5);
    }

    @Test
    void diffusionVjpInStateAndTheta() {
        int K = 2, n = 2, C = 2, H = 6, W = 5;
        double inv = 3.7;
        double[] theta = {1.5e-3, 5e-3, 2e-3, 7e-4}, z = random(n * K * C * H * W), v = random(z.length);
        double[] gz = new double[z.length], gt = new double[K * C];
        GridReference.diffusionVjp(K, n, C, H, W, inv, theta, z, v, gz, gt);
        fd("diffusion z", y -> dot(v, GridReference.diffusionField(K, n, C, H, W, inv, theta, y)), z, gz, 1e-3, 1e-8);
        fd("diffusion theta", t -> dot(v, GridReference.diffusionField(K, n, C, H, W, inv, t, z)), theta, gt, 1e-4, 1e-8, 0, 3);
    }

    /**
     * The edge-replicate five-point Laplacian is a symmetric matrix (the graph Laplacian of the
     * grid: neighbours couple with 1 both ways, a missing neighbour only adds 1 to the diagonal),
     * which hs_diffusion_vjp relies on to apply the stencil itself as its adjoint.
     */
    @Test
    void replicateLaplacianIsSymmetric() {
        for (int[] g : new int[][]{{6, 5}, {1, 4}, {3, 1}, {2, 2}}) {
            int H = g[0], W = g[1], N = H * W;
            double[][] A = new double[N][];
            for (int q = 0; q < N; q++) {
                double[] e = new double[N];
                e[q] = 1;
                A[q] = GridReference.diffusionField(1, 1, 1, H, W, 1, new double[]{1}, e);  // column q
            }
            for (int p = 0; p < N; p++) for (int q = 0; q < N; q++) assertEquals(A[q][p], A[p][q], 0, H + "x" + W);
        }
    }

    @Test
    void correctorBackward() {
        ConvShape net = new ConvShape(new int[]{2, 4, 3, 2}, 5, 6, Activation.LEAKY_RELU);
        double[] p = random(3 + net.parameterCount()), y = random(net.inputs()), v = random(net.outputs());
        double[] g = new double[p.length];
        double[][] xs = GridReference.netForward(net, p, 3, y, new double[net.outputs()]);
        double[] gy = GridReference.netBackward(net, p, 3, xs, v, g);
        ToDoubleFunction<double[]> inY = q -> {
            double[] o = new double[net.outputs()];
            GridReference.netForward(net, p, 3, q, o);
            return dot(v, o);
        };
        ToDoubleFunction<double[]> inP = q -> {
            double[] o = new double[net.outputs()];
            GridReference.netForward(net, q, 3, y, o);
            return dot(v, o);
        };
        // steps well below the distance to leaky ReLU's kink for these random values
        fd("net input", inY, y, gy, 1e-6, 1e-5);
        fd("net weights", inP, p, g, 1e-6, 1e-5, 3, 3 + net.biasOffset(2));
    }

    @Test
    void wholeRolloutGradient() {
        GridHybrid m = ConvChecks.hybrid(4, 5, 2, new int[]{2, 3, 2});
        int K = 2, B = 2, frames = 3, P = m.parameterCount();
        Sequences data = ConvChecks.randomSequences(m, 3, frames, rng);
        double[] p = ConvChecks.toDouble(ConvChecks.randomParams(m, K, rng));
        int[] batch = {0, 2, 1, 1};
        double[] g = new double[K * P];
        GridReference.lossAndGradient(m, p, data, batch, B, g);
        ToDoubleFunction<double[]> loss = q -> {
            double[] l = GridReference.lossAndGradient(m, q, data, batch, B, new double[K * P]);
            return l[0] + l[1];
        };
        // θ's components of both replicas singly (their gradient is small next to φ's)
        fd("rollout", loss, p, g, 1e-6, 1e-5, 0, 1, P, P + 1);
        assertTrue(Math.abs(g[0]) > 0 && Math.abs(g[P + 1]) > 0);
    }
}
