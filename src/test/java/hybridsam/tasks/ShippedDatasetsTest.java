package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.io.DatasetStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The small data sets shipped in datasets/ are exactly what the generators make today. */
class ShippedDatasetsTest {

    @ParameterizedTest
    @ValueSource(strings = {"pendulum", "duffing"})
    void shippedSmallPresetEqualsAFreshGeneration(String name) {
        Dataset shipped = DatasetStore.load(Path.of("datasets", name + "-small-seed0"));
        Dataset fresh = Tasks.byName(name).generate("small", 0);
        assertEquals(fresh.arrays().keySet(), shipped.arrays().keySet());
        for (String k : fresh.arrays().keySet()) {
            assertEquals(fresh.arrays().get(k), shipped.arrays().get(k), k + " differs bit for bit");
        }
        assertEquals(fresh.manifest().get("theta_star"), shipped.manifest().get("theta_star"));
    }
}
