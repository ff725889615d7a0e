package hybridsam.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.io.DataException;
import hybridsam.train.Checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Coverage-guided fuzz tests of the checkpoint reader, {@link Checkpoint#read(Path)}, on a folder whose
 * checkpoint.bin holds the fuzzer's bytes. Contract ({@link ReaderContract}): read returns or throws
 * {@link DataException} naming checkpoint.bin; anything else (NegativeArraySizeException,
 * OutOfMemoryError, an unwrapped Json.ParseException, ClassCastException, more than ~500 MB allocated
 * for a short file, ...) is a finding.
 * <ul>
 *   <li>{@link #readCheckpoint}: the input is the whole file (header, payload, SHA-256 trailer), so
 *       this target exercises the header and checksum checks; a mutated payload almost never gets
 *       past the checksum.</li>
 *   <li>{@link #readCheckpointPayload}: the input is only the payload (epochs, step, bookkeeping JSON,
 *       the five arrays); the target wraps it in a correct format-2 header (magic "HSAMCKPT", format 2,
 *       payload length) and SHA-256 trailer, so the fuzzer reaches the parser and the consistency
 *       checks behind the checksum. It hard-codes format 2: update {@link #wrap} if the format changes.</li>
 * </ul>
 * The seed corpora hold real format-2 checkpoints written by the train command (pendulum small,
 * --hidden 4, 2 epochs, batch 4: 1080 bytes; and --hidden 2 --replicas 2, 1 epoch) and corruptions.
 *
 * <p>{@code mvn test} runs them in regression mode only, over the committed inputs in
 * src/test/resources/hybridsam/fuzz/CheckpointFuzzTestInputs/{readCheckpoint,readCheckpointPayload}/
 * (plus the empty input).
 *
 * <p>To fuzz one of them (see NpyFuzzTest for what the options mean):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B test-compile surefire:test@default-test -Dtest='CheckpointFuzzTest#readCheckpointPayload' \
 *     -Djazzer.keep_going=20 -Djazzer.internal.arg.0=fuzz \
 *     -Djazzer.internal.arg.1=-max_total_time=3600 -Djazzer.internal.arg.2=-timeout=30
 * </pre>
 */
class CheckpointFuzzTest {
    private static final Path DIR = ReaderContract.scratch("checkpoint-fuzz");

    @FuzzTest(maxDuration = "2m")
    void readCheckpoint(byte[] input) {
        read(input);
    }

    @FuzzTest(maxDuration = "2m")
    void readCheckpointPayload(byte[] payload) {
        read(wrap(payload));
    }

    private static void read(byte[] file) {
        Path f = DIR.resolve(Checkpoint.FILE);
        ReaderContract.write(f, file);
        new ReaderContract("Checkpoint.read", f.toString(), true, DataException.class)
                .check(file.length, () -> Checkpoint.read(DIR));
    }

    /** Format 2: "HSAMCKPT", int format 2, long payload length, the payload, SHA-256 of all before it. */
    static byte[] wrap(byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 8 + payload.length + 32);
        b.put("HSAMCKPT".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(2).putLong(payload.length).put(payload);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b.array(), 0, b.position());
            b.put(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return b.array();
    }
}
