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
}
