package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Shared helpers of the command-line tests: an in-process runner that captures stdout/stderr, one
 * data cache for the whole test JVM (the small data sets are generated into it once), and file
 * utilities to copy, snapshot and compare folders.
 */
final class Cli {
    private Cli() {
    }

    /** What one command printed and returned. */
    record Result(int status, String out, String err) {
        Result expect(int want) {
            assertEquals(want, status, () -> "exit status; stdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }
    }

    /** Options that keep a training run to a second or two. */
    static final List<String> FAST = List.of("--preset", "small", "--threads", "2", "--quiet");

    private static Path root;

    /** A temporary folder for the whole test JVM, deleted when it exits. */
    static synchronized Path root() {
        if (root == null) {
            try {
                root = Files.createTempDirectory("hybridsam-cli-test");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path r = root;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(r)));
        }
        return root;
    }

    /** The data cache shared by every test: pendulum and duffing small, data seed 0, generated once. */
    static synchronized Path cache() {
        Path c = root().resolve("cache");
        for (String task : List.of("pendulum", "duffing")) {
            if (!Files.exists(c.resolve(task + "-small-seed0").resolve("manifest.json"))) {
                run("generate", "--task", task, "--preset", "small", "--cache", c.toString()).expect(Main.OK);
            }
        }
        return c;
    }

    /** The generated duffing small data set (a folder that tests must only read). */
    static Path duffingData() {
        return cache().resolve("duffing-small-seed0");
    }

    static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int status;
        try (PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream err = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            status = new Main(out, err).run(args);
        }
        return new Result(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** train with FAST settings, the shared cache, the given output folder and extra options. */
    static Result train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train"));
        a.addAll(FAST);
        a.addAll(List.of("--cache", cache().toString(), "--out", out.toString()));
        a.addAll(Arrays.asList(extra));
        return run(a.toArray(String[]::new));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Path file) {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A run's results.json, with a single run's one replica's fields (seed, hyperparameters,
     * best_epoch, final, history, ...) also at the top, where tests of a single run look for
     * them; a file with K &gt; 1 replicas as it is. Checks the schema's fields on the way.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> results(Path runDir) {
        Map<String, Object> res = json(runDir.resolve("results.json"));
        assertEquals("hybridsam-results", res.get("schema"), "schema");
        assertEquals(2L, res.get("schema_version"), "schema_version");
        List<Object> reps = list(res, "replicas");
        assertEquals((long) reps.size(), res.get("replica_count"), "replica_count against the replicas list");
        if (reps.size() != 1) return res;
        Map<String, Object> view = new java.util.LinkedHashMap<>(res);
        view.putAll((Map<String, Object>) reps.get(0));
        return view;
    }

    /** θ of a results entry (an object by component name) as its values, in component order. */
    static List<Object> theta(Map<String, Object> m) {
        return new java.util.ArrayList<>(map(m, "theta").values());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertTrue(v instanceof Map, () -> "'" + key + "' should be an object, is " + v);
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertTrue(v instanceof List, () -> "'" + key + "' should be an array, is " + v);
        return (List<Object>) v;
    }

    static double number(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertTrue(v instanceof Number, () -> "'" + key + "' should be a number, is " + v);
        return ((Number) v).doubleValue();
    }

    /**
     * Structural equality in which every double must match bit for bit (JSON numbers are written
     * in Java's shortest round-tripping form, so the parsed values are the run's exact doubles).
     */
    static void assertBitIdentical(Object want, Object got, String path) {
        org.junit.jupiter.api.Assertions.assertNotNull(want, path + ": missing (nothing to compare)");
        if (want instanceof Map<?, ?> a) {
            assertTrue(got instanceof Map, path + ": expected an object, got " + got);
            Map<?, ?> b = (Map<?, ?>) got;
            assertEquals(a.keySet(), b.keySet(), path + ": keys");
            for (Object k : a.keySet()) assertBitIdentical(a.get(k), b.get(k), path + "." + k);
        } else if (want instanceof List<?> a) {
            assertTrue(got instanceof List, path + ": expected an array, got " + got);
            List<?> b = (List<?>) got;
            assertEquals(a.size(), b.size(), path + ": length");
            for (int i = 0; i < a.size(); i++) assertBitIdentical(a.get(i), b.get(i), path + "[" + i + "]");
        } else if (want instanceof Double a) {
            assertTrue(got instanceof Double, path + ": expected a double, got " + got);
            assertEquals(Double.doubleToRawLongBits(a), Double.doubleToRawLongBits((Double) got),
                    () -> path + ": " + a + " vs " + got);
        } else {
            assertEquals(want, got, path);
        }
    }

    /** Like {@link #assertBitIdentical} but doubles need only agree to a relative tolerance. */
    static void assertClose(Object want, Object got, double rel, String path) {
        org.junit.jupiter.api.Assertions.assertNotNull(want, path + ": missing (nothing to compare)");
        if (want instanceof Map<?, ?> a) {
            assertTrue(got instanceof Map, path + ": expected an object, got " + got);
            Map<?, ?> b = (Map<?, ?>) got;
            assertEquals(a.keySet(), b.keySet(), path + ": keys");
            for (Object k : a.keySet()) assertClose(a.get(k), b.get(k), rel, path + "." + k);
        } else if (want instanceof List<?> a) {
            assertTrue(got instanceof List, path + ": expected an array, got " + got);
            List<?> b = (List<?>) got;
            assertEquals(a.size(), b.size(), path + ": length");
            for (int i = 0; i < a.size(); i++) assertClose(a.get(i), b.get(i), rel, path + "[" + i + "]");
        } else if (want instanceof Double a) {
            assertTrue(got instanceof Double, path + ": expected a double, got " + got);
            assertEquals(a, (Double) got, rel * Math.max(Math.abs(a), 1e-12), path);
        } else {
            assertEquals(want, got, path);
        }
    }

    static void copyDir(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every file below dir (names relative to dir) with its bytes, for before/after comparisons. */
    static Map<String, String> snapshot(Path dir) {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    byte[] b = Files.readAllBytes(p);
                    m.put(dir.relativize(p).toString(), b.length + " bytes, sha-256 "
                            + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)));
                } else if (!p.equals(dir)) {
                    m.put(dir.relativize(p) + "/", "folder");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return m;
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
