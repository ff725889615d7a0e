package hybridsam.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.fuzz.ReaderContract;
import hybridsam.io.DataException;

import java.nio.file.Path;

/**
 * Coverage-guided fuzz tests of the two readers of untrusted bytes that the plots brought
 * (see hybridsam.fuzz.ReaderContract for the contract):
 * <ul>
 *   <li>{@link #readResults}: {@link RunResults#read} on a run folder whose results.json holds the
 *       fuzzer's bytes returns the plots' data or throws {@link DataException} naming results.json;</li>
 *   <li>{@link #markOfAPlot}: {@link Plots#isOwn} (does a PNG carry hybridsam's mark, read from
 *       the file's first 4096 bytes) answers true or false for any bytes and never throws.</li>
 * </ul>
 * The seed corpora (src/test/resources/hybridsam/cli/PlotsFuzzTestInputs/) hold results.json of a
 * single run and of two replicas (pendulum small preset, 2 epochs), the first bytes of a real
 * loss.png, and corruptions of them. {@code mvn test} runs them in regression mode over those inputs;
 * to fuzz, see NpyFuzzTest's instructions with -Dtest='PlotsFuzzTest#readResults'.
 */
class PlotsFuzzTest {
    private static final Path DIR = ReaderContract.scratch("plots-fuzz");

    @FuzzTest(maxDuration = "2m")
    void readResults(byte[] input) {
        Path f = DIR.resolve("results.json");
        ReaderContract.write(f, input);
        new ReaderContract("RunResults.read", f.toString(), true, DataException.class).check(input.length, () -> RunResults.read(DIR));
    }

    @FuzzTest(maxDuration = "2m")
    void markOfAPlot(byte[] input) {
        Path f = DIR.resolve("loss.png");
        ReaderContract.write(f, input);
        new ReaderContract("hybridsam.io.PngMark.isOwn", f.toString(), false).check(input.length, () -> hybridsam.io.PngMark.isOwn(f));
    }
}
