package hybridsam.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.io.DataException;
import hybridsam.io.DatasetStore;
import hybridsam.tasks.Tasks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzz tests of the data-set folder reader, {@link DatasetStore#load(Path)}, on a
 * real data set (pendulum, preset small, data seed 0, generated once per JVM with the project's own
 * generator and {@link DatasetStore#save}) in which the fuzzer's bytes replace one file:
 * <ul>
 *   <li>{@link #manifest}: manifest.json (the .npy files stay valid);</li>
 *   <li>{@link #npyFile}: test_obs.npy (shape [32, 25, 2] in the valid manifest).</li>
 * </ul>
 * Contract ({@link ReaderContract}): load returns or throws {@link DataException} naming a file in
 * the data-set folder; anything else (InvalidPathException, ClassCastException, StackOverflowError,
 * a Json.ParseException that was not wrapped, more than ~500 MB allocated, ...) is a finding.
 *
 * <p>{@code mvn test} runs them in regression mode only, over the committed inputs in
 * src/test/resources/hybridsam/fuzz/DatasetFuzzTestInputs/{manifest,npyFile}/ (plus the empty input).
 *
 * <p>To fuzz one of them (see NpyFuzzTest for what the options mean):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B test-compile surefire:test@default-test -Dtest='DatasetFuzzTest#manifest' \
 *     -Djazzer.keep_going=20 -Djazzer.internal.arg.0=fuzz \
 *     -Djazzer.internal.arg.1=-max_total_time=3600 -Djazzer.internal.arg.2=-timeout=30
 * </pre>
 */
class DatasetFuzzTest {
    private static final Path BASE = ReaderContract.scratch("dataset-fuzz").resolve("pendulum-small-seed0");
    private static Path manifestDir;
    private static Path npyDir;

    /** Two private copies of the generated data set, one per target; each target rewrites one file in its own. */
    private static synchronized Path dir(boolean forManifest) {
        if (manifestDir == null) {
            try {
                DatasetStore.save(BASE, Tasks.byName("pendulum").generate("small", 0));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            manifestDir = BASE.resolveSibling("manifest-target");
            npyDir = BASE.resolveSibling("npy-target");
            ReaderContract.copyDir(BASE, manifestDir);
            ReaderContract.copyDir(BASE, npyDir);
        }
        return forManifest ? manifestDir : npyDir;
    }

    @FuzzTest(maxDuration = "2m")
    void manifest(byte[] input) {
        Path dir = dir(true);
        ReaderContract.write(dir.resolve(DatasetStore.MANIFEST), input);
        load(dir, input.length);
    }

    @FuzzTest(maxDuration = "2m")
    void npyFile(byte[] input) {
        Path dir = dir(false);
        ReaderContract.write(dir.resolve("test_obs.npy"), input);
        load(dir, input.length);
    }

    private static void load(Path dir, int inputBytes) {
        new ReaderContract("DatasetStore.load", dir.toString(), true, DataException.class)
                .check(inputBytes, () -> DatasetStore.load(dir));
    }
}
