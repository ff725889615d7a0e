package hybridsam.tasks.data;

import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import org.apache.commons.math3.ode.FirstOrderDifferentialEquations;
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

class DuffingDataTest {

    private static Dataset fullData;
    private static OdeSimulation fullSim;

    @BeforeAll
    static void generateFull() {
        fullData = DuffingData.generate("full", OdeDataSettings.full(), 0);
        fullSim = DuffingData.simulate(OdeDataSettings.full(), 0);
    }

    @Test
    void sameSeedGivesBitIdenticalArraysAndOtherSeedDiffers() {
        Dataset a = DuffingData.generate("small", OdeDataSettings.small(), 42);
        Dataset b = DuffingData.generate("small", OdeDataSettings.small(), 42);
        Dataset c = DuffingData.generate("small", OdeDataSettings.small(), 43);
        for (String name : List.of("train_obs", "valid_obs", "test_obs")) {
            assertArrayEquals(a.arrays().get(name).data(), b.arrays().get(name).data(), name);
            assertFalse(Arrays.equals(a.arrays().get(name).data(), c.arrays().get(name).data()), name);
        }
        assertEquals(a.manifest(), b.manifest());
    }

    @Test
    void shapesFollowThePreset() {
        Dataset small = DuffingData.generate("small", OdeDataSettings.small(), 1);
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
        assertEquals("duffing", m.get("task"));
        assertEquals(List.of("x", "v"), m.get("state_names"));
        assertEquals(List.of("alpha", "beta"), m.get("theta_names"));
        assertEquals(1.0, listValue(m, "theta_star", 0), 0.0);
        assertEquals(1.0, listValue(m, "theta_star", 1), 0.0);
        assertEquals(1, m.get("format_version"));
    }

    @Test
    void initialStatesFollowTheRule() {
        for (double[][][] split : List.of(fullSim.clean().train(), fullSim.clean().valid(), fullSim.clean().test())) {
            for (double[][] seq : split) {
                assertTrue(Math.abs(seq[0][0]) <= 1.5 && Math.abs(seq[0][1]) <= 1.0, Arrays.toString(seq[0]));
            }
        }
    }

    @Test
    void cleanTrajectoriesMatchAnIndependentRk4() {
        OdeSimulation sim = DuffingData.simulate(OdeDataSettings.small(), 5);
        double[][][] some = Arrays.copyOf(sim.clean().test(), 16);
        double worst = OdeTestSupport.maxDeviationFromRk4(DuffingData.truth(), some, 0.2);
        assertTrue(worst < 1e-7, "max deviation from RK4 " + worst);
    }

    @Test
    void undampedIntegrationConservesEnergy() {
        FirstOrderDifferentialEquations conservative = DuffingData.field(1.0, 1.0, 0.0);
        double[][] traj = OdeDataGenerator.integrate(conservative, new double[] {1.5, -1.0}, 50, 0.2);
        double e0 = energy(traj[0]);
        for (double[] state : traj) {
            assertEquals(e0, energy(state), 1e-8);
        }
    }

    private static double energy(double[] s) {
        double x = s[0];
        return s[1] * s[1] / 2 + x * x / 2 + x * x * x * x / 4;
    }

    @Test
    void noiseHasTheRequestedStandardDeviation() {
        NdArray valid = fullData.arrays().get("valid_obs");
        NdArray train = fullData.arrays().get("train_obs");
        double[] trainStats = OdeTestSupport.noiseStdAndMean(train, fullSim.clean().train());
        double[] validStats = OdeTestSupport.noiseStdAndMean(valid, fullSim.clean().valid());
        assertEquals(0.01, trainStats[0], 0.01 * 0.03);
        assertEquals(0.01, validStats[0], 0.01 * 0.05);
        assertEquals(0.0, trainStats[1], 3 * 0.01 / Math.sqrt(40000.0));
    }

    @Test
    void simplestNetworkValueMatchesTheSpec() {
        double[] mn = DuffingData.thetaMinNorm(fullSim.clean().train());
        System.out.printf("duffing full seed 0: theta_mn = (%.5f, %.5f)%n", mn[0], mn[1]);
        assertEquals(0.98, mn[0], 0.02);
        assertEquals(0.99, mn[1], 0.02);
        assertEquals(mn[0], listValue(fullData.manifest(), "theta_mn", 0), 0.0);
        assertEquals(mn[1], listValue(fullData.manifest(), "theta_mn", 1), 0.0);
    }

    @Test
    void simplestNetworkValueSolvesTheNormalEquations() {
        // Perturb the least-squares solution: the residual must not decrease in any direction.
        double[][][] states = Arrays.copyOf(fullSim.clean().valid(), 10);
        double[] mn = DuffingData.thetaMinNorm(states);
        double best = residual(states, mn[0], mn[1]);
        for (double[] d : new double[][] {{1e-3, 0}, {-1e-3, 0}, {0, 1e-3}, {0, -1e-3}, {1e-3, -1e-3}}) {
            assertTrue(residual(states, mn[0] + d[0], mn[1] + d[1]) > best);
        }
    }

    private static double residual(double[][][] states, double a, double b) {
        double sum = 0;
        for (double[][] seq : states) {
            for (double[] s : seq) {
                double x = s[0];
                double r = (-x - x * x * x - 0.2 * s[1]) - (-a * x - b * x * x * x);
                sum += r * r;
            }
        }
        return sum;
    }
}
