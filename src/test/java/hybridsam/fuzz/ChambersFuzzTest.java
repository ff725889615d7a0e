package hybridsam.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.data.ChambersLightTunnel;
import hybridsam.tasks.data.ChambersWindTunnel;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Coverage-guided fuzz tests of the Causal Chambers readers, on small valid fixture folders (written
 * once per JVM) in which the fuzzer's bytes replace one file:
 * <ul>
 *   <li>{@link #windTunnelCsv}: {@code wt_intake_impulse_v1/b_input.csv} of
 *       {@link ChambersWindTunnel#read(Path, long)}; a valid {@code a_base.csv} with three impulses
 *       sits next to it, so an input with any number of valid impulses reaches the split;</li>
 *   <li>{@link #lightTunnelCsv}: {@code lt_fuzz_v1/walk/walk.csv} of
 *       {@link ChambersLightTunnel#read(Path, long, int)} (side 4); {@code images_8/} holds valid
 *       8 × 8 JPEGs IMG_0.jpg .. IMG_3.jpg;</li>
 *   <li>{@link #lightTunnelJpeg}: {@code images_8/IMG_2.jpg} of the same layout, the CSV valid
 *       (rows naming IMG_0.jpg .. IMG_3.jpg).</li>
 * </ul>
 * Contract ({@link ReaderContract}): read returns or throws {@link DataException} naming a file in the
 * fixture folder; anything else (InvalidPathException, NumberFormatException, OutOfMemoryError, more
 * than ~500 MB allocated, ...) is a finding. A returned data set must also hold finite numbers only
 * (the readers reject non-finite cells; a finite cell that overflows in conversion is a finding too).
 *
 * <p>{@code mvn test} runs them in regression mode only, over the committed inputs in
 * src/test/resources/hybridsam/fuzz/ChambersFuzzTestInputs/{windTunnelCsv,lightTunnelCsv,lightTunnelJpeg}/
 * (plus the empty input).
 *
 * <p>To fuzz one of them (see NpyFuzzTest for what the options mean):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B test-compile surefire:test@default-test -Dtest='ChambersFuzzTest#lightTunnelJpeg' \
 *     -Djazzer.keep_going=20 -Djazzer.internal.arg.0=fuzz \
 *     -Djazzer.internal.arg.1=-max_total_time=600 -Djazzer.internal.arg.2=-timeout=30
 * </pre>
 */
class ChambersFuzzTest {
    private static final Path BASE = ReaderContract.scratch("chambers-fuzz");
    /** The light-tunnel images' side in the fixture, and the side the reader resizes to. */
    private static final int IMAGE_SIDE = 8, SIDE = 4;
    /** Rows per wind-tunnel impulse. */
    private static final int F = ChambersWindTunnel.FRAMES;

    private static Path windDir, lightCsvDir, lightJpegDir;

    // ------------------------------------------------------------------ targets

    @FuzzTest(maxDuration = "2m")
    void windTunnelCsv(byte[] input) {
        Path root = windRoot();
        ReaderContract.write(root.resolve(ChambersWindTunnel.DATASET).resolve("b_input.csv"), input);
        Dataset d = new ReaderContract("ChambersWindTunnel.read", root.toString(), false, DataException.class)
                .check(input.length, () -> ChambersWindTunnel.read(root, 7));
        checkFinite(d, "ChambersWindTunnel.read");
    }

    @FuzzTest(maxDuration = "2m")
    void lightTunnelCsv(byte[] input) {
        Path root = lightRoot(true);
        ReaderContract.write(experiment(root).resolve("walk.csv"), input);
        readLight(root, input.length);
    }

    @FuzzTest(maxDuration = "2m")
    void lightTunnelJpeg(byte[] input) {
        Path root = lightRoot(false);
        ReaderContract.write(experiment(root).resolve("images_" + IMAGE_SIDE).resolve("IMG_2.jpg"), input);
        readLight(root, input.length);
    }

    private static void readLight(Path root, int inputBytes) {
        Dataset d = new ReaderContract("ChambersLightTunnel.read", root.toString(), false, DataException.class)
                .check(inputBytes, () -> ChambersLightTunnel.read(root, 7, SIDE));
        checkFinite(d, "ChambersLightTunnel.read");
    }

    private static void checkFinite(Dataset d, String reader) {
        if (d == null) return;
        for (Map.Entry<String, NdArray> e : d.arrays().entrySet()) {
            for (float v : e.getValue().data()) {
                if (!Float.isFinite(v)) throw new AssertionError(reader + " returned " + v + " in " + e.getKey());
            }
        }
    }

    // ------------------------------------------------------------------ fixtures

    private static synchronized Path windRoot() {
        if (windDir == null) {
            Path root = BASE.resolve("wind");
            Path folder = root.resolve(ChambersWindTunnel.DATASET);
            try {
                Files.createDirectories(folder);
                Files.writeString(folder.resolve("a_base.csv"), windCsv(3), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            windDir = root;
        }
        return windDir;
    }

    /**
     * A valid wind-tunnel CSV of some impulses: the read columns plus config and counter, 50 rows per
     * impulse at 0.1 s, a load step on the intake fan, rpm and pressures near the chambers' magnitudes.
     */
    static String windCsv(int impulses) {
        StringBuilder sb = new StringBuilder(
                "timestamp,config,counter,flag,hatch,load_in,load_out,rpm_in,rpm_out,pressure_downwind,pressure_ambient\n");
        int counter = 0;
        for (int k = 0; k < impulses; k++) {
            double t0 = 1711360000 + 60.0 * k;
            for (int f = 0; f < F; f++) {
                double loadIn = f >= 5 && f < 25 ? 0.8 : 0.1;
                sb.append(String.format(Locale.ROOT, "%.3f,standard,%d,%d,%d,%.2f,0.5,%.1f,%.1f,%.2f,%.2f\n",
                        t0 + 0.1 * f, counter++, k, 15 * k, loadIn, 1000 + 2000 * loadIn + f, 1500.0 + k,
                        96010.5 + 3 * loadIn, 96000.0 + 0.01 * f));
            }
        }
        return sb.toString();
    }

    private static Path experiment(Path root) {
        return root.resolve("lt_fuzz_v1").resolve("walk");
    }

    private static synchronized Path lightRoot(boolean forCsv) {
        if (lightCsvDir == null) {
            Path a = BASE.resolve("light-csv"), b = BASE.resolve("light-jpeg");
            try {
                Path exp = experiment(a);
                Path images = exp.resolve("images_" + IMAGE_SIDE);
                Files.createDirectories(images);
                for (int i = 0; i < 4; i++) writeJpeg(i, images.resolve("IMG_" + i + ".jpg"));
                Files.writeString(exp.resolve("walk.csv"), lightCsv(4), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ReaderContract.copyDir(a, b);
            lightCsvDir = a;
            lightJpegDir = b;
        }
        return forCsv ? lightCsvDir : lightJpegDir;
    }

    /** A valid light-tunnel CSV (an abridged chambers header) with rows naming IMG_0.jpg .. IMG_(n-1).jpg. */
    static String lightCsv(int n) {
        StringBuilder sb = new StringBuilder("timestamp,red,green,blue,pol_1,pol_2,aperture,iso,shutter_speed,image_file\n");
        for (int i = 0; i < n; i++) {
            sb.append(String.format(Locale.ROOT, "%d,%d,%d,%d,%.1f,%.1f,8.0,500,0.005,IMG_%d.jpg\n",
                    1700000000 + i, 40 * i, 255 - 30 * i, 17 * i, 10.0 * i, -5.5 * i, i));
        }
        return sb.toString();
    }

    /** An 8 × 8 RGB JPEG with a gradient that depends on i. */
    static void writeJpeg(int i, Path file) throws IOException {
        BufferedImage img = new BufferedImage(IMAGE_SIDE, IMAGE_SIDE, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < IMAGE_SIDE; y++) {
            for (int x = 0; x < IMAGE_SIDE; x++) img.setRGB(x, y, ((20 * x + 9 * i) << 16) | ((25 * y) << 8) | (60 * i));
        }
        if (!ImageIO.write(img, "jpg", file.toFile())) throw new IOException("no JPEG writer");
    }
}
