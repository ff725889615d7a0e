package hybridsam.train;

import hybridsam.io.AtomicFiles;
import hybridsam.io.DataException;
import hybridsam.io.Json;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The full state of a run after a completed epoch: the optimizer state, the best parameters so
 * far and the trainer's bookkeeping (a JSON object). One binary file, written atomically, so a
 * crash mid-write leaves the previous checkpoint.
 *
 * <p>Format 2 (big-endian): a header of the magic "HSAMCKPT", the format version (int) and the
 * payload's length in bytes (long); the payload: epochs done (int), Adam's step (long), the
 * bookkeeping as UTF-8 JSON (int length, bytes), then params, adam_m, adam_v, grad_average and
 * best_params (each an int length and that many float32); and a trailer of the SHA-256 of
 * everything before it. {@link #read} verifies the checksum before it parses anything, then
 * checks that the contents agree with each other (epoch counter against the history, equal
 * array lengths, finite numbers, the types the trainer needs), naming the field at fault.
 * Format 1 (magic "HSMCKPT1", no checksum) is refused: it cannot be verified.
 */
public record Checkpoint(int epochsDone, OptimizerState state, float[] bestParams, Map<String, Object> bookkeeping) {
    public static final String FILE = "checkpoint.bin";
    /** The format this version writes and the only one it reads. */
    public static final int FORMAT = 2;
    static final long MAGIC = 0x4853414D_434B5054L; // "HSAMCKPT"
    static final long MAGIC_V1 = 0x48534D43_4B505431L; // "HSMCKPT1": format 1, without a checksum
    static final int HEADER_BYTES = 8 + 4 + 8;
    static final int TRAILER_BYTES = 32;
    static final List<String> ARRAYS = List.of("params", "adam_m", "adam_v", "grad_average", "best_params");

    public void write(Path dir) throws IOException {
        byte[] json = Json.write(bookkeeping).getBytes(StandardCharsets.UTF_8);
        float[][] arrays = arrays();
        long payload = 4 + 8 + 4 + (long) json.length;
        for (float[] a : arrays) payload += 4 + 4L * a.length;
        long payloadBytes = payload;
        AtomicFiles.write(dir.resolve(FILE), out -> {
            MessageDigest md = sha256();
            DataOutputStream d = new DataOutputStream(new BufferedOutputStream(new DigestOutputStream(out, md), 1 << 16));
            d.writeLong(MAGIC);
            d.writeInt(FORMAT);
            d.writeLong(payloadBytes);
            d.writeInt(epochsDone);
            d.writeLong(state.step());
            d.writeInt(json.length);
            d.write(json);
            byte[] chunk = new byte[1 << 16];
            for (float[] a : arrays) {
                d.writeInt(a.length);
                for (int i = 0; i < a.length; ) {
                    int n = Math.min(a.length - i, chunk.length / 4);
                    ByteBuffer.wrap(chunk).asFloatBuffer().put(a, i, n);
                    d.write(chunk, 0, 4 * n);
                    i += n;
                }
            }
            d.flush();
            out.write(md.digest()); // the trailer itself is not hashed
        });
    }

    private float[][] arrays() {
        return new float[][]{state.params(), state.adamM(), state.adamV(), state.gradAverage(), bestParams};
    }

    /**
     * Reads and verifies dir/checkpoint.bin; a missing, truncated, damaged, old-format or
     * inconsistent file is a {@link DataException} naming the file and what is wrong.
     */
    public static Checkpoint read(Path dir) {
        Path f = dir.resolve(FILE);
        // one open file for the size, the checksum and the contents: a run that replaces the
        // checkpoint meanwhile (atomically, by a rename) leaves this reader on the file it opened
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f)) {
            long size = ch.size();
            verifyChecksum(f, ch, size);
            ch.position(HEADER_BYTES);
            DataInputStream d = new DataInputStream(new BufferedInputStream(java.nio.channels.Channels.newInputStream(ch), 1 << 16));
            return parse(f, d, size - HEADER_BYTES - TRAILER_BYTES);
        } catch (NoSuchFileException e) {
            throw new DataException(f + ": no checkpoint (was the run started with this --out folder?)");
        } catch (EOFException e) {
            throw new DataException(f + ": truncated checkpoint", e);
        } catch (IOException e) {
            throw new DataException(f + ": cannot read checkpoint: " + e.getMessage(), e);
        }
    }

    /** The header's magic, version and length, and the trailer's SHA-256 against the contents. */
    private static void verifyChecksum(Path f, java.nio.channels.FileChannel ch, long size) throws IOException {
        MessageDigest md = sha256();
        ch.position(0);
        {
            // not closed here: closing the stream would close the channel that read() parses next
            InputStream in = new BufferedInputStream(java.nio.channels.Channels.newInputStream(ch), 1 << 16);
            byte[] header = in.readNBytes(HEADER_BYTES);
            ByteBuffer h = ByteBuffer.wrap(Arrays.copyOf(header, HEADER_BYTES));
            long magic = h.getLong();
            if (header.length >= 8 && magic == MAGIC_V1) {
                throw new DataException(f + ": checkpoint format 1, written by an older hybridsam without a checksum;"
                        + " it cannot be verified, so it is not resumed (start the run again; this version writes format "
                        + FORMAT + ")");
            }
            if (header.length < 8 || magic != MAGIC) {
                throw new DataException(f + ": not a hybridsam checkpoint (bad magic"
                        + (header.length < 8 ? ", only " + size + " bytes" : "") + ")");
            }
            if (header.length < HEADER_BYTES) throw new DataException(f + ": truncated checkpoint (" + size + " bytes, inside the header)");
            int version = h.getInt();
            long payload = h.getLong();
            if (version != FORMAT) {
                throw new DataException(f + ": checkpoint format " + version + " is not supported (this hybridsam reads format " + FORMAT + ")");
            }
            long expected = HEADER_BYTES + payload + TRAILER_BYTES;
            if (payload < 0 || size < expected) {
                throw new DataException(f + ": truncated checkpoint (" + size + " bytes; its header announces "
                        + (payload < 0 ? "a negative length: the header is damaged" : expected + " bytes") + ")");
            }
            if (size > expected) {
                throw new DataException(f + ": " + (size - expected) + " trailing bytes after the checkpoint (" + size
                        + " bytes; its header announces " + expected + "): the file was changed or damaged");
            }
            md.update(header);
            byte[] buf = new byte[1 << 16];
            long left = payload;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) throw new EOFException();
                md.update(buf, 0, n);
                left -= n;
            }
            byte[] stored = in.readNBytes(TRAILER_BYTES);
            if (stored.length < TRAILER_BYTES) throw new EOFException();
            byte[] actual = md.digest();
            if (!MessageDigest.isEqual(stored, actual)) {
                throw new DataException(f + ": checksum mismatch: the file was changed or damaged (its SHA-256 is "
                        + HexFormat.of().formatHex(actual, 0, 8) + "..., the checkpoint records "
                        + HexFormat.of().formatHex(stored, 0, 8) + "...); it is not resumed");
            }
        }
    }

    private static Checkpoint parse(Path f, DataInputStream d, long payload) throws IOException {
        long left = payload;
        int epochs = d.readInt();
        long step = d.readLong();
        int jsonLength = d.readInt();
        left -= 16;
        if (jsonLength < 0 || jsonLength > left) throw inconsistent(f, "bookkeeping", "has length " + jsonLength + " (" + left + " bytes left)");
        byte[] json = new byte[jsonLength];
        d.readFully(json);
        left -= jsonLength;
        Map<String, Object> book;
        try {
            book = Json.object(Json.parse(new String(json, StandardCharsets.UTF_8)), f + ": bookkeeping");
        } catch (Json.ParseException e) {
            throw inconsistent(f, "bookkeeping", "is not valid JSON: " + e.getMessage());
        }
        float[][] arrays = new float[ARRAYS.size()][];
        byte[] chunk = new byte[1 << 16];
        for (int a = 0; a < arrays.length; a++) {
            int n = d.readInt();
            left -= 4;
            if (n < 0 || 4L * n > left) throw inconsistent(f, ARRAYS.get(a), "has length " + n + " (" + left + " bytes left)");
            float[] x = new float[n];
            for (int i = 0; i < n; ) {
                int m = Math.min(n - i, chunk.length / 4);
                d.readFully(chunk, 0, 4 * m);
                ByteBuffer.wrap(chunk).asFloatBuffer().get(x, i, m);
                i += m;
            }
            left -= 4L * n;
            arrays[a] = x;
        }
        if (left != 0) throw inconsistent(f, "best_params", "is followed by " + left + " unread bytes");
        Checkpoint c = new Checkpoint(epochs, new OptimizerState(arrays[0], arrays[1], arrays[2], arrays[3], step), arrays[4], book);
        c.validate(f);
        return c;
    }

    /** The checks of a checkpoint's contents against each other (not against a run: see {@link #checkShape}). */
    void validate(Path f) {
        if (epochsDone < 0) throw inconsistent(f, "epochs_done", "is " + epochsDone);
        if (state.step() < 0) throw inconsistent(f, "step", "is " + state.step());
        float[][] arrays = arrays();
        for (int a = 0; a < arrays.length; a++) {
            if (arrays[a].length != arrays[0].length) {
                throw inconsistent(f, ARRAYS.get(a), "holds " + arrays[a].length + " values but params holds " + arrays[0].length);
            }
            for (int i = 0; i < arrays[a].length; i++) {
                float v = arrays[a][i];
                if (!Float.isFinite(v) || (a == 2 && v < 0)) {
                    throw inconsistent(f, ARRAYS.get(a) + "[" + i + "]", "is " + v + (a == 2 && Float.isFinite(v) ? " (Adam's second moment is never negative)" : ""));
                }
            }
        }
        List<Object> history = list(f, bookkeeping, "history");
        int K = history.size();
        if (K < 1) throw inconsistent(f, "history", "is empty (a run has at least one replica)");
        if (arrays[0].length % K != 0) {
            throw inconsistent(f, "params", "holds " + arrays[0].length + " values, not a multiple of the " + K + " replicas in history");
        }
        // a replica set aside after diverging keeps the history of the epochs before it diverged
        List<Object> diverged = bookkeeping.containsKey("diverged") ? list(f, bookkeeping, "diverged") : null;
        if (diverged != null && diverged.size() != K) throw inconsistent(f, "diverged", "has " + diverged.size() + " entries for " + K + " replicas");
        for (int r = 0; r < K; r++) {
            String hr = "history[" + r + "]";
            if (!(history.get(r) instanceof List<?> records)) throw wrongType(f, hr, "an array", history.get(r));
            long expected = epochsDone;
            if (diverged != null && diverged.get(r) != null) {
                if (!(diverged.get(r) instanceof Map<?, ?> d)) throw wrongType(f, "diverged[" + r + "]", "an object or null", diverged.get(r));
                long at = integer(f, d, "diverged[" + r + "]", "epoch");
                integer(f, d, "diverged[" + r + "]", "step");
                if (at < 1 || at > epochsDone) throw inconsistent(f, "diverged[" + r + "].epoch", "is " + at + ", outside 1.." + epochsDone);
                expected = at - 1;
            }
            if (records.size() != expected) {
                throw inconsistent(f, hr, "holds " + records.size() + " epochs but the epoch counter says " + expected);
            }
            int nTheta = -1;
            for (int e = 0; e < records.size(); e++) {
                String he = hr + "[" + e + "]";
                if (!(records.get(e) instanceof Map<?, ?> rec)) throw wrongType(f, he, "an object", records.get(e));
                long epoch = integer(f, rec, he, "epoch");
                if (epoch != e + 1) throw inconsistent(f, he + ".epoch", "is " + epoch + ", expected " + (e + 1));
                number(f, rec, he, "train_loss", false);
                number(f, rec, he, "valid_mse", false);
                if (rec.containsKey("theta_error")) number(f, rec, he, "theta_error", false);
                if (!(rec.get("theta") instanceof List<?> theta)) throw wrongType(f, he + ".theta", "an array", rec.get("theta"));
                for (int i = 0; i < theta.size(); i++) finite(f, he + ".theta[" + i + "]", theta.get(i), false);
                if (nTheta >= 0 && theta.size() != nTheta) throw inconsistent(f, he + ".theta", "has " + theta.size() + " values, earlier epochs " + nTheta);
                nTheta = theta.size();
            }
        }
        List<Object> bestValid = list(f, bookkeeping, "best_valid");
        List<Object> bestEpoch = list(f, bookkeeping, "best_epoch");
        if (bestValid.size() != K) throw inconsistent(f, "best_valid", "has " + bestValid.size() + " entries for " + K + " replicas");
        if (bestEpoch.size() != K) throw inconsistent(f, "best_epoch", "has " + bestEpoch.size() + " entries for " + K + " replicas");
        for (int r = 0; r < K; r++) {
            finite(f, "best_valid[" + r + "]", bestValid.get(r), true);
            Object be = bestEpoch.get(r);
            if (!(be instanceof Long || be instanceof Integer)) throw wrongType(f, "best_epoch[" + r + "]", "an integer", be);
            long v = ((Number) be).longValue();
            if (v < 0 || v > epochsDone) throw inconsistent(f, "best_epoch[" + r + "]", "is " + v + ", outside 0.." + epochsDone);
        }
        double seconds = number(f, bookkeeping, "", "train_seconds", false);
        if (seconds < 0) throw inconsistent(f, "train_seconds", "is " + seconds);
        long steps = integer(f, bookkeeping, "", "steps");
        if (steps != state.step()) {
            throw inconsistent(f, "steps", "is " + steps + " but the optimizer's step counter says " + state.step());
        }
    }

    /** The checkpoint against the run that resumes it: K replicas of P parameters each, θ of nTheta values. */
    public void checkShape(Path dir, int replicas, int paramsPerReplica, int thetaCount) {
        Path f = dir.resolve(FILE);
        long want = (long) replicas * paramsPerReplica;
        if (state.params().length != want) {
            throw new DataException(f + ": field \"params\" holds " + state.params().length + " values, the run's model has "
                    + (replicas == 1 ? String.valueOf(paramsPerReplica) : replicas + " x " + paramsPerReplica)
                    + ": the checkpoint is not this run's");
        }
        List<?> history = (List<?>) bookkeeping.get("history");
        if (history.size() != replicas) {
            throw new DataException(f + ": field \"history\" holds " + history.size() + " replicas, the run has " + replicas);
        }
        for (int r = 0; r < replicas; r++) {
            for (Object rec : (List<?>) history.get(r)) {
                int n = ((List<?>) ((Map<?, ?>) rec).get("theta")).size();
                if (n != thetaCount) {
                    throw new DataException(f + ": field \"history[" + r + "]\" records " + n + " theta values, the run's task has " + thetaCount);
                }
                break;
            }
        }
    }

    private static List<Object> list(Path f, Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof List)) throw wrongType(f, key, "an array", v);
        @SuppressWarnings("unchecked") List<Object> l = (List<Object>) v;
        return l;
    }

    private static long integer(Path f, Map<?, ?> m, String at, String key) {
        Object v = m.get(key);
        if (!(v instanceof Long || v instanceof Integer)) throw wrongType(f, join(at, key), "an integer", v);
        return ((Number) v).longValue();
    }

    private static double number(Path f, Map<?, ?> m, String at, String key, boolean nullable) {
        return finite(f, join(at, key), m.get(key), nullable);
    }

    private static double finite(Path f, String field, Object v, boolean nullable) {
        if (v == null && nullable) return Double.POSITIVE_INFINITY;
        if (!(v instanceof Number n)) throw wrongType(f, field, nullable ? "a number or null" : "a number", v);
        double d = n.doubleValue();
        if (!Double.isFinite(d)) throw inconsistent(f, field, "is " + d);
        return d;
    }

    private static String join(String at, String key) {
        return at.isEmpty() ? key : at + "." + key;
    }

    private static DataException wrongType(Path f, String field, String expected, Object v) {
        String found = v == null ? "missing or null" : v instanceof String s ? "the string \"" + s + "\""
                : v instanceof Map ? "an object" : v instanceof List ? "an array" : v.getClass().getSimpleName().toLowerCase() + " " + v;
        return new DataException(f + ": field \"" + field + "\" must be " + expected + " but is " + found + " (the checkpoint is inconsistent)");
    }

    private static DataException inconsistent(Path f, String field, String what) {
        return new DataException(f + ": field \"" + field + "\" " + what + " (the checkpoint is inconsistent)");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
