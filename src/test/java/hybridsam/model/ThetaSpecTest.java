package hybridsam.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** θ's box transforms: inverse, range, and the derivative the chain rule uses. */
class ThetaSpecTest {
    final ThetaSpec spec = new ThetaSpec(List.of("lin", "log"), new double[]{0.1, 1e-4}, new double[]{4, 1e-2},
            new boolean[]{false, true});

    @Test
    void transformsStayInTheBoxAndInvert() {
        for (double u = -30; u <= 30; u += 0.7) {
            for (int i = 0; i < 2; i++) {
                double t = spec.toPhysical(i, u);
                assertTrue(t >= spec.lo()[i] && t <= spec.hi()[i], "theta inside its box");
                if (Math.abs(u) < 15) assertEquals(u, spec.toUnconstrained(i, t), 1e-6 * Math.max(1, Math.abs(u)));
            }
        }
        assertEquals(2.05, spec.toPhysical(0, 0), 1e-12, "u = 0 is the middle of a linear box");
        assertEquals(1e-3, spec.toPhysical(1, 0), 1e-15, "u = 0 is the geometric middle of a log box");
    }

    @Test
    void derivativeMatchesCentralDifferences() {
        for (double u = -5; u <= 5; u += 0.37) {
            for (int i = 0; i < 2; i++) {
                double h = 1e-5;
                double fd = (spec.toPhysical(i, u + h) - spec.toPhysical(i, u - h)) / (2 * h);
                assertEquals(fd, spec.derivative(i, u), 1e-7 * Math.max(1e-3, Math.abs(fd)) + 1e-12, "component " + i + " at u = " + u);
            }
        }
    }

    @Test
    void valuesOutsideTheBoxAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spec.toUnconstrained(0, 5.0));
        assertTrue(e.getMessage().contains("lin"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ThetaSpec(List.of("x"), new double[]{1}, new double[]{1}, new boolean[]{false}));
        assertThrows(IllegalArgumentException.class, () -> new ThetaSpec(List.of("x"), new double[]{0}, new double[]{1}, new boolean[]{true}));
    }
}
