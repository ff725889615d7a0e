package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path tmp;

    /** Random bit patterns, minus NaNs (their payload is not guaranteed), plus edge values. */
    private static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float f;
            do {
                f = Float.intBitsToFloat(r.nextInt());
            } while (Float.isNaN(f));
            x[i] = f;
        }
        float[] special = {-0.0f, 0.0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL / 3,
            Float.MAX_VALUE, -Float.MAX_VALUE, 1e30f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        System.arraycopy(special, 0, x, 0, Math.min(n, special.length));
        return x;
    }

    private static String headerText(byte[] file) {
        int len = (file[8] & 0xff) | (file[9] & 0xff) << 8;
        return new String(file, 10, len, StandardCharsets.ISO_8859_1);
    }

    @Test
    void roundTripIsBitIdenticalFor3d() throws IOException {
        NdArray a = new NdArray(randomFloats(4 * 7 * 3, 1), 4, 7, 3);
        Path f = tmp.resolve("a.npy");
        Npy.write(f, a);
        NdArray b = Npy.read(f);
        assertArrayEquals(a.shape(), b.shape());
        for (int i = 0; i < a.data().length; i++) {
            assertEquals(Float.floatToRawIntBits(a.data()[i]), Float.floatToRawIntBits(b.data()[i]), "index " + i);
        }
        assertEquals(a, b);
    }

    @Test
    void roundTrip1dAndEmptyAndScalar() throws IOException {
        for (NdArray a : new NdArray[] {new NdArray(randomFloats(5, 2), 5), new NdArray(new float[0], 0, 3),
                new NdArray(new float[] {3.5f})}) {
            Path f = tmp.resolve("x.npy");
            Npy.write(f, a);
            assertEquals(a, Npy.read(f));
        }
    }

    @Test
    void headerMatchesNumpyExactly() throws IOException {
        Path f = tmp.resolve("h.npy");
        Npy.write(f, new NdArray(new float[6], 2, 3));
        byte[] bytes = Files.readAllBytes(f);
        assertEquals((byte) 0x93, bytes[0]);
        assertEquals("NUMPY", new String(bytes, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, bytes[6]);
        assertEquals(0, bytes[7]);
        String h = headerText(bytes);
        assertTrue(h.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), h);
        assertTrue(h.endsWith("\n"));
        assertEquals("", h.substring(60, h.length() - 1).strip(), "padding must be spaces only");
        int dataOffset = 10 + h.length();
        assertEquals(0, dataOffset % 64);
        assertEquals(128, dataOffset); // what numpy 1.x/2.x writes for this shape
        assertEquals(dataOffset + 6 * 4, bytes.length);

        Npy.write(f, new NdArray(new float[5], 5));
        String h1 = headerText(Files.readAllBytes(f));
        assertTrue(h1.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"), h1);
        assertEquals(0, (10 + h1.length()) % 64);
    }

    @Test
    void headerAlignedForManyShapes() {
        Random r = new Random(3);
        for (int t = 0; t < 200; t++) {
            int[] shape = new int[r.nextInt(5)];
            for (int i = 0; i < shape.length; i++) shape[i] = r.nextInt(t % 2 == 0 ? 10 : 1_000_000);
            byte[] h = Npy.header(shape);
            assertEquals(0, h.length % 64, Arrays.toString(shape));
            assertEquals('\n', h[h.length - 1]);
        }
    }

    /** Builds a raw .npy file with an arbitrary header and payload. */
    private Path raw(String name, int major, String dict, byte[] payload) throws IOException {
        byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
        int lenBytes = major == 1 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(8 + lenBytes + text.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) text.length);
        else b.putInt(text.length);
        b.put(text).put(payload);
        Path f = tmp.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    @Test
    void readsFloat64AndVersion2Headers() throws IOException {
        double[] d = {1.0, -2.5, 0.1, 1e-300, 3e38};
        ByteBuffer p = ByteBuffer.allocate(d.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : d) p.putDouble(v);
        Path f = raw("f8.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }\n", p.array());
        NdArray a = Npy.read(f);
        assertArrayEquals(new int[] {5}, a.shape());
        float[] expected = new float[d.length];
        for (int i = 0; i < d.length; i++) expected[i] = (float) d[i];
        assertArrayEquals(expected, a.data());
        assertEquals(0.0f, a.data()[3]); // underflows to zero in float32
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        Path f = tmp.resolve("t.npy");
        Npy.write(f, new NdArray(new float[6400], 6400));
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, 128 + 1000));
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("6400 float32 values (25600 bytes)"), e.getMessage());
        assertTrue(e.getMessage().contains("only 1000 data bytes"), e.getMessage());
    }

    @Test
    void rejectsTruncatedHeader() throws IOException {
        Path f = tmp.resolve("th.npy");
        Npy.write(f, new NdArray(new float[4], 4));
        Files.write(f, Arrays.copyOf(Files.readAllBytes(f), 40));
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()) && e.getMessage().contains("truncated"),
                e.getMessage());
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        Path f = tmp.resolve("tr.npy");
        Npy.write(f, new NdArray(new float[4], 2, 2));
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length + 3));
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("3 unexpected trailing bytes"), e.getMessage());
    }

    @Test
    void rejectsBadMagic() throws IOException {
        Path f = tmp.resolve("bad.npy");
        Files.writeString(f, "this is a CSV file, not npy\n1,2,3\n");
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
    }

    @Test
    void rejectsUnsupportedVersion() throws IOException {
        Path f = raw("v9.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n", new byte[0]);
        byte[] all = Files.readAllBytes(f);
        all[6] = 9;
        Files.write(f, all);
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("version 9.0"), e.getMessage());
    }

    @Test
    void rejectsWrongDtype() throws IOException {
        for (String dtype : new String[] {"<i8", ">f4", "<f2"}) {
            Path f = raw("i8.npy", 1, "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (1,), }\n",
                    new byte[8]);
            DataException e = assertThrows(DataException.class, () -> Npy.read(f));
            assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("'" + dtype + "'"), e.getMessage());
        }
    }

    @Test
    void rejectsFortranOrder() throws IOException {
        Path f = raw("fo.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", new byte[16]);
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("fortran_order"), e.getMessage());
    }

    @Test
    void rejectsMalformedHeader() throws IOException {
        Stream.of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), ",
                "{'descr': '<f4', 'shape': (2,), }",
                "not a dict").forEach(dict -> {
                    try {
                        Path f = raw("m.npy", 1, dict + "\n", new byte[8]);
                        DataException e = assertThrows(DataException.class, () -> Npy.read(f), dict);
                        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
                    } catch (IOException io) {
                        throw new RuntimeException(io);
                    }
                });
    }

    @Test
    void rejectsMissingFile() {
        Path f = tmp.resolve("nope.npy");
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void largeFileRoundTrips() throws IOException {
        NdArray a = new NdArray(randomFloats(10_000_000, 4), 1000, 1000, 10); // 40 MB
        Path f = tmp.resolve("big.npy");
        Npy.write(f, a);
        assertEquals(a, Npy.read(f));
    }

    // ------------------------------------------------------------ sizes checked before allocating

    /** Heap bytes this thread allocated while running the action (HotSpot's per-thread counter). */
    private static long allocatedBy(Runnable action) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        action.run();
        return mx.getCurrentThreadAllocatedBytes() - before;
    }

    @Test
    void hugeShapeWithATinyBodyIsRefusedQuicklyNamingBothSizes() throws IOException {
        Path f = raw("huge.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000, 50, 2), }\n",
                new byte[16]);
        long t0 = System.nanoTime();
        String[] text = new String[1];
        long bytes = allocatedBy(() -> text[0] = assertThrows(DataException.class, () -> Npy.read(f)).getMessage());
        assertTrue((System.nanoTime() - t0) < 5_000_000_000L, "refused quickly");
        assertTrue(bytes < 1 << 20, "allocated " + bytes + " bytes before refusing");
        String m = text[0];
        assertTrue(m.contains(f.toAbsolutePath().toString()), m);
        assertTrue(m.contains("(2000000000, 50, 2)"), m);
        assertTrue(m.contains("800000000000 bytes"), "the header's size: " + m);
        assertTrue(m.contains("16 data bytes"), "the file's size: " + m);
        assertThrows(DataException.class, () -> Npy.readHeader(f));
    }

    @Test
    void aFileLargerThanItsHeaderSaysIsRefusedWithoutReadingIt() throws IOException {
        Path f = tmp.resolve("padded.npy");
        Npy.write(f, new NdArray(new float[4], 4));
        long size = 1_500_000_000L; // sparse: takes no disk space
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        }
        String[] text = new String[1];
        long bytes = allocatedBy(() -> {
            DataException e = assertThrows(DataException.class, () -> Npy.read(f));
            text[0] = e.getMessage();
        });
        assertTrue(bytes < 8 << 20, "allocated " + bytes + " bytes to refuse a header/size mismatch");
        String m = text[0];
        assertTrue(m.contains(f.toAbsolutePath().toString()), m);
        assertTrue(m.contains("trailing bytes") && m.contains("16 bytes") && m.contains(Long.toString(size)), m);
    }

    @Test
    void largeArraysAreReadWithoutASecondFullCopy() throws IOException {
        int n = 10_000_000; // 40 MB
        NdArray a = new NdArray(randomFloats(n, 5), n);
        Path f = tmp.resolve("big.npy");
        Npy.write(f, a);
        NdArray[] back = new NdArray[1];
        long bytes = allocatedBy(() -> back[0] = Npy.read(f));
        assertEquals(a, back[0]);
        assertTrue(bytes < 4L * n + (4 << 20), "read of a 40 MB array allocated " + bytes + " bytes");
        // float64 too: 80 MB on disk, 40 MB in memory
        ByteBuffer p = ByteBuffer.allocate(8 * 1_000_000).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 1_000_000; i++) p.putDouble(i * 0.5);
        Path g = raw("big8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }\n", p.array());
        long bytes8 = allocatedBy(() -> back[0] = Npy.read(g));
        assertEquals(499_999.5f, back[0].data()[999_999]);
        assertTrue(bytes8 < 4L * 1_000_000 + (4 << 20), "read of an 8 MB float64 file allocated " + bytes8 + " bytes");
    }

    @Test
    void moreValuesThanAJavaArrayHoldsAreRefused() throws IOException {
        Path f = raw("toomany.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 2), }\n",
                new byte[0]);
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(r.length() + 8L * 1073741824); // sparse 8 GiB: sizes agree, the count is too large
        }
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("2147483648 float32 values") && e.getMessage().contains(Long.toString(Npy.MAX_VALUES)),
                e.getMessage());
    }

    @Test
    void shapeProductsThatOverflowALongAreRefused() throws IOException {
        Path f = raw("ovf.npy", 1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }\n", new byte[8]);
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("8 data bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("79228162403583873202826248184 bytes"), "exact, not wrapped: " + e.getMessage());
    }

    @Test
    void headerIsReadWithoutTheData() throws IOException {
        Path f = tmp.resolve("h2.npy");
        Npy.write(f, new NdArray(new float[6], 2, 3));
        Npy.Header h = Npy.readHeader(f);
        assertArrayEquals(new int[] {2, 3}, h.shape());
        assertEquals("float32", h.dtype());
        assertEquals(6, h.count());
        assertEquals(128, h.dataOffset());
        assertEquals(128 + 24, h.fileSize());
    }

    @Test
    void float64TooLargeForFloat32IsRefusedWithItsIndex() throws IOException {
        ByteBuffer p = ByteBuffer.allocate(3 * 8).order(ByteOrder.LITTLE_ENDIAN);
        p.putDouble(1.0).putDouble(-2.0).putDouble(-1e300);
        Path f = raw("big8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", p.array());
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        String m = e.getMessage();
        assertTrue(m.contains(f.toAbsolutePath().toString()) && m.contains("-1.0E300") && m.contains("index 2")
                && m.contains("float32"), m);
    }

    @Test
    void byteOrderMarksAreNamed() throws IOException {
        Path f = tmp.resolve("bom.npy");
        Npy.write(f, new NdArray(new float[4], 4));
        byte[] b = Files.readAllBytes(f);
        byte[] withBom = new byte[b.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(b, 0, withBom, 3, b.length);
        Files.write(f, withBom);
        DataException e = assertThrows(DataException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString())
                && e.getMessage().contains("byte-order mark (EF BB BF)"), e.getMessage());

        Path g = raw("bomh.npy", 3, "\u00ef\u00bb\u00bf{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n",
                new byte[4]);
        e = assertThrows(DataException.class, () -> Npy.read(g));
        assertTrue(e.getMessage().contains(g.toAbsolutePath().toString())
                && e.getMessage().contains("byte-order mark (EF BB BF)"), e.getMessage());
    }
}
