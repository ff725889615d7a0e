package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.data.WindTunnelData;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wind tunnel's physics (A2, C1, C3 and their derivatives) and the simulator. */
class WindTunnelModelTest {

    private static double central(java.util.function.DoubleUnaryOperator f, double x, double h) {
        return (f.applyAsDouble(x + h) - f.applyAsDouble(x - h)) / (2 * h);
    }

    @Test
    void thetaStarIsTorqueAndDragOverInertia() {
        double[] t = WindTunnelModel.thetaStar();
        assertEquals(1436.3688595231256, t[0], 1e-9);
        assertEquals(1.51355976713633, t[1] * 1e3, 1e-9);
        // u = 0 is the middle of a box a decade either side of θ* in log scale: θ* itself
        for (int i = 0; i < 2; i++) assertEquals(t[i], WindTunnelModel.THETA.toPhysical(i, 0), 1e-9 * t[i]);
    }

    @Test
    void fanFieldVjpMatchesFiniteDifferences() {
        double a = 1100, b = 2.1e-3;
        for (double load : new double[]{0, 0.01, 0.3, 1}) {
            for (double w : new double[]{5, 120, 300}) {
                double g = 0.7;
                double[] gTheta = new double[2];
                double gw = WindTunnelModel.fanFieldVjp(w, load, b, g, gTheta);
                double fw = central(x -> WindTunnelModel.fanField(x, load, a, b), w, 1e-3);
                double fa = central(x -> WindTunnelModel.fanField(w, load, x, b), a, 1e-2);
                double fb = central(x -> WindTunnelModel.fanField(w, load, a, x), b, 1e-7);
                assertEquals(g * fw, gw, 1e-7 * Math.max(1, Math.abs(gw)), "d/domega at L=" + load + ", w=" + w);
                assertEquals(g * fa, gTheta[0], 1e-8, "d/dtheta_T");
                assertEquals(g * fb, gTheta[1], 1e-6 * Math.abs(gTheta[1]), "d/dtheta_K");
            }
        }
        assertEquals(0, WindTunnelModel.loadFactor(0));
        assertEquals(WindTunnelModel.loadFactor(0.1), WindTunnelModel.loadFactor(0.05));
    }

    @Test
    void pressureC1DerivativesMatchFiniteDifferences() {
        for (double wi : new double[]{10, 150, 310}) {
            for (double wo : new double[]{0, 80, 300}) {
                double di = central(x -> WindTunnelModel.pressureC1(x, wo), wi, 1e-3);
                double dout = central(x -> WindTunnelModel.pressureC1(wi, x), wo, 1e-3);
                assertEquals(di, WindTunnelModel.pressureC1DIn(wi), 1e-8);
                assertEquals(dout, WindTunnelModel.pressureC1DOut(wo), 1e-8);
            }
        }
        double w = WindTunnelModel.OMEGA_MAX;
        assertEquals(WindTunnelModel.S_MAX, WindTunnelModel.pressureC1(w, 0), 1e-12);
        assertEquals(0.25 * WindTunnelModel.S_MAX, WindTunnelModel.pressureC3(w, 0, 0), 1e-12);
        assertEquals(0.1 * WindTunnelModel.S_MAX, WindTunnelModel.pressureC3(w, 0, 45), 1e-12);
    }

    @Test
    void steadySpeedIsOmegaMaxTimesLoadToTheOneAndAHalfWithoutFrictionAndLowerWithIt() {
        for (double load : new double[]{0.01, 0.1, 0.5, 1}) {
            double expected = WindTunnelModel.OMEGA_MAX * Math.pow(Math.max(load, 0.1), 1.5);
            assertEquals(expected, WindTunnelModel.steadySpeed(load, WindTunnelModel.THETA_TORQUE, WindTunnelModel.THETA_DRAG),
                    1e-9 * expected);
            // the simulator's integrator from rest: ω(t) = ω_ss tanh(θ_K ω_ss t), about 1.5 s at full
            // speed and 70 s at idle (9.9 rad/s); 20 of those settle to double precision
            double span = 20 / (WindTunnelModel.THETA_DRAG * expected);
            double free = WindTunnelData.integrate(0, load, span, false);
            assertEquals(expected, free, 1e-6 * expected, "no friction, L = " + load);
            double withFriction = WindTunnelData.integrate(0, load, span, true);
            double truth = WindTunnelModel.truthSteadySpeed(load);
            assertEquals(truth, withFriction, 1e-6 * truth);
            // friction lowers the steady speed: slightly at speed (6 % at full load), a lot at idle
            // (9.9 to 2.4 rad/s), where c ω outweighs K ω²
            assertTrue(withFriction < expected && (load < 0.5 || withFriction > 0.8 * expected),
                    "friction lowers the steady speed: " + withFriction + " vs " + expected);
            assertEquals(0, WindTunnelModel.truthFanField(truth, load), 1e-9);
        }
    }

    private static final WindTunnelData.Settings TINY = new WindTunnelData.Settings(6, 3, 3);

    @Test
    void generatorIsBitReproducibleAndSeedDependent() {
        Dataset a = WindTunnelData.generate("tiny", TINY, 11);
        Dataset b = WindTunnelData.generate("tiny", TINY, 11);
        Dataset c = WindTunnelData.generate("tiny", TINY, 12);
        assertEquals(List.of("train_obs", "train_inputs", "train_times", "valid_obs", "valid_inputs", "valid_times",
                "test_obs", "test_inputs", "test_times"), List.copyOf(a.arrays().keySet()));
        for (String k : a.arrays().keySet()) {
            assertEquals(a.arrays().get(k), b.arrays().get(k), k);
            if (!k.endsWith("inputs")) assertNotEquals(a.arrays().get(k), c.arrays().get(k), k);
        }
        assertEquals(a.manifest(), b.manifest());
        assertEquals("wind-tunnel", a.manifest().get("task"));
        assertEquals(List.of(WindTunnelModel.THETA_TORQUE, WindTunnelModel.THETA_DRAG), a.manifest().get("theta_star"));
        assertArrayEquals(new int[]{6, 50, 3}, a.arrays().get("train_obs").shape());
        assertArrayEquals(new int[]{3, 50}, a.arrays().get("test_times").shape());
    }

    @Test
    void generatedSequencesFollowTheProtocolAndThePhysics() {
        Dataset d = WindTunnelData.generate("tiny", TINY, 5);
        NdArray obs = d.arrays().get("train_obs"), in = d.arrays().get("train_inputs"), t = d.arrays().get("train_times");
        for (int s = 0; s < 6; s++) {
            float exhaust = in.data()[(s * 50) * 3 + 1], hatch = in.data()[(s * 50) * 3 + 2];
            assertTrue(exhaust == 0.01f || exhaust == 0.5f || exhaust == 1f);
            assertTrue(hatch >= 0 && hatch <= 45);
            assertEquals(0f, t.data()[s * 50]);
            for (int f = 0; f < 50; f++) {
                int o = (s * 50 + f) * 3;
                assertEquals(f >= 5 && f < 25 ? 1f : 0.01f, in.data()[o], "intake load at sample " + f);
                assertEquals(exhaust, in.data()[o + 1]);
                assertEquals(hatch, in.data()[o + 2]);
                if (f > 0) {
                    double dt = t.data()[s * 50 + f] - t.data()[s * 50 + f - 1];
                    assertTrue(dt > 0.9 / 7 - 1e-6 && dt < 1.1 / 7 + 1e-6, "interval " + dt);
                }
            }
            // the start: steady speeds (plus 5 rpm noise); the end of the impulse: near full speed
            double noise = 25 * WindTunnelModel.RPM_TO_RAD;
            assertEquals(WindTunnelModel.truthSteadySpeed(0.01), obs.data()[s * 150], noise);
            assertEquals(WindTunnelModel.truthSteadySpeed(exhaust), obs.data()[s * 150 + 1], noise);
            double peak = obs.data()[(s * 50 + 24) * 3];
            assertTrue(peak > 0.85 * WindTunnelModel.truthSteadySpeed(1) && peak < WindTunnelModel.truthSteadySpeed(1) + noise,
                    "intake speed after 20 samples at full load: " + peak);
            // the pressure is C3 of the speeds within the noise
            for (int f = 0; f < 50; f++) {
                int o = (s * 50 + f) * 3;
                double p = WindTunnelModel.pressureC3(obs.data()[o], obs.data()[o + 1], hatch);
                assertEquals(p, obs.data()[o + 2], 1.5, "pressure at sample " + f);
            }
        }
    }

    @Test
    void thetaMnIsNearThetaStarWithTheFrictionProjectedOntoDrag() {
        Dataset d = WindTunnelData.generate("small", 1);
        @SuppressWarnings("unchecked")
        List<Double> mn = (List<Double>) d.manifest().get("theta_mn");
        double[] star = WindTunnelModel.thetaStar();
        System.out.println("wind-tunnel small seed 1: theta_mn = " + mn + ", theta* = " + java.util.Arrays.toString(star));
        assertEquals(star[0], mn.get(0), 0.1 * star[0]);
        assertTrue(mn.get(1) > star[1], "the friction -c omega adds to the drag term: " + mn.get(1));
        Map<?, ?> gen = (Map<?, ?>) d.manifest().get("generator");
        assertEquals(32, gen.get("n_train"));
    }
}
