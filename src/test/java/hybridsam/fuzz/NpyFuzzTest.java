package hybridsam.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.io.DataException;
import hybridsam.io.NdArray;
import hybridsam.io.Npy;

import java.nio.file.Path;

/**
 * Coverage-guided fuzz test of the .npy reader, {@link Npy#read(Path)}: the fuzzer's bytes are the
 * whole file. Contract ({@link ReaderContract}): returns an array or throws {@link DataException}
 * naming the file; any other throwable, or more than ~500 MB allocated, is a finding.
 *
 * <p>{@code mvn test} runs it in regression mode only, over the committed inputs in
 * src/test/resources/hybridsam/fuzz/NpyFuzzTestInputs/readNpy/ (plus the empty input).
 *
 * <p>To fuzz (one fuzz test per Maven run; the default-test execution only, so the stand-in execution
 * does not fuzz it a second time; keep_going collects up to 20 distinct findings instead of stopping
 * at the first; arg.N are libFuzzer flags, here one hour and a 30 s per-input time limit):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B test-compile surefire:test@default-test -Dtest='NpyFuzzTest#readNpy' \
 *     -Djazzer.keep_going=20 -Djazzer.internal.arg.0=fuzz \
 *     -Djazzer.internal.arg.1=-max_total_time=3600 -Djazzer.internal.arg.2=-timeout=30
 * </pre>
 * Without the arg.N options a run lasts the {@code maxDuration} below. Crashing inputs are written
 * as crash-SHA1 into the Inputs folder above (and so become regression inputs); the growing corpus
 * goes to .cifuzz-corpus/ in the project root (not committed; delete or keep locally).
 */
class NpyFuzzTest {
    private static final Path DIR = ReaderContract.scratch("npy-fuzz");

    @FuzzTest(maxDuration = "2m")
    void readNpy(byte[] input) {
        Path file = DIR.resolve("input.npy");
        ReaderContract.write(file, input);
        ReaderContract contract = new ReaderContract("Npy.read", file.toString(), true, DataException.class);
        NdArray a = contract.check(input.length, () -> Npy.read(file));
        if (a != null && a.size() * Float.BYTES > input.length) {
            throw new AssertionError("Npy.read returned " + a.size() + " values from a file of " + input.length + " bytes");
        }
    }
}
