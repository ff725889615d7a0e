package hybridsam.tasks.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OdeDataSettingsTest {

    private static void rejected(String field, Executable make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make);
        assertTrue(e.getMessage().contains(field), "message names " + field + ": " + e.getMessage());
    }

    @Test
    void invalidSettingsAreRejectedWithTheFieldNamed() {
        rejected("nTrain", () -> new OdeDataSettings(0, 1, 1, 2, 0.2, 0.0));
        rejected("nValid", () -> new OdeDataSettings(1, -1, 1, 2, 0.2, 0.0));
        rejected("nTest", () -> new OdeDataSettings(1, 1, 0, 2, 0.2, 0.0));
        rejected("frames", () -> new OdeDataSettings(1, 1, 1, 1, 0.2, 0.0));
        rejected("frameDt", () -> new OdeDataSettings(1, 1, 1, 2, 0.0, 0.0));
        rejected("frameDt", () -> new OdeDataSettings(1, 1, 1, 2, Double.NaN, 0.0));
        rejected("frameDt", () -> new OdeDataSettings(1, 1, 1, 2, Double.POSITIVE_INFINITY, 0.0));
        rejected("noise", () -> new OdeDataSettings(1, 1, 1, 2, 0.2, -0.01));
        rejected("noise", () -> new OdeDataSettings(1, 1, 1, 2, 0.2, Double.NaN));
        rejected("noise", () -> new OdeDataSettings(1, 1, 1, 2, 0.2, Double.POSITIVE_INFINITY));
    }

    @Test
    void smallestValidSettingsAreAccepted() {
        assertDoesNotThrow(() -> new OdeDataSettings(1, 1, 1, 2, 1e-3, 0.0));
    }

    @Test
    void presetsAreNamed() {
        assertTrue(OdeDataSettings.preset("full").equals(OdeDataSettings.full()));
        assertTrue(OdeDataSettings.preset("small").equals(OdeDataSettings.small()));
        rejected("medium", () -> OdeDataSettings.preset("medium"));
        rejected("preset", () -> PendulumData.generate(" ", OdeDataSettings.small(), 0));
    }
}
