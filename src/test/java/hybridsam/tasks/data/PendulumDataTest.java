package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static hybridsam.tasks.data.OdeTestSupport.assertJsonFriendly;
import static hybridsam.tasks.data.OdeTestSupport.assertShape;
import static hybridsam.tasks.data.OdeTestSupport.listValue;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendulumDataTest {

    private static final double W2 = PendulumData.OMEGA0 * PendulumData.OMEGA0;

    // The full preset, seed 0, shared by the statistical checks (generated once: well under a second).
    private static Dataset fullData;
    private static OdeSimulation fullSim;

    @BeforeAll
    static void generateFull() {
        fullData = PendulumData.generate("full", OdeDataSettings.full(), 0);
        fullSim = PendulumData.simulate(OdeDataSettings.full(), 0);
    }

    @Test
    void sameSeedGivesBitIdenticalArraysAndOtherSeedDiffers() {
        Dataset a = PendulumData.generate("small", OdeDataSettings.small(), 7);
        Dataset b = PendulumData.generate("small", OdeDataSettings.small(), 7);
        Dataset c = PendulumData.generate("small", OdeDataSettings.small(), 8);
        for (String name : List.of("train_obs", "valid_obs", "test_obs")) {
            assertArrayEquals(a.arrays().get(name).data(), b.arrays().get(name).data(), name);
            assertFalse(Arrays.equals(a.arrays().get(name).data(), c.arrays().get(name).data()), name);
        }
        assertEquals(a.manifest(), b.manifest());
    }

    @Test
    void shapesFollowThePreset() {
        Dataset small = PendulumData.generate("small", OdeDataSettings.small(), 1);
        assertEquals(List.of("train_obs", "valid_obs", "test_obs"), List.copyOf(small.arrays().keySet()));
        assertShape(small.arrays().get("train_obs"), 64, 25, 2);
        assertShape(small.arrays().get("valid_obs"), 32, 25, 2);
        assertShape(small.arrays().get("test_obs"), 32, 25, 2);
        assertShape(fullData.arrays().get("train_obs"), 400, 50, 2);
        assertShape(fullData.arrays().get("valid_obs"), 100, 50, 2);
        assertShape(fullData.arrays().get("test_obs"), 200, 50, 2);
    }

    @Test
    void manifestDescribesTheData() {
        Map<String, Object> m = fullData.manifest();
        assertJsonFriendly("manifest", m);
        assertEquals("pendulum", m.get("task"));
        assertEquals("full", m.get("preset"));
        assertEquals(0L, ((Number) m.get("seed")).longValue());
        assertEquals(1, m.get("format_version"));
        assertEquals(List.of("q", "p"), m.get("state_names"));
        assertEquals(List.of("omega0_sq"), m.get("theta_names"));
        assertEquals(W2, listValue(m, "theta_star", 0), 0.0);
        @SuppressWarnings("unchecked")
        Map<String, Object> gen = (Map<String, Object>) m.get("generator");
        assertEquals(400, gen.get("n_train"));
        assertEquals(50, gen.get("frames"));
        assertEquals(0.2, gen.get("frame_dt"));
        assertEquals(0.01, gen.get("noise"));
        assertTrue(gen.containsKey("integrator") && gen.containsKey("initial_state") && gen.containsKey("truth"));
    }

    @Test
    void savedArraysAreTheSimulatedObservationsInFloat32() {
        assertArrayEquals(OdeDataGenerator.toNdArray(fullSim.observed().train()).data(),
                fullData.arrays().get("train_obs").data());
        assertArrayEquals(OdeDataGenerator.toNdArray(fullSim.observed().test()).data(),
                fullData.arrays().get("test_obs").data());
    }

    @Test
    void cleanTrajectoriesMatchAnIndependentRk4() {
        OdeSimulation sim = PendulumData.simulate(OdeDataSettings.small(), 3);
        double[][][] some = Arrays.copyOf(sim.clean().train(), 16);
        double worst = OdeTestSupport.maxDeviationFromRk4(PendulumData.truth(), some, 0.2);
        assertTrue(worst < 1e-7, "max deviation from RK4 " + worst);
    }

    @Test
    void noiseHasTheRequestedStandardDeviation() {
        NdArray train = fullData.arrays().get("train_obs");
        double[] stdMean = OdeTestSupport.noiseStdAndMean(train, fullSim.clean().train());
        assertEquals(0.01, stdMean[0], 0.01 * 0.03, "noise std");
        assertEquals(0.0, stdMean[1], 3 * 0.01 / Math.sqrt(40000.0), "noise mean");
    }

    @Test
    void zeroNoiseObservesTheCleanStates() {
        OdeDataSettings s = new OdeDataSettings(4, 2, 2, 5, 0.2, 0.0);
        OdeSimulation sim = PendulumData.simulate(s, 11);
        assertArrayEquals(OdeDataGenerator.toNdArray(sim.clean().valid()).data(),
                PendulumData.generate("custom", s, 11).arrays().get("valid_obs").data());
    }

    @Test
    void initialStatesLieOnTheRadiusBand() {
        for (double[][][] split : List.of(fullSim.clean().train(), fullSim.clean().valid(), fullSim.clean().test())) {
            for (double[][] seq : split) {
                double r = Math.hypot(seq[0][0], seq[0][1]);
                assertTrue(r >= 1.3 - 1e-12 && r < 2.3 + 1e-12, "radius " + r);
            }
        }
    }

    @Test
    void aboutOneInNineInitialStatesGoOverTheTop() {
        int above = 0;
        int total = 0;
        for (double[][][] split : List.of(fullSim.clean().train(), fullSim.clean().valid(), fullSim.clean().test())) {
            for (double[][] seq : split) {
                double q = seq[0][0];
                double p = seq[0][1];
                if (p * p / 2 - W2 * Math.cos(q) > W2) above++;
                total++;
            }
        }
        double fraction = (double) above / total;
        System.out.printf("pendulum full seed 0: %.4f of initial states above the separatrix (%d/%d)%n",
                fraction, above, total);
        assertTrue(fraction > 0.05 && fraction < 0.20, "fraction above separatrix " + fraction);
    }

    @Test
    void simplestNetworkValueMatchesTheSpec() {
        double thetaMn = PendulumData.thetaMinNorm(fullSim.clean().train())[0];
        System.out.printf("pendulum full seed 0: theta_mn = %.5f (theta* = %.5f)%n", thetaMn, W2);
        assertEquals(1.071, thetaMn, 0.02);
        assertEquals(thetaMn, listValue(fullData.manifest(), "theta_mn", 0), 0.0);
    }

    @Test
    void simplestNetworkValueFollowsTheClosedForm() {
        // theta_mn = omega0^2 + alpha * sum p sin q / sum sin^2 q, checked on three hand-picked states.
        double[][][] states = {{{0.3, 1.0}, {-1.2, 0.5}, {2.0, -0.7}}};
        double theta = PendulumData.thetaMinNorm(states)[0];
        double expected = W2 + PendulumData.ALPHA * (1.0 * Math.sin(0.3) + 0.5 * Math.sin(-1.2) - 0.7 * Math.sin(2.0))
                / (Math.pow(Math.sin(0.3), 2) + Math.pow(Math.sin(-1.2), 2) + Math.pow(Math.sin(2.0), 2));
        assertEquals(expected, theta, 1e-12);
    }
}
