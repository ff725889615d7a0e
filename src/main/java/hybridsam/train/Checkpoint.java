package hybridsam.train;

import hybridsam.io.AtomicFiles;
import hybridsam.io.DataException;
import hybridsam.io.Json;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The full state of a run after a completed epoch: the optimizer state, the best parameters so
 * far and the trainer's bookkeeping (a JSON object). One binary file, written atomically, so a
 * crash mid-write leaves the previous checkpoint.
 */
public record Checkpoint(int epochsDone, OptimizerState state, float[] bestParams, Map<String, Object> bookkeeping) {
    public static final String FILE = "checkpoint.bin";
    private static final long MAGIC = 0x48534D43_4B505431L; // "HSMCKPT1"

    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE), out -> {
            DataOutputStream d = new DataOutputStream(new java.io.BufferedOutputStream(out, 1 << 16));
            d.writeLong(MAGIC);
            d.writeInt(epochsDone);
            d.writeLong(state.step());
            byte[] json = Json.write(bookkeeping).getBytes(StandardCharsets.UTF_8);
            d.writeInt(json.length);
            d.write(json);
            for (float[] a : new float[][]{state.params(), state.adamM(), state.adamV(), state.gradAverage(), bestParams}) {
                d.writeInt(a.length);
                for (float v : a) d.writeInt(Float.floatToRawIntBits(v));
            }
            d.flush();
        });
    }

    public static Checkpoint read(Path dir) {
        Path f = dir.resolve(FILE);
        try (InputStream in = Files.newInputStream(f);
             DataInputStream d = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16))) {
            if (d.readLong() != MAGIC) throw new DataException(f + ": not a hybridsam checkpoint (bad magic)");
            int epochs = d.readInt();
            long step = d.readLong();
            byte[] json = new byte[d.readInt()];
            d.readFully(json);
            Map<String, Object> book = Json.object(Json.parse(new String(json, StandardCharsets.UTF_8)), f.toString());
            float[][] arrays = new float[5][];
            for (int a = 0; a < 5; a++) {
                int n = d.readInt();
                if (n < 0 || n > (1 << 28)) throw new DataException(f + ": corrupt array length " + n);
                arrays[a] = new float[n];
                for (int i = 0; i < n; i++) arrays[a][i] = Float.intBitsToFloat(d.readInt());
            }
            if (d.read() != -1) throw new DataException(f + ": trailing bytes after the checkpoint");
            return new Checkpoint(epochs, new OptimizerState(arrays[0], arrays[1], arrays[2], arrays[3], step), arrays[4], book);
        } catch (NoSuchFileException e) {
            throw new DataException(f + ": no checkpoint (was the run started with this --out folder?)");
        } catch (EOFException e) {
            throw new DataException(f + ": truncated checkpoint", e);
        } catch (IOException e) {
            throw new DataException(f + ": cannot read checkpoint: " + e.getMessage(), e);
        }
    }
}
