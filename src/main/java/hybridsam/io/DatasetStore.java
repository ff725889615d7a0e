package hybridsam.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Stores a {@link Dataset} as a directory of {@code <name>.npy} files plus {@code manifest.json}.
 * Saving is all-or-nothing (staging directory + rename) and loading validates everything a user
 * could get wrong, so the rest of the program can trust the arrays it receives.
 */
public final class DatasetStore {
    public static final String MANIFEST = "manifest.json";

    private DatasetStore() {}

    public static void save(Path dir, Dataset d) throws IOException {
        Path target = dir.toAbsolutePath();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        // A sibling, so the final rename stays within one file system and is atomic.
        Path staging = parent.resolve("." + target.getFileName() + ".staging-" + System.nanoTime());
        try {
            Files.createDirectory(staging);
            Map<String, Object> index = new LinkedHashMap<>();
            for (Map.Entry<String, NdArray> e : d.arrays().entrySet()) {
                String name = e.getKey();
                checkName(name);
                String file = name + ".npy";
                Npy.write(staging.resolve(file), e.getValue());
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("file", file);
                entry.put("shape", e.getValue().shape());
                entry.put("dtype", "float32");
                index.put(name, entry);
            }
            Map<String, Object> manifest = new LinkedHashMap<>(d.manifest());
            // Replace any stale index (e.g. when re-saving a loaded dataset) with the real one.
            manifest.put("arrays", index);
            AtomicFiles.writeString(staging.resolve(MANIFEST), Json.write(manifest));
            try {
                AtomicFiles.replaceDirectory(staging, target);
            } catch (UncheckedIOException e) {
                throw e.getCause(); // save() reports I/O failures as plain IOExceptions
            }
        } finally {
            // Only still present if something failed before the publish.
            AtomicFiles.deleteRecursively(staging);
        }
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..")
                || name.contains("/") || name.contains("\\") || name.equals("manifest")) {
            throw new IllegalArgumentException("invalid dataset array name: \"" + name + "\"");
        }
    }

    public static Dataset load(Path dir) {
        Path root = dir.toAbsolutePath();
        if (!Files.isDirectory(root)) {
            throw new DataException(root + ": dataset directory not found");
        }
        Path manifestFile = root.resolve(MANIFEST);
        String where = manifestFile.toString();
        String text;
        try {
            text = Files.readString(manifestFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataException(where + ": file not found (every dataset directory needs a manifest)", e);
        } catch (IOException e) {
            throw new DataException(where + ": cannot read: " + e, e);
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (Json.ParseException e) {
            throw new DataException(where + ": " + e.getMessage(), e);
        }
        Map<String, Object> manifest = Json.object(parsed, where);
        Map<String, Object> index = Json.object(
                manifest.containsKey("arrays") ? manifest.get("arrays") : missing(where, "arrays"),
                where + ": field \"arrays\"");

        Map<String, NdArray> arrays = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : index.entrySet()) {
            String name = e.getKey();
            String field = "arrays." + name;
            Map<String, Object> entry = Json.object(e.getValue(), where + ": field \"" + field + "\"");
            String fieldWhere = where + " (" + field + ")";
            String fileName = Json.string(entry, "file", fieldWhere);
            int[] shape = Json.ints(entry, "shape", fieldWhere);
            Path file = root.resolve(fileName).normalize();
            if (!file.startsWith(root)) {
                throw new DataException(where + ": field \"" + field + ".file\" points outside the dataset: "
                        + fileName);
            }
            if (!Files.isRegularFile(file)) {
                throw new DataException(file + ": file not found (listed in " + where + " as " + field + ")");
            }
            NdArray a = Npy.read(file);
            if (!Arrays.equals(a.shape(), shape)) {
                throw new DataException(file + ": shape " + Npy.shapeText(a.shape()) + " in file disagrees with manifest shape "
                        + Arrays.toString(shape) + " (" + field + ".shape in " + where + ")");
            }
            checkFinite(file, a);
            arrays.put(name, a);
        }
        return new Dataset(manifest, arrays);
    }

    private static Object missing(String where, String key) {
        throw new DataException(where + ": missing field \"" + key + "\"");
    }

    /** Non-finite inputs would silently poison training, so report the first one precisely. */
    private static void checkFinite(Path file, NdArray a) {
        float[] x = a.data();
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                long bad = 0;
                for (int j = i; j < x.length; j++) {
                    if (!Float.isFinite(x[j])) bad++;
                }
                throw new DataException(file + ": non-finite value " + x[i] + " at flat index " + i + ", index "
                        + Arrays.toString(unravel(i, a.shape())) + " of shape " + Arrays.toString(a.shape())
                        + " (" + bad + " non-finite values in total)");
            }
        }
    }

    /** C-order flat index to per-axis indices. */
    static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            idx[k] = flat % shape[k];
            flat /= shape[k];
        }
        return idx;
    }

    public static Dataset loadOrCreate(Path dir, Supplier<Dataset> generator) throws IOException {
        if (!Files.isRegularFile(dir.resolve(MANIFEST))) {
            save(dir, generator.get());
        }
        // Always return what is on disk, so fresh and cached runs see identical, validated data.
        return load(dir);
    }

    public static Path defaultCacheRoot() {
        String env = System.getenv("HYBRIDSAM_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "hybridsam");
    }
}
