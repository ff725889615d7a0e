package hybridsam.tasks.data;

import hybridsam.io.NdArray;
import org.apache.commons.math3.ode.FirstOrderDifferentialEquations;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Independent checks shared by the pendulum and duffing tests. */
final class OdeTestSupport {

    private OdeTestSupport() {
    }

    /**
     * Classic fixed-step RK4, written here independently of the generator, returning the states at
     * t = k * frameDt with stepsPerFrame steps between frames.
     */
    static double[][] rk4(FirstOrderDifferentialEquations f, double[] y0, int frames, double frameDt, int stepsPerFrame) {
        int n = y0.length;
        double h = frameDt / stepsPerFrame;
        double[] y = y0.clone();
        double[] k1 = new double[n];
        double[] k2 = new double[n];
        double[] k3 = new double[n];
        double[] k4 = new double[n];
        double[] tmp = new double[n];
        double[][] out = new double[frames][];
        out[0] = y.clone();
        double t = 0;
        for (int frame = 1; frame < frames; frame++) {
            for (int s = 0; s < stepsPerFrame; s++) {
                f.computeDerivatives(t, y, k1);
                for (int i = 0; i < n; i++) tmp[i] = y[i] + 0.5 * h * k1[i];
                f.computeDerivatives(t + 0.5 * h, tmp, k2);
                for (int i = 0; i < n; i++) tmp[i] = y[i] + 0.5 * h * k2[i];
                f.computeDerivatives(t + 0.5 * h, tmp, k3);
                for (int i = 0; i < n; i++) tmp[i] = y[i] + h * k3[i];
                f.computeDerivatives(t + h, tmp, k4);
                for (int i = 0; i < n; i++) y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
                t += h;
            }
            out[frame] = y.clone();
        }
        return out;
    }

    /** Largest |difference| between the generator's clean trajectories and RK4 from the same initial states. */
    static double maxDeviationFromRk4(FirstOrderDifferentialEquations f, double[][][] clean, double frameDt) {
        double worst = 0;
        for (double[][] seq : clean) {
            double[][] ref = rk4(f, seq[0], seq.length, frameDt, 200);
            for (int k = 0; k < seq.length; k++) {
                for (int c = 0; c < seq[k].length; c++) {
                    worst = Math.max(worst, Math.abs(seq[k][c] - ref[k][c]));
                }
            }
        }
        return worst;
    }

    /** Standard deviation and mean of (float32 observation - clean state) over one split. */
    static double[] noiseStdAndMean(NdArray obs, double[][][] clean) {
        float[] data = obs.data();
        int at = 0;
        double sum = 0;
        double sumSq = 0;
        for (double[][] seq : clean) {
            for (double[] state : seq) {
                for (double v : state) {
                    double d = data[at++] - v;
                    sum += d;
                    sumSq += d * d;
                }
            }
        }
        double mean = sum / at;
        return new double[] {Math.sqrt(sumSq / at - mean * mean), mean};
    }

    static void assertShape(NdArray a, int... shape) {
        assertArrayEquals(shape, a.shape());
        assertTrue(a.data().length == shape[0] * shape[1] * shape[2], "data length matches shape");
    }

    /** Fails unless the value is made only of String, Number, Boolean, List and Map (string keys). */
    static void assertJsonFriendly(String where, Object value) {
        if (value instanceof String || value instanceof Number || value instanceof Boolean) {
            if (value instanceof Double d && !Double.isFinite(d)) fail(where + " is not finite");
            return;
        }
        if (value instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) assertJsonFriendly(where + "[" + i + "]", list.get(i));
            return;
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                assertTrue(e.getKey() instanceof String, where + " has a non-string key");
                assertJsonFriendly(where + "." + e.getKey(), e.getValue());
            }
            return;
        }
        fail(where + " has a non-JSON value: " + (value == null ? "null" : value.getClass()));
    }

    @SuppressWarnings("unchecked")
    static double listValue(Map<String, Object> manifest, String key, int index) {
        return ((List<Number>) manifest.get(key)).get(index).doubleValue();
    }
}
