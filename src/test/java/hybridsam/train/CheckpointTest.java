package hybridsam.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.DataException;
import hybridsam.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** checkpoint.bin: a checksum over every byte, and contents that must agree with each other. */
class CheckpointTest {
    @TempDir
    Path dir;

    /** Two replicas, 3 parameters each, two epochs done, bookkeeping as the trainer writes it. */
    /** Two replicas' per-epoch records for the given number of epochs, as the trainer keeps them. */
    private static List<Object> history(int epochs) {
        List<Object> history = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<Object> h = new ArrayList<>();
            for (int e = 1; e <= epochs; e++) {
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("epoch", e);
                rec.put("train_loss", 0.5 / e);
                rec.put("valid_mse", 0.25 / e);
                rec.put("theta", new double[]{1.0 + r, 2.0});
                rec.put("theta_error", 0.1);
                h.add(rec);
            }
            history.add(h);
        }
        return history;
    }

    private static Checkpoint sample() {
        float[] p = {0.5f, -1.25f, 3f, 0.1f, 0.2f, 0.3f};
        float[] m = {1e-3f, 2e-3f, 0f, 0f, 1f, -1f};
        float[] v = {1e-6f, 0f, 2e-6f, 0f, 1f, 1f};
        float[] a = {0f, 0f, 0.5f, 0.25f, 0f, 0f};
        float[] best = {0.4f, -1f, 2f, 0f, 0.2f, 0.3f};
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("history", history(2));
        b.put("best_valid", Arrays.asList(0.125, null));
        b.put("best_epoch", new int[]{2, 0});
        b.put("train_seconds", 1.5);
        b.put("steps", 8L);
        return new Checkpoint(2, new OptimizerState(p, m, v, a, 8), best, b);
    }

    /**
     * A reader while the run replaces its checkpoint (evaluate or sweep on a running run): it
     * reads the whole of one version, never a mix. (Reading the size, the checksum and the
     * contents through three opens of the path failed here as "checksum"/"inconsistent".)
     */
    @Test
    void aCheckpointReplacedWhileItIsReadIsReadWholeFromOneVersion() throws Exception {
        Checkpoint small = sample();
        Map<String, Object> longer = new LinkedHashMap<>(small.bookkeeping());
        longer.put("history", history(3));
        Checkpoint big = new Checkpoint(3, small.state(), small.bestParams(), longer);
        Path a = dir.resolve("a"), b = dir.resolve("b"), run = dir.resolve("run");
        small.write(a);
        big.write(b);
        Files.createDirectories(run);
        Files.copy(a.resolve(Checkpoint.FILE), run.resolve(Checkpoint.FILE));
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread writer = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    Path tmpFile = run.resolve(".next");
                    Files.copy((i % 2 == 0 ? b : a).resolve(Checkpoint.FILE), tmpFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmpFile, run.resolve(Checkpoint.FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        writer.start();
        try {
            for (int i = 0; i < 300; i++) {
                int epochs = Checkpoint.read(run).epochsDone();
                assertTrue(epochs == 2 || epochs == 3, "epochs " + epochs);
            }
        } finally {
            stop.set(true);
            writer.join();
        }
    }

    @Test
    void roundTripKeepsEveryBit() throws IOException {
        Checkpoint c = sample();
        c.write(dir);
        Checkpoint r = Checkpoint.read(dir);
        assertEquals(2, r.epochsDone());
        assertEquals(8, r.state().step());
        assertArrayEquals(c.state().params(), r.state().params());
        assertArrayEquals(c.state().adamM(), r.state().adamM());
        assertArrayEquals(c.state().adamV(), r.state().adamV());
        assertArrayEquals(c.state().gradAverage(), r.state().gradAverage());
        assertArrayEquals(c.bestParams(), r.bestParams());
        assertEquals(Json.write(c.bookkeeping()), Json.write(r.bookkeeping()));
        r.checkShape(dir, 2, 3, 2);
    }

    @Test
    void everySingleBitFlipIsAChecksumMismatchOrABadHeader() throws IOException {
        sample().write(dir);
        Path f = dir.resolve(Checkpoint.FILE);
        byte[] good = Files.readAllBytes(f);
        for (int i = 0; i < good.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] b = good.clone();
                b[i] ^= (byte) (1 << bit);
                Files.write(f, b);
                DataException e = assertThrows(DataException.class, () -> Checkpoint.read(dir), "byte " + i + " bit " + bit);
                String msg = e.getMessage();
                assertTrue(msg.startsWith(f.toString()), msg);
                if (i >= Checkpoint.HEADER_BYTES) {
                    assertTrue(msg.contains("checksum mismatch: the file was changed or damaged"), "byte " + i + ": " + msg);
                }
            }
        }
    }

    @Test
    void truncationAtAnyLengthIsRefusedNamingTheFile() throws IOException {
        sample().write(dir);
        Path f = dir.resolve(Checkpoint.FILE);
        byte[] good = Files.readAllBytes(f);
        for (int n = 0; n < good.length; n++) {
            Files.write(f, Arrays.copyOf(good, n));
            DataException e = assertThrows(DataException.class, () -> Checkpoint.read(dir), "length " + n);
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            if (n >= 8) assertTrue(e.getMessage().contains("truncated"), n + ": " + e.getMessage());
        }
        Files.write(f, Arrays.copyOf(good, good.length + 3));
        assertTrue(assertThrows(DataException.class, () -> Checkpoint.read(dir)).getMessage().contains("trailing bytes"));
    }

    private void refused(Checkpoint c, String... mentions) throws IOException {
        c.write(dir); // a valid checksum: only the contents are wrong
        DataException e = assertThrows(DataException.class, () -> Checkpoint.read(dir));
        for (String m : mentions) assertTrue(e.getMessage().contains(m), () -> "'" + m + "' in: " + e.getMessage());
        assertTrue(e.getMessage().contains(dir.resolve(Checkpoint.FILE).toString()), e.getMessage());
    }

    private static Checkpoint withBook(Consumer<Map<String, Object>> edit) {
        Checkpoint c = sample();
        Map<String, Object> b = new LinkedHashMap<>(c.bookkeeping());
        edit.accept(b);
        return new Checkpoint(c.epochsDone(), c.state(), c.bestParams(), b);
    }

    private static Checkpoint withState(int array, int index, float value) {
        Checkpoint c = sample();
        OptimizerState s = c.state().copy();
        float[] best = c.bestParams().clone();
        float[][] a = {s.params(), s.adamM(), s.adamV(), s.gradAverage(), best};
        a[array][index] = value;
        return new Checkpoint(c.epochsDone(), s, best, c.bookkeeping());
    }

    @Test
    void anEpochCounterThatDisagreesWithTheHistoryIsRefused() throws IOException {
        Checkpoint c = sample();
        refused(new Checkpoint(3, c.state(), c.bestParams(), c.bookkeeping()), "history[0]", "holds 2 epochs", "epoch counter says 3");
        refused(new Checkpoint(1, c.state(), c.bestParams(), c.bookkeeping()), "epoch counter says 1");
        refused(withBook(b -> b.put("steps", 9L)), "\"steps\"", "9", "8");
    }

    @Test
    void nonFiniteOrImpossibleNumbersAreRefusedNamingTheField() throws IOException {
        refused(withState(0, 4, Float.NaN), "params[4]", "NaN");
        refused(withState(1, 0, Float.POSITIVE_INFINITY), "adam_m[0]", "Infinity");
        refused(withState(2, 1, -1e-3f), "adam_v[1]", "negative");
        refused(withState(3, 2, Float.NEGATIVE_INFINITY), "grad_average[2]");
        refused(withState(4, 5, Float.NaN), "best_params[5]");
    }

    @Test
    void arraysOfDifferentLengthsAreRefused() throws IOException {
        Checkpoint c = sample();
        refused(new Checkpoint(2, c.state(), Arrays.copyOf(c.bestParams(), 5), c.bookkeeping()), "best_params", "5", "6");
        OptimizerState s = c.state();
        refused(new Checkpoint(2, new OptimizerState(s.params(), s.adamM(), Arrays.copyOf(s.adamV(), 4), s.gradAverage(), 8),
                c.bestParams(), c.bookkeeping()), "adam_v");
    }

    @Test
    @SuppressWarnings("unchecked")
    void wrongTypesAreRefusedNamingTheField() throws IOException {
        refused(withBook(b -> b.put("best_epoch", List.of("2", 0))), "best_epoch[0]", "an integer", "the string \"2\"");
        refused(withBook(b -> b.put("train_seconds", "long")), "train_seconds", "a number");
        refused(withBook(b -> b.put("history", "none")), "\"history\"", "an array");
        refused(withBook(b -> b.remove("best_valid")), "best_valid");
        refused(withBook(b -> {
            List<Object> h = new ArrayList<>((List<Object>) b.get("history"));
            List<Object> r0 = new ArrayList<>((List<Object>) h.get(0));
            Map<String, Object> rec = new LinkedHashMap<>((Map<String, Object>) r0.get(1));
            rec.put("valid_mse", "0.1");
            r0.set(1, rec);
            h.set(0, r0);
            b.put("history", h);
        }), "history[0][1].valid_mse", "a number");
    }

    @Test
    void theShapeOfTheRunIsChecked() throws IOException {
        sample().write(dir);
        Checkpoint c = Checkpoint.read(dir);
        DataException p = assertThrows(DataException.class, () -> c.checkShape(dir, 1, 6, 2));
        assertTrue(p.getMessage().contains("history") && p.getMessage().contains("2 replicas"), p.getMessage());
        DataException q = assertThrows(DataException.class, () -> c.checkShape(dir, 2, 4, 2));
        assertTrue(q.getMessage().contains("\"params\"") && q.getMessage().contains("6") && q.getMessage().contains("2 x 4"), q.getMessage());
        DataException t = assertThrows(DataException.class, () -> c.checkShape(dir, 2, 3, 1));
        assertTrue(t.getMessage().contains("theta"), t.getMessage());
    }

    @Test
    void formatOneIsRefusedAsUnverifiable() throws IOException {
        Path f = dir.resolve(Checkpoint.FILE);
        byte[] b = new byte[64];
        java.nio.ByteBuffer.wrap(b).putLong(Checkpoint.MAGIC_V1);
        Files.write(f, b);
        DataException e = assertThrows(DataException.class, () -> Checkpoint.read(dir));
        assertTrue(e.getMessage().contains("format 1") && e.getMessage().contains("older hybridsam"), e.getMessage());
        java.nio.ByteBuffer.wrap(b).putLong(Checkpoint.MAGIC).putInt(3);
        Files.write(f, b);
        assertTrue(assertThrows(DataException.class, () -> Checkpoint.read(dir)).getMessage().contains("format 3"));
    }
}
