package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad data files and bad values in them (issue items 5 and 7): each is refused with exit status 2
 * and a one-line message naming the file, field or option and, for sizes, both sizes, never a
 * stack trace, an OutOfMemoryError or exit 1; absurd magnitudes get a one-line warning.
 */
class CliBadDataTest {
    @TempDir
    Path tmp;

    /** A private copy of the generated duffing small data set, in a folder whose name names no task. */
    private Path data() {
        Path d = tmp.resolve("data");
        Cli.copyDir(Cli.duffingData(), d);
        return d;
    }

    private Cli.Result train(Path dir, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--task", "duffing", "--epochs", "1",
                "--threads", "2", "--quiet", "--data", dir.toString(), "--out", tmp.resolve("out").toString()));
        a.addAll(List.of(extra));
        return Cli.run(a.toArray(String[]::new));
    }

    /** Asserts exit 2, each text on stderr, no stack trace, and no output folder. */
    private Cli.Result refused(Cli.Result r, String... mentions) {
        r.expect(Main.BAD_INPUT);
        for (String m : mentions) {
            assertTrue(r.err().contains(m), () -> "stderr should mention '" + m + "':\n" + r.err());
        }
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), () -> "a stack trace:\n" + r.err());
        assertFalse(Files.exists(tmp.resolve("out")), "partial output left");
        return r;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(Path dir) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(dir.resolve("manifest.json")));
    }

    private static void writeManifest(Path dir, Map<String, Object> m) throws IOException {
        Files.writeString(dir.resolve("manifest.json"), Json.write(m));
    }

    /** A .npy file with the given header dict text (padded like numpy's) and body. */
    private static void writeNpy(Path f, String dict, byte[] body) throws IOException {
        StringBuilder h = new StringBuilder(dict);
        while ((10 + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        byte[] text = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + text.length + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) text.length).put(text).put(body);
        Files.write(f, b.array());
    }

    // ---------------------------------------------------------------- sizes

    @Test
    void aHeaderClaimingAHugeShapeOverATinyBodyIsRefusedNamingBothSizes() throws IOException {
        Path d = data(), f = d.resolve("train_obs.npy");
        writeNpy(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000, 50, 2), }", new byte[16]);
        Map<String, Object> m = manifest(d);
        Cli.map(Cli.map(m, "arrays"), "train_obs").put("shape", List.of(2000000000L, 50L, 2L));
        writeManifest(d, m);
        long t0 = System.nanoTime();
        refused(train(d), f.toString(), "800000000000 bytes", "16 data bytes");
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "refused quickly");
    }

    @Test
    void aFileMuchLargerThanItsHeaderIsRefusedWithoutReadingIt() throws IOException {
        Path d = data(), f = d.resolve("valid_obs.npy");
        long size;
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            size = r.length() + 3_000_000_000L; // sparse: 3 GB the header does not account for
            r.setLength(size);
        }
        refused(train(d), f.toString(), "trailing bytes", "file size " + size + " bytes");
    }

    // ---------------------------------------------------------------- manifest

    @Test
    void manifestDtypeIsCheckedAgainstTheArrays() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        Cli.map(Cli.map(m, "arrays"), "test_obs").put("dtype", "float64");
        writeManifest(d, m);
        refused(train(d), d.resolve("test_obs.npy").toString(), "\"float64\"", "float32", "arrays.test_obs.dtype");
        Cli.map(Cli.map(m, "arrays"), "test_obs").put("dtype", "int16");
        writeManifest(d, m);
        refused(train(d), "manifest.json", "int16", "arrays.test_obs.dtype");
    }

    @Test
    void aByteOrderMarkIsNamed() throws IOException {
        Path d = data(), mf = d.resolve("manifest.json");
        byte[] b = Files.readAllBytes(mf);
        byte[] bom = new byte[b.length + 3];
        bom[0] = (byte) 0xEF;
        bom[1] = (byte) 0xBB;
        bom[2] = (byte) 0xBF;
        System.arraycopy(b, 0, bom, 3, b.length);
        Files.write(mf, bom);
        refused(train(d), mf.toString(), "starts with a byte-order mark (EF BB BF)");

        Path d2 = tmp.resolve("data2");
        Cli.copyDir(Cli.duffingData(), d2);
        Path f = d2.resolve("train_obs.npy");
        byte[] n = Files.readAllBytes(f);
        byte[] nb = new byte[n.length + 3];
        System.arraycopy(bom, 0, nb, 0, 3);
        System.arraycopy(n, 0, nb, 3, n.length);
        Files.write(f, nb);
        refused(train(d2), f.toString(), "byte-order mark (EF BB BF)");
    }

    @Test
    void dataOfAnotherTaskSaySo() {
        // the folder's name ("data") names no task: the message must come from the manifest's "task"
        Path d = data();
        Cli.Result r = Cli.run("train", "--task", "pendulum", "--epochs", "1", "--threads", "2",
                "--quiet", "--data", d.toString(), "--out", tmp.resolve("out").toString());
        refused(r, "this data set is for duffing, not pendulum");
    }

    @Test
    void zeroThetaStarIsRefusedNamingTheField() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        m.put("theta_star", List.of(0.0, 1.0));
        writeManifest(d, m);
        refused(train(d), "manifest.json", "theta_star[0]", "is 0");
        m.put("theta_star", List.of(1.0, 1.0));
        m.put("theta_mn", List.of(0.98, 0.0));
        writeManifest(d, m);
        refused(train(d), "manifest.json", "theta_mn[1]", "is 0");
    }

    // ---------------------------------------------------------------- frame spacing and RK4 step

    @Test
    void anRk4StepThatOverflowsTheRolloutIsRefusedNamingTheOption() {
        Path d = data();
        refused(train(d, "--rk4-step", "1e-10"), "--rk4-step");
        refused(train(d, "--rk4-step", "1e-12"), "--rk4-step");
    }

    @Test
    void aFrameSpacingThatOverflowsTheRolloutIsRefusedNamingTheField() throws IOException {
        Path d = data();
        Map<String, Object> m = manifest(d);
        Cli.map(m, "generator").put("frame_dt", 1e12);
        writeManifest(d, m);
        refused(train(d), "frame_dt", "--rk4-step");
        Cli.map(m, "generator").put("frame_dt", "0.2");
        writeManifest(d, m);
        refused(train(d), "manifest.json", "frame_dt");
    }

    // ---------------------------------------------------------------- values

    @Test
    void float64ValuesBeyondFloat32AreRefusedWithTheirIndex() throws IOException {
        Path d = data(), f = d.resolve("test_obs.npy");
        ByteBuffer body = ByteBuffer.allocate(32 * 25 * 2 * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 32 * 25 * 2; i++) body.putDouble(i == 41 ? 1e300 : 0.5);
        writeNpy(f, "{'descr': '<f8', 'fortran_order': False, 'shape': (32, 25, 2), }", body.array());
        Map<String, Object> m = manifest(d);
        Cli.map(Cli.map(m, "arrays"), "test_obs").put("dtype", "float64");
        writeManifest(d, m);
        refused(train(d), f.toString(), "1.0E300", "index 41", "too large for float32");
    }

    @Test
    void absurdMagnitudesGetAOneLineWarning() throws IOException {
        Path d = data(), f = d.resolve("train_obs.npy");
        byte[] b = Files.readAllBytes(f);
        int headerEnd = 10 + (ByteBuffer.wrap(b, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(headerEnd + 4 * 9, -4.5e8f);
        Files.write(f, b);
        // the warning goes to the process's standard error (DatasetStore.load); capture it
        PrintStream old = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        Cli.Result r;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            r = train(d);
        } finally {
            System.setErr(old);
        }
        String err = captured.toString(StandardCharsets.UTF_8) + r.err();
        List<String> lines = err.lines().filter(l -> l.contains("warning") && l.contains("magnitude")).toList();
        assertEquals(1, lines.size(), err);
        assertTrue(lines.get(0).contains(f.toString()) && lines.get(0).contains("4.5E8"), lines.get(0));
        // a warning, not a refusal: training goes on (it may still diverge on such data)
        assertTrue(r.status() == Main.OK || r.status() == Main.DIVERGED, () -> "status " + r.status() + "\n" + r.err());
    }
}
