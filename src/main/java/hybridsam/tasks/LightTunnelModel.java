package hybridsam.tasks;

import java.util.List;

/**
 * The light tunnel's camera model F2 (tasks.md, "light-tunnel"; the Causal Chambers' model F2,
 * Gamella et al. 2024, appendix and the causalchamber package): a regular hexagon of one colour
 * on a black background.
 *
 * <h2>Geometry</h2>
 * An image has H rows and W columns; pixel (row y, column x) has its centre at
 * <pre>
 *   px = (x + 0.5) / W,    py = 1 − (y + 0.5) / H        (the y axis points up, row 0 is the top)
 * </pre>
 * in fractions of the image side. The hexagon has circumradius {@link #RADIUS} = 0.22 and centre
 * ({@link #CENTER}, {@link #CENTER}) = (0.5, 0.5); vertex k (k = 0 .. 5) sits at
 * v_k = (0.5 + 0.22 cos(kπ/3), 0.5 + 0.22 sin(kπ/3)) (vertices far left and right, flat top and
 * bottom). A pixel is inside when the six cross products
 * <pre>
 *   c_k = (v_{k+1} − v_k) × (p − v_k) = (v_{k+1,x} − v_{k,x})(py − v_{k,y}) − (v_{k+1,y} − v_{k,y})(px − v_{k,x})
 * </pre>
 * (indices mod 6, computed in double) are all &gt; 0 or all &lt; 0; a pixel exactly on an edge is
 * outside. {@link #hexagonMask} gives the mask of an image size once (1 inside, 0 outside).
 *
 * <h2>Colour</h2>
 * With the five inputs (R, G, B in 0 .. 255, polariser angles θ1, θ2 in degrees) and the
 * sensor matrix S (3 × 3, row-major, S[c][j] at index 3c + j):
 * <pre>
 *   m   = cos²((θ1 − θ2) · π / 180)                                   (Malus's law)
 *   a_c = exposure · w_c · (S[c][0]·R + S[c][1]·G + S[c][2]·B) / 255 · m   (pre-clip colour)
 *   k_c = min(max(a_c, 0), 1)                                          (the colour)
 *   image[c][y][x] = k_c · mask[y][x]
 * </pre>
 * with w = {@link #W} and exposure = {@link #EXPOSURE}. Every step runs in double from the float
 * inputs and S, in exactly the order written ({@link #preClip}); the image holds k_c rounded to
 * float. A float32 kernel agrees to a few float ulps.
 *
 * <h2>Vector-Jacobian product</h2>
 * For a cotangent g of the image (same layout), the gradient with respect to S is
 * <pre>
 *   ∂L/∂S[c][j] = G_c · 1{0 &lt; a_c &lt; 1} · exposure · w_c · rgb_j / 255 · m,   G_c = Σ_{inside pixels} g[c][y][x]
 * </pre>
 * (the clip's derivative is 0 outside the open interval (0, 1), outside the hexagon the image is
 * 0 whatever S is). G_c adds the pixels in row-major order, in double ({@link #vjpS}).
 *
 * <p>Strided access: the methods read and write pixel value d = c·H·W + y·W + x at
 * {@code off + d·stride}, so the CPU backend's chunk layout (stride = samples per chunk) and a
 * plain image (stride 1) use the same code.
 */
public final class LightTunnelModel {

    /** Per-channel white balance w = (w_r, w_g, w_b) of the chambers' camera model. Shared: do not modify. */
    public static final double[] W = {2.65625, 1.0, 1.77344};
    /** Exposure factor of model F2. */
    public static final double EXPOSURE = 0.8;
    /** Hexagon circumradius as a fraction of the image side. */
    public static final double RADIUS = 0.22;
    /** Hexagon centre (both coordinates), as a fraction of the image side. */
    public static final double CENTER = 0.5;
    /**
     * The chambers' camera sensitivity at the LED wavelengths, row-major (S*[c][j] at 3c + j, c the
     * camera channel, j the LED): the true θ of the synthetic task. Shared: do not modify.
     */
    public static final double[] S_STAR = {
            0.2995802, 0.06920322, 0.028159,
            0.04017132, 0.9209918, 0.31265,
            0.00217392, 0.2071558, 0.75763};
    /** θ's names: S_rr, S_rg, S_rb, S_gr, ... (row = camera channel, column = LED), in S's row-major order. */
    public static final List<String> THETA_NAMES = List.of(
            "S_rr", "S_rg", "S_rb", "S_gr", "S_gg", "S_gb", "S_br", "S_bg", "S_bb");
    /** Values per sample of the inputs: R, G, B (0 .. 255), pol_1, pol_2 (degrees). */
    public static final int INPUTS = 5;
    /** Colour channels of an image. */
    public static final int CHANNELS = 3;

    private LightTunnelModel() {
    }

    /** Vertex k of the hexagon (k mod 6): {x, y} in fractions of the side, y up. */
    public static double[] vertex(int k) {
        double a = (k % 6) * Math.PI / 3;
        return new double[] {CENTER + RADIUS * Math.cos(a), CENTER + RADIUS * Math.sin(a)};
    }

    /** Whether the point (px, py) (fractions of the side, y up) is strictly inside the hexagon. */
    public static boolean inside(double px, double py) {
        int positive = 0, negative = 0;
        for (int k = 0; k < 6; k++) {
            double[] a = vertex(k), b = vertex(k + 1);
            double cross = (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
            if (cross > 0) positive++;
            else if (cross < 0) negative++;
        }
        return positive == 6 || negative == 6;
    }

    /** The hexagon mask of an H × W image, row-major: 1 inside, 0 outside (pixel centres, y up). */
    public static float[] hexagonMask(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("image must be at least 1 x 1");
        float[] mask = new float[height * width];
        for (int y = 0; y < height; y++) {
            double py = 1.0 - (y + 0.5) / height;
            for (int x = 0; x < width; x++) {
                mask[y * width + x] = inside((x + 0.5) / width, py) ? 1f : 0f;
            }
        }
        return mask;
    }

    /** Malus's factor m = cos²((θ1 − θ2) π / 180), angles in degrees. */
    public static double malus(double pol1, double pol2) {
        double c = Math.cos(Math.toRadians(pol1 - pol2));
        return c * c;
    }

    /**
     * The pre-clip colour a_c of one sample into a[0 .. 3): a_c = exposure · w_c ·
     * (S[c][0] R + S[c][1] G + S[c][2] B) / 255 · m, the sum left to right, then the products in
     * that order.
     *
     * @param s     S row-major at s[sOff .. sOff + 9)
     * @param in    the sample's inputs R, G, B, pol_1, pol_2 at in[inOff .. inOff + 5)
     */
    public static void preClip(double[] s, int sOff, float[] in, int inOff, double[] a) {
        double m = malus(in[inOff + 3], in[inOff + 4]);
        double r = in[inOff], g = in[inOff + 1], b = in[inOff + 2];
        for (int c = 0; c < 3; c++) {
            double dot = s[sOff + 3 * c] * r + s[sOff + 3 * c + 1] * g + s[sOff + 3 * c + 2] * b;
            a[c] = EXPOSURE * W[c] * dot / 255.0 * m;
        }
    }

    /** The clip of model F2: min(max(a, 0), 1). */
    public static double clip(double a) {
        return Math.min(Math.max(a, 0.0), 1.0);
    }

    /**
     * Renders F2 for one sample: out[off + d·stride] = k_c · mask[y·W + x], d = c·H·W + y·W + x.
     *
     * @param mask {@link #hexagonMask}(height, width)
     */
    public static void renderInto(float[] out, int off, int stride, int height, int width, float[] mask,
                                  double[] s, int sOff, float[] in, int inOff) {
        double[] a = new double[3];
        preClip(s, sOff, in, inOff, a);
        int cells = height * width;
        for (int c = 0; c < 3; c++) {
            float k = (float) clip(a[c]);
            int base = off + c * cells * stride;
            for (int p = 0; p < cells; p++) out[base + p * stride] = k * mask[p];
        }
    }

    /**
     * Adds the gradient with respect to S of ⟨g, F2(inputs; S)⟩ for one sample to gS[gsOff .. gsOff + 9)
     * (row-major): when 0 &lt; a_c &lt; 1, k_c = G_c · exposure · w_c · m / 255 (in that order) and
     * gS[3c + j] += k_c · rgb_j, with G_c = Σ g[gOff + (c·H·W + p)·stride] over the pixels p inside
     * the mask (mask[p] ≠ 0), p = 0 .. H·W − 1 in order, in double; nothing is added for a clipped channel.
     */
    public static void vjpS(float[] g, int gOff, int stride, int height, int width, float[] mask,
                            double[] s, int sOff, float[] in, int inOff, double[] gS, int gsOff) {
        double[] a = new double[3];
        preClip(s, sOff, in, inOff, a);
        double m = malus(in[inOff + 3], in[inOff + 4]);
        int cells = height * width;
        for (int c = 0; c < 3; c++) {
            if (!(a[c] > 0 && a[c] < 1)) continue;
            double sum = 0;
            int base = gOff + c * cells * stride;
            for (int p = 0; p < cells; p++) {
                if (mask[p] != 0f) sum += g[base + p * stride];
            }
            double k = sum * EXPOSURE * W[c] * m / 255.0;
            for (int j = 0; j < 3; j++) gS[gsOff + 3 * c + j] += k * in[inOff + j];
        }
    }

    /** Cosine similarity of two vectors (vec(Ŝ) and vec(S*)): ⟨a, b⟩ / (‖a‖ ‖b‖); 0 when one is zero. */
    public static double cosine(double[] a, double[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("vectors differ in length");
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0.0;
    }
}
