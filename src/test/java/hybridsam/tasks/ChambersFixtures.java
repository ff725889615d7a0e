package hybridsam.tasks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Folders in the Causal Chambers' published layout, written from the simulators, for tests in other packages. */
public final class ChambersFixtures {
    private ChambersFixtures() {
    }

    /**
     * root/wt_intake_impulse_v1/ with two experiments' CSV files (5 and 3 impulses of 50 rows,
     * the chambers' 37 columns), simulated with the given seed; returns root.
     */
    public static Path windTunnel(Path root, long seed) throws IOException {
        List<WindTunnelChambersTest.Impulse> imps = WindTunnelChambersTest.impulses(seed);
        Path folder = root.resolve("wt_intake_impulse_v1");
        WindTunnelChambersTest.write(folder, "load_out_0.5_osr_downwind_4.csv", WindTunnelChambersTest.csv(imps.subList(0, 5), 0));
        WindTunnelChambersTest.write(folder, "load_out_1_osr_downwind_4.csv", WindTunnelChambersTest.csv(imps.subList(5, 8), 0));
        return root;
    }

    /**
     * root/lt_fixture_v1/walk/ with walk.csv (the chambers' camera-data columns) and JPEG images
     * in images_32/ and images_8/, simulated; returns root.
     */
    public static Path lightTunnel(Path root) throws IOException {
        LightTunnelChambersTest.fixture(root);
        return root;
    }
}
