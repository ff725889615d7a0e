package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetStoreTest {
    @TempDir
    Path tmp;

    private static NdArray random(long seed, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return new NdArray(x, shape);
    }

    private static Dataset sample() {
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("system", "pendulum");
        manifest.put("dt", 0.05);
        manifest.put("seed", 11L);
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        arrays.put("train_obs", random(1, 8, 5, 2));
        arrays.put("valid_obs", random(2, 3, 5, 2));
        arrays.put("test_obs", random(3, 4, 5, 2));
        return new Dataset(manifest, arrays);
    }

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void saveLoadRoundTrip() throws IOException {
        Path dir = tmp.resolve("cache/pendulum-v1");
        Dataset d = sample();
        DatasetStore.save(dir, d);
        assertEquals(List.of("manifest.json", "test_obs.npy", "train_obs.npy", "valid_obs.npy"), names(dir));
        assertEquals(List.of("pendulum-v1"), names(dir.getParent()), "no staging leftovers");

        Dataset back = DatasetStore.load(dir);
        assertEquals(d.arrays(), back.arrays());
        assertEquals(List.of("train_obs", "valid_obs", "test_obs"), List.copyOf(back.arrays().keySet()));
        assertEquals("pendulum", back.manifest().get("system"));
        assertEquals(0.05, back.manifest().get("dt"));
        assertEquals(11L, back.manifest().get("seed"));
        Map<String, Object> idx = Json.object(back.manifest().get("arrays"), "m");
        Map<String, Object> train = Json.object(idx.get("train_obs"), "m");
        assertEquals("train_obs.npy", train.get("file"));
        assertEquals("float32", train.get("dtype"));
        assertArrayEquals(new int[] {8, 5, 2}, Json.ints(train, "shape", "m"));

        // Re-saving a different dataset replaces the old one completely.
        Map<String, NdArray> only = new LinkedHashMap<>();
        only.put("train_obs", random(9, 2, 2));
        DatasetStore.save(dir, new Dataset(back.manifest(), only));
        assertEquals(List.of("manifest.json", "train_obs.npy"), names(dir));
        assertEquals(only, DatasetStore.load(dir).arrays());
        assertEquals(List.of("pendulum-v1"), names(dir.getParent()));
    }

    @Test
    void shapeMismatchNamesBothShapes() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path valid = dir.resolve("valid_obs.npy");
        Npy.write(valid, random(5, 3, 5, 3)); // user replaced a file with the wrong width
        DataException e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        String m = e.getMessage();
        assertTrue(m.contains(valid.toAbsolutePath().toString()), m);
        assertTrue(m.contains("(3, 5, 3)") && m.contains("[3, 5, 2]"), m);
        assertTrue(m.contains("arrays.valid_obs.shape"), m);
    }

    @Test
    void nanReportedWithFlatAndMultiIndex() throws IOException {
        Path dir = tmp.resolve("ds");
        NdArray obs = random(4, 6, 20, 2);
        int flat = (3 * 20 + 17) * 2 + 1;
        obs.data()[flat] = Float.NaN;
        obs.data()[flat + 5] = Float.POSITIVE_INFINITY;
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        arrays.put("train_obs", obs);
        DatasetStore.save(dir, new Dataset(Map.of(), arrays));
        DataException e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        String m = e.getMessage();
        assertTrue(m.contains(dir.resolve("train_obs.npy").toAbsolutePath().toString()), m);
        assertTrue(m.contains("flat index " + flat), m);
        assertTrue(m.contains("[3, 17, 1]"), m);
        assertTrue(m.contains("NaN"), m);
        assertTrue(m.contains("2 non-finite"), m);
    }

    @Test
    void manifestProblemsAreReported() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path manifest = dir.resolve("manifest.json").toAbsolutePath();

        Files.writeString(manifest, "{\"system\": \"pendulum\"}");
        DataException e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(manifest.toString()) && e.getMessage().contains("\"arrays\""),
                e.getMessage());

        Files.writeString(manifest, "{\"arrays\": {\"x\": {\"file\": \"x.npy\"}}}");
        e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(manifest.toString()) && e.getMessage().contains("\"shape\""),
                e.getMessage());

        Files.writeString(manifest, "{\"arrays\": {\"x\": {\"file\": \"x.npy\", \"shape\": [1]}}}");
        e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("x.npy").toAbsolutePath().toString())
                && e.getMessage().contains("not found"), e.getMessage());

        Files.writeString(manifest, "{\"arrays\": {\n  \"x\": [1,,]}}");
        e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(manifest.toString()) && e.getMessage().contains("2:"), e.getMessage());

        Files.delete(manifest);
        e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(manifest.toString()), e.getMessage());

        Path nowhere = tmp.resolve("nowhere");
        e = assertThrows(DataException.class, () -> DatasetStore.load(nowhere));
        assertTrue(e.getMessage().contains(nowhere.toAbsolutePath().toString()), e.getMessage());
    }

    @Test
    void badNpyInsideDatasetIsReported() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path test = dir.resolve("test_obs.npy");
        byte[] all = Files.readAllBytes(test);
        Files.write(test, java.util.Arrays.copyOf(all, all.length - 4));
        DataException e = assertThrows(DataException.class, () -> DatasetStore.load(dir));
        assertTrue(e.getMessage().contains(test.toAbsolutePath().toString()) && e.getMessage().contains("truncated"),
                e.getMessage());
    }

    @Test
    void loadOrCreateGeneratesOnce() throws IOException {
        Path dir = tmp.resolve("cache/ds");
        AtomicInteger calls = new AtomicInteger();
        Dataset first = DatasetStore.loadOrCreate(dir, () -> {
            calls.incrementAndGet();
            return sample();
        });
        Dataset second = DatasetStore.loadOrCreate(dir, () -> {
            calls.incrementAndGet();
            return sample();
        });
        assertEquals(1, calls.get());
        assertEquals(sample().arrays(), first.arrays());
        assertEquals(first.arrays(), second.arrays());
        assertTrue(first.manifest().containsKey("arrays"), "the reloaded manifest is returned");
    }

    @Test
    void failedGeneratorLeavesNoPartialDataset() {
        Path dir = tmp.resolve("ds");
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        arrays.put("ok", random(1, 2));
        arrays.put("bad/name", random(1, 2));
        assertThrows(IllegalArgumentException.class, () -> DatasetStore.save(dir, new Dataset(Map.of(), arrays)));
        assertFalse(Files.exists(dir));
        assertTrue(tmp.toFile().list().length == 0, "staging directory cleaned up");
    }

    @Test
    void defaultCacheRootIsUsable() {
        Path p = DatasetStore.defaultCacheRoot();
        String env = System.getenv("HYBRIDSAM_CACHE");
        if (env != null && !env.isBlank()) {
            assertEquals(Path.of(env), p);
        } else {
            assertEquals(Path.of(System.getProperty("user.home"), ".cache", "hybridsam"), p);
        }
    }

    // ------------------------------------------------------------ manifest and value checks

    /** A saved sample() whose manifest gets the given edit. */
    @SuppressWarnings("unchecked")
    private Path withManifest(java.util.function.Consumer<Map<String, Object>> edit) throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path mf = dir.resolve("manifest.json");
        Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(mf));
        edit.accept(m);
        Files.writeString(mf, Json.write(m));
        return dir;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> entry(Map<String, Object> m, String name) {
        return (Map<String, Object>) ((Map<String, Object>) m.get("arrays")).get(name);
    }

    private static String refusal(Path dir) {
        return assertThrows(DataException.class, () -> DatasetStore.load(dir, w -> { })).getMessage();
    }

    @Test
    void manifestDtypeMustMatchTheFile() throws IOException {
        Path dir = withManifest(m -> entry(m, "valid_obs").put("dtype", "float64"));
        String msg = refusal(dir);
        assertTrue(msg.contains(dir.resolve("valid_obs.npy").toAbsolutePath().toString()), msg);
        assertTrue(msg.contains("float32") && msg.contains("\"float64\"") && msg.contains("arrays.valid_obs.dtype"), msg);

        Path dir2 = withManifest(m -> entry(m, "train_obs").put("dtype", "int64"));
        msg = refusal(dir2);
        assertTrue(msg.contains("arrays.train_obs.dtype") && msg.contains("int64"), msg);
    }

    @Test
    void float64FilesMatchAFloat64Manifest() throws IOException {
        Path dir = withManifest(m -> entry(m, "train_obs").put("dtype", "float64"));
        java.nio.ByteBuffer p = java.nio.ByteBuffer.allocate(8 * 80).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 80; i++) p.putDouble(i / 8.0);
        byte[] text = "{'descr': '<f8', 'fortran_order': False, 'shape': (8, 5, 2), }                                  \n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + text.length + p.capacity()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) text.length).put(text).put(p.array());
        Files.write(dir.resolve("train_obs.npy"), b.array());
        Dataset d = DatasetStore.load(dir, w -> { });
        assertEquals(79 / 8.0f, d.arrays().get("train_obs").data()[79]);
    }

    @Test
    void byteOrderMarkInTheManifestIsNamed() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path mf = dir.resolve("manifest.json");
        byte[] b = Files.readAllBytes(mf);
        byte[] bom = new byte[b.length + 3];
        bom[0] = (byte) 0xEF;
        bom[1] = (byte) 0xBB;
        bom[2] = (byte) 0xBF;
        System.arraycopy(b, 0, bom, 3, b.length);
        Files.write(mf, bom);
        String msg = refusal(dir);
        assertTrue(msg.contains(mf.toAbsolutePath().toString()) && msg.contains("starts with a byte-order mark (EF BB BF)"), msg);

        Files.write(mf, Files.readString(dir.resolve("manifest.json"), java.nio.charset.StandardCharsets.ISO_8859_1)
                .substring(3).getBytes(java.nio.charset.StandardCharsets.UTF_16)); // Java writes FE FF first
        msg = refusal(dir);
        assertTrue(msg.contains("byte-order mark (FE FF)") && msg.contains("UTF-16"), msg);
    }

    @Test
    void invalidUtf8InTheManifestIsNamedWithItsOffset() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path mf = dir.resolve("manifest.json");
        byte[] b = Files.readAllBytes(mf);
        b[5] = (byte) 0xC3; // a two-byte sequence start followed by an ASCII byte
        Files.write(mf, b);
        String msg = refusal(dir);
        assertTrue(msg.contains(mf.toAbsolutePath().toString()) && msg.contains("UTF-8") && msg.contains("byte 5"), msg);
    }

    @Test
    void aHugeManifestIsRefusedWithoutReadingIt() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        Path mf = dir.resolve("manifest.json");
        try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(mf.toFile(), "rw")) {
            r.setLength(3_000_000_000L); // sparse
        }
        String msg = refusal(dir);
        assertTrue(msg.contains(mf.toAbsolutePath().toString()) && msg.contains("3000000000 bytes"), msg);
    }

    @Test
    void zeroThetaStarOrThetaMnIsRefused() throws IOException {
        Path dir = withManifest(m -> m.put("theta_star", List.of(0.0, 1.0)));
        String msg = refusal(dir);
        assertTrue(msg.contains("manifest.json") && msg.contains("theta_star[0]") && msg.contains("is 0"), msg);

        Path dir2 = withManifest(m -> m.put("theta_mn", List.of(1.0, -0.0)));
        msg = refusal(dir2);
        assertTrue(msg.contains("theta_mn[1]") && msg.contains("is 0"), msg);

        Path dir3 = withManifest(m -> m.put("theta_star", List.of(1.0, "two")));
        msg = refusal(dir3);
        assertTrue(msg.contains("theta_star[1]") && msg.contains("two"), msg);
    }

    @Test
    void frameSpacingMustBePositiveAndFinite() throws IOException {
        for (Object bad : new Object[] {0.0, -0.2, "0.2", null}) {
            Path dir = withManifest(m -> {
                Map<String, Object> g = new LinkedHashMap<>();
                g.put("frame_dt", bad);
                m.put("generator", g);
            });
            String msg = refusal(dir);
            assertTrue(msg.contains("generator.frame_dt") && msg.contains("is " + bad), msg);
            Path top = withManifest(m -> m.put("frame_dt", bad));
            msg = refusal(top);
            assertTrue(msg.contains("\"frame_dt\"") && msg.contains("is " + bad), msg);
        }
    }

    @Test
    void absurdMagnitudesGetOneWarningPerFile() throws IOException {
        Path dir = tmp.resolve("ds");
        Dataset d = sample();
        d.arrays().get("train_obs").data()[13] = -3.5e7f;
        d.arrays().get("train_obs").data()[14] = 2e6f;
        d.arrays().get("test_obs").data()[0] = 1e6f; // at the threshold: no warning
        DatasetStore.save(dir, d);
        List<String> warnings = new java.util.ArrayList<>();
        Dataset back = DatasetStore.load(dir, warnings::add);
        assertEquals(d.arrays(), back.arrays(), "a warning, not a refusal");
        assertEquals(1, warnings.size(), warnings::toString);
        String w = warnings.get(0);
        assertTrue(w.contains(dir.resolve("train_obs.npy").toAbsolutePath().toString()), w);
        assertTrue(w.contains("3.5E7") && w.contains("[1, 1, 1]") && w.contains("2 values"), w);
        assertFalse(w.contains("\n"), "one line");
    }

    @Test
    void shapeMismatchIsRefusedBeforeTheDataAreRead() throws IOException {
        Path dir = tmp.resolve("ds");
        DatasetStore.save(dir, sample());
        int n = 50_000_000; // 200 MB of float32 that the manifest does not describe
        Path big = dir.resolve("train_obs.npy");
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(Npy.header(new int[] {n, 1, 2}));
        Files.write(big, h.array());
        try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            r.setLength(r.length() + 8L * n); // sparse
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        String msg = refusal(dir);
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(msg.contains("(50000000, 1, 2)") && msg.contains("[8, 5, 2]"), msg);
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes to refuse a shape mismatch");
    }

    /** A cache or --out folder holding somebody's files is never replaced by a generated data set. */
    @Test
    void savingOverAForeignFolderIsRefusedAndItsFilesStay() throws IOException {
        Path dir = tmp.resolve("someone");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("notes.txt"), "mine");
        DataException e = assertThrows(DataException.class, () -> DatasetStore.loadOrCreate(dir,
                () -> hybridsam.tasks.Tasks.byName("pendulum").generate("small", 0), w -> { }));
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains("refusing"), e.getMessage());
        assertEquals("mine", Files.readString(dir.resolve("notes.txt")));
    }
}
