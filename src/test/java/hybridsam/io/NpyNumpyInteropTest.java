package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cross-checks against real numpy; skipped where python3 with numpy is not installed. */
class NpyNumpyInteropTest {
    @TempDir
    Path tmp;

    private static boolean numpyAvailable;

    @BeforeAll
    static void probe() {
        try {
            numpyAvailable = python("import numpy").exit == 0;
        } catch (IOException | InterruptedException e) {
            numpyAvailable = false;
        }
    }

    private record Result(int exit, String output) {}

    private static Result python(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timeout");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void numpyReadsWhatWeWrite() throws Exception {
        assumeTrue(numpyAvailable, "python3 with numpy not available");
        float[] x = {0.1f, -0.0f, Float.MIN_VALUE, 3e38f, -7.25f, 1.0f};
        Path ours = tmp.resolve("ours.npy");
        Npy.write(ours, new NdArray(x, 1, 2, 3));
        Path theirs = tmp.resolve("theirs.npy");
        String script = "import numpy as np\n"
                + "a = np.load(r'" + ours + "')\n"
                + "assert a.dtype == np.float32 and a.shape == (1, 2, 3), (a.dtype, a.shape)\n"
                + "bits = a.view(np.uint32).ravel().tolist()\n"
                + "print(' '.join(str(b) for b in bits))\n"
                + "np.save(r'" + theirs + "', a)\n";
        Result r = python(script);
        assertEquals(0, r.exit, r.output);
        String[] bits = r.output.trim().split(" ");
        for (int i = 0; i < x.length; i++) {
            assertEquals(Integer.toUnsignedString(Float.floatToRawIntBits(x[i])), bits[i], "element " + i);
        }
        // numpy.save of the same array must produce the very same bytes as our writer.
        assertEquals(new String(Files.readAllBytes(theirs), StandardCharsets.ISO_8859_1),
                new String(Files.readAllBytes(ours), StandardCharsets.ISO_8859_1));
    }

    @Test
    void weReadWhatNumpyWrites() throws Exception {
        assumeTrue(numpyAvailable, "python3 with numpy not available");
        Path f32 = tmp.resolve("f32.npy");
        Path f64 = tmp.resolve("f64.npy");
        Path f1d = tmp.resolve("f1d.npy");
        String script = "import numpy as np\n"
                + "a = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7.0)\n"
                + "np.save(r'" + f32 + "', a.astype(np.float32))\n"
                + "np.save(r'" + f64 + "', a)\n"
                + "np.save(r'" + f1d + "', np.array([1.5, -2.0], dtype=np.float32))\n";
        Result r = python(script);
        assertEquals(0, r.exit, r.output);
        NdArray a32 = Npy.read(f32);
        NdArray a64 = Npy.read(f64);
        assertEquals(new NdArray(new float[] {1.5f, -2.0f}, 2), Npy.read(f1d));
        assertEquals(3, a32.rank());
        assertEquals(4, a32.dim(2));
        for (int i = 0; i < 24; i++) {
            float expected = (float) (i / 7.0);
            assertEquals(expected, a32.data()[i], 0.0f);
            assertEquals(expected, a64.data()[i], 0.0f);
        }
        assertTrue(a32.equals(a64));
    }
}
