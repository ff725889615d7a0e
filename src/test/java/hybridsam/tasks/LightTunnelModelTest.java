package hybridsam.tasks;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model F2: the hexagon, the colour formula and the vector-Jacobian product with respect to S. */
class LightTunnelModelTest {

    static final double AREA = 1.5 * Math.sqrt(3) * LightTunnelModel.RADIUS * LightTunnelModel.RADIUS;

    static int count(float[] mask) {
        int n = 0;
        for (float v : mask) n += v != 0 ? 1 : 0;
        return n;
    }

    @Test
    void hexagonCoversItsAreaFractionOfTheImage() {
        assertEquals(AREA, count(LightTunnelModel.hexagonMask(512, 512)) / (512.0 * 512), 0.002);
        assertEquals(AREA, count(LightTunnelModel.hexagonMask(64, 64)) / 4096.0, 0.01);
        assertEquals(AREA, count(LightTunnelModel.hexagonMask(16, 16)) / 256.0, 0.04);
    }

    @Test
    void hexagonHasVerticesLeftAndRightAndFlatTopAndBottom() {
        double r = LightTunnelModel.RADIUS;
        assertTrue(LightTunnelModel.inside(0.5 - 0.95 * r, 0.5), "near the left vertex");
        assertTrue(LightTunnelModel.inside(0.5 + 0.95 * r, 0.5), "near the right vertex");
        double flat = r * Math.sqrt(3) / 2;
        assertTrue(LightTunnelModel.inside(0.5, 0.5 + 0.98 * flat));
        assertFalse(LightTunnelModel.inside(0.5, 0.5 + 1.02 * flat), "the top edge is flat at r sqrt(3)/2");
        assertFalse(LightTunnelModel.inside(0.5 - 0.9 * r, 0.5 + 0.5 * flat), "corners cut near the left vertex");
        // rows count from the top: a hexagon is symmetric, so the mask is too, both ways
        float[] m = LightTunnelModel.hexagonMask(32, 32);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                assertEquals(m[y * 32 + x], m[(31 - y) * 32 + x]);
                assertEquals(m[y * 32 + x], m[y * 32 + 31 - x]);
            }
        }
        assertEquals(1f, m[16 * 32 + 16]);
        assertEquals(0f, m[0]);
    }

    @Test
    void colourAtAKnownInputIsTheFormula() {
        float[] in = {200, 100, 50, 30, -15};
        double m = Math.pow(Math.cos(Math.toRadians(45)), 2);
        double[] s = LightTunnelModel.S_STAR;
        float[] mask = LightTunnelModel.hexagonMask(16, 16);
        float[] img = new float[3 * 256];
        LightTunnelModel.renderInto(img, 0, 1, 16, 16, mask, s, 0, in, 0);
        for (int c = 0; c < 3; c++) {
            double a = 0.8 * LightTunnelModel.W[c] * (s[3 * c] * 200 + s[3 * c + 1] * 100 + s[3 * c + 2] * 50) / 255 * m;
            assertEquals(Math.min(a, 1), img[c * 256 + 8 * 16 + 8], 1e-6, "channel " + c);
            assertEquals(0f, img[c * 256], "black outside");
        }
        // red at S*: 0.8 * 2.65625 * (0.2995802*200 + 0.06920322*100 + 0.028159*50) / 255 * 0.5 = 2.125 * 0.267624 * 0.5
        assertEquals(0.28435, img[8 * 16 + 8], 1e-4);
        // a bright blue saturates
        float[] blue = {0, 0, 255, 0, 0};
        LightTunnelModel.renderInto(img, 0, 1, 16, 16, mask, s, 0, blue, 0);
        assertEquals(1f, img[2 * 256 + 8 * 16 + 8]);
    }

    @Test
    void stridedRenderingPlacesEachValueAtDTimesStride() {
        float[] in = {10, 200, 30, 0, 60};
        float[] mask = LightTunnelModel.hexagonMask(8, 8);
        float[] plain = new float[192], strided = new float[192 * 4];
        LightTunnelModel.renderInto(plain, 0, 1, 8, 8, mask, LightTunnelModel.S_STAR, 0, in, 0);
        LightTunnelModel.renderInto(strided, 2, 4, 8, 8, mask, LightTunnelModel.S_STAR, 0, in, 0);
        for (int d = 0; d < 192; d++) assertEquals(plain[d], strided[d * 4 + 2]);
    }

    /** ⟨g, F2(S)⟩ in double from the float image. */
    static double dot(float[] g, double[] s, float[] in, float[] mask, int h, int w) {
        float[] img = new float[3 * h * w];
        LightTunnelModel.renderInto(img, 0, 1, h, w, mask, s, 0, in, 0);
        double sum = 0;
        for (int i = 0; i < img.length; i++) sum += (double) g[i] * img[i];
        return sum;
    }

    @Test
    void vjpMatchesFiniteDifferencesAndIsZeroWhereClipped() {
        int h = 16, w = 16;
        float[] mask = LightTunnelModel.hexagonMask(h, w);
        SplittableRandom rng = new SplittableRandom(3);
        float[] g = new float[3 * h * w];
        for (int i = 0; i < g.length; i++) g[i] = (float) (2 * rng.nextDouble() - 1);
        // blue saturates at S* for this input, red and green do not
        float[] in = {120, 180, 250, 20, 5};
        double[] s = LightTunnelModel.S_STAR.clone();
        s[8] = 2.0;
        double[] a = new double[3];
        LightTunnelModel.preClip(s, 0, in, 0, a);
        assertTrue(a[0] < 1 && a[1] < 1 && a[2] > 1, java.util.Arrays.toString(a));
        double[] gs = new double[9];
        LightTunnelModel.vjpS(g, 0, 1, h, w, mask, s, 0, in, 0, gs, 0);
        double step = 1e-3;
        for (int i = 0; i < 9; i++) {
            double[] up = s.clone(), down = s.clone();
            up[i] += step;
            down[i] -= step;
            double fd = (dot(g, up, in, mask, h, w) - dot(g, down, in, mask, h, w)) / (2 * step);
            if (i >= 6) assertEquals(0.0, gs[i], "blue is clipped: no gradient");
            assertEquals(fd, gs[i], 1e-3 * Math.max(1, Math.abs(fd)), "S entry " + i);
        }
        assertTrue(Math.abs(gs[4]) > 0.1, "green's gradient is not trivially zero: " + gs[4]);
    }

    @Test
    void cosineIsScaleFree() {
        double[] s = LightTunnelModel.S_STAR;
        double[] twice = new double[9];
        for (int i = 0; i < 9; i++) twice[i] = 2 * s[i];
        assertEquals(1.0, LightTunnelModel.cosine(twice, s), 1e-12);
    }
}
