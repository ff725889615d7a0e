package hybridsam.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
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
        Path target = dir.toAbsolutePath().normalize();
        refuseForeign(target);
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

    /** Largest manifest.json read (ours are about 2 kB); a larger file is refused before it is read. */
    public static final long MAX_MANIFEST_BYTES = 16L << 20;
    /** Values beyond this magnitude get a warning: the tasks' states are of order 1. */
    public static final double LARGE_MAGNITUDE = 1e6;

    /**
     * Loads and checks a data set; a warning (values of absurd magnitude) goes to standard error
     * as one line. See {@link #load(Path, Consumer)}.
     */
    public static Dataset load(Path dir) {
        return load(dir, w -> System.err.println("hybridsam: warning: " + w));
    }

    /**
     * Loads and checks a data set: the manifest (size, byte-order mark, UTF-8, JSON, the fields
     * "arrays", "task", "frame_dt", "theta_star", "theta_mn" where present) and every array (its
     * header's dtype and shape against the manifest and against the file's size, before the data
     * are read; then NaN and infinities). Problems are {@link DataException}s naming the file, the
     * field and the index; values larger than {@link #LARGE_MAGNITUDE} are reported to warnings,
     * one line per file.
     */
    public static Dataset load(Path dir, Consumer<String> warnings) {
        Path root = dir.toAbsolutePath().normalize();  // "../x" must not look like a path outside the data set
        if (!Files.isDirectory(root)) {
            throw new DataException(root + ": dataset directory not found");
        }
        Path manifestFile = root.resolve(MANIFEST);
        String where = manifestFile.toString();
        String text = readManifest(manifestFile);
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
        checkFields(manifest, where);

        Map<String, NdArray> arrays = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : index.entrySet()) {
            String name = e.getKey();
            String field = "arrays." + name;
            Map<String, Object> entry = Json.object(e.getValue(), where + ": field \"" + field + "\"");
            String fieldWhere = where + " (" + field + ")";
            String fileName = Json.string(entry, "file", fieldWhere);
            int[] shape = Json.ints(entry, "shape", fieldWhere);
            String dtype = null;
            if (entry.containsKey("dtype")) {
                dtype = Json.string(entry, "dtype", fieldWhere);
                if (!dtype.equals("float32") && !dtype.equals("float64")) {
                    throw new DataException(where + ": field \"" + field + ".dtype\" is \"" + dtype
                            + "\"; the arrays must be \"float32\" (or \"float64\", read as float32)");
                }
            }
            Path file;
            try {
                file = root.resolve(fileName).normalize();
            } catch (InvalidPathException bad) {
                throw new DataException(where + ": field \"" + field + ".file\" is not a usable file name ("
                        + bad.getReason() + "): " + Json.write(fileName), bad);
            }
            if (!file.startsWith(root)) {
                throw new DataException(where + ": field \"" + field + ".file\" points outside the dataset: "
                        + fileName);
            }
            if (!Files.isRegularFile(file)) {
                throw new DataException(file + ": file not found (listed in " + where + " as " + field + ")");
            }
            // the header first: a file that disagrees with the manifest is refused before its data are read
            Npy.Header h = Npy.readHeader(file);
            if (dtype != null && !dtype.equals(h.dtype())) {
                throw new DataException(file + ": dtype " + h.dtype() + " ('" + h.descr() + "') in file disagrees with"
                        + " manifest dtype \"" + dtype + "\" (" + field + ".dtype in " + where + ")");
            }
            if (!Arrays.equals(h.shape(), shape)) {
                throw new DataException(file + ": shape " + Npy.shapeText(h.shape()) + " in file disagrees with manifest shape "
                        + Arrays.toString(shape) + " (" + field + ".shape in " + where + ")");
            }
            NdArray a = Npy.read(file);
            if (!Arrays.equals(a.shape(), shape)) { // changed between the two reads
                throw new DataException(file + ": shape " + Npy.shapeText(a.shape()) + " in file disagrees with manifest shape "
                        + Arrays.toString(shape) + " (" + field + ".shape in " + where + ")");
            }
            checkFinite(file.toString(), a);
            checkMagnitude(file, a, warnings);
            arrays.put(name, a);
        }
        return new Dataset(manifest, arrays);
    }

    /**
     * The manifest's text: its size checked before it is read, a byte-order mark named (JSON
     * parsers report it as a stray character), and invalid UTF-8 refused with the byte offset.
     */
    private static String readManifest(Path manifestFile) {
        String where = manifestFile.toString();
        byte[] bytes;
        try {
            long size = Files.size(manifestFile);
            if (size > MAX_MANIFEST_BYTES) {
                throw new DataException(where + ": " + size + " bytes, more than the " + MAX_MANIFEST_BYTES
                        + " a manifest may have (is it the right file?)");
            }
            bytes = Files.readAllBytes(manifestFile);
        } catch (NoSuchFileException e) {
            throw new DataException(where + ": file not found (every dataset directory needs a manifest)", e);
        } catch (IOException e) {
            throw new DataException(where + ": cannot read: " + e, e);
        }
        String bom = byteOrderMark(bytes);
        if (bom != null) {
            String[] parts = bom.split(", ");
            throw new DataException(where + ": starts with a byte-order mark (" + parts[0] + "), the " + parts[1]
                    + " one, invisible in most editors; save the manifest as UTF-8 without a byte-order mark");
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            return dec.decode(in).toString();
        } catch (CharacterCodingException e) {
            throw new DataException(where + ": not valid UTF-8 (at byte " + in.position() + "); save the manifest as UTF-8", e);
        }
    }

    /** "EF BB BF, UTF-8" for a UTF-8 byte-order mark (likewise the UTF-16/32 ones), else null. */
    static String byteOrderMark(byte[] b) {
        int n = b.length;
        int b0 = n > 0 ? b[0] & 0xff : -1, b1 = n > 1 ? b[1] & 0xff : -1, b2 = n > 2 ? b[2] & 0xff : -1;
        int b3 = n > 3 ? b[3] & 0xff : -1;
        if (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF) return "EF BB BF, UTF-8";
        if (b0 == 0xFF && b1 == 0xFE && b2 == 0 && b3 == 0) return "FF FE 00 00, UTF-32";
        if (b0 == 0 && b1 == 0 && b2 == 0xFE && b3 == 0xFF) return "00 00 FE FF, UTF-32";
        if (b0 == 0xFE && b1 == 0xFF) return "FE FF, UTF-16";
        if (b0 == 0xFF && b1 == 0xFE) return "FF FE, UTF-16";
        return null;
    }

    /**
     * The manifest fields the trainer reads, where present: "task" a name, "frame_dt" (top level
     * or under "generator") a positive finite number, "theta_star" and "theta_mn" lists of finite
     * non-zero numbers (θ errors are relative to them, so a zero would divide by zero).
     */
    private static void checkFields(Map<String, Object> manifest, String where) {
        if (manifest.containsKey("task") && !(manifest.get("task") instanceof String)) {
            throw new DataException(where + ": field \"task\" should be a task name (a string), is " + manifest.get("task"));
        }
        checkFrameDt(manifest.get("frame_dt"), manifest.containsKey("frame_dt"), where, "frame_dt");
        if (manifest.get("generator") instanceof Map<?, ?> g) {
            checkFrameDt(g.get("frame_dt"), g.containsKey("frame_dt"), where, "generator.frame_dt");
        }
        for (String key : new String[] {"theta_star", "theta_mn"}) {
            if (!manifest.containsKey(key)) continue;
            if (!(manifest.get(key) instanceof List<?> list)) {
                throw new DataException(where + ": field \"" + key + "\" should be a list of numbers, is " + manifest.get(key));
            }
            for (int i = 0; i < list.size(); i++) {
                Object v = list.get(i);
                if (!(v instanceof Number num) || !Double.isFinite(num.doubleValue())) {
                    throw new DataException(where + ": field \"" + key + "[" + i + "]\" should be a finite number, is " + v);
                }
                if (num.doubleValue() == 0) {
                    throw new DataException(where + ": field \"" + key + "[" + i + "]\" is 0, but θ errors are relative"
                            + " (|θ - " + key + "| / |" + key + "|) and cannot be measured against 0; give the true nonzero"
                            + " value, or leave \"" + key + "\" out (then no such error is reported)");
                }
            }
        }
    }

    private static void checkFrameDt(Object v, boolean present, String where, String field) {
        if (!present) return;
        if (!(v instanceof Number num) || !(num.doubleValue() > 0) || !Double.isFinite(num.doubleValue())) {
            throw new DataException(where + ": field \"" + field + "\" (the time between frames) should be a positive"
                    + " finite number, is " + v);
        }
    }

    private static Object missing(String where, String key) {
        throw new DataException(where + ": missing field \"" + key + "\"");
    }

    /**
     * Non-finite inputs would silently poison training, so report the first one precisely (its
     * flat and per-axis index) and how many there are; `file` names the array in the message.
     */
    public static void checkFinite(String file, NdArray a) {
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

    /** One warning line per file whose largest |value| exceeds {@link #LARGE_MAGNITUDE}. */
    private static void checkMagnitude(Path file, NdArray a, Consumer<String> warnings) {
        float[] x = a.data();
        int at = -1;
        float max = 0;
        for (int i = 0; i < x.length; i++) {
            float m = Math.abs(x[i]);
            if (m > max) {
                max = m;
                at = i;
            }
        }
        if (max > LARGE_MAGNITUDE) {
            long over = 0;
            for (float v : x) if (Math.abs(v) > LARGE_MAGNITUDE) over++;
            warnings.accept(file + ": largest magnitude " + max + " (value " + x[at] + " at index "
                    + Arrays.toString(unravel(at, a.shape())) + "; " + over + " values over " + LARGE_MAGNITUDE
                    + "); states this large make the RK4 rollout and the network ill-conditioned: check the units");
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
        return loadOrCreate(dir, generator, w -> System.err.println("hybridsam: warning: " + w));
    }

    /** Generates and saves the data set when dir has none, then loads it as {@link #load(Path, Consumer)} does. */
    public static Dataset loadOrCreate(Path dir, Supplier<Dataset> generator, Consumer<String> warnings) throws IOException {
        if (!Files.isRegularFile(dir.resolve(MANIFEST))) {
            save(dir, generator.get());
        }
        // Always return what is on disk, so fresh and cached runs see identical, validated data.
        return load(dir, warnings);
    }

    /**
     * A data set replaces only a folder the tool wrote (one with a manifest) or an empty one:
     * anything else in it is somebody's files, and saving there would delete them.
     */
    static void refuseForeign(Path target) throws IOException {
        if (!Files.isDirectory(target) || Files.isRegularFile(target.resolve(MANIFEST))) return;
        try (var entries = Files.list(target)) {
            List<String> names = entries.map(p -> p.getFileName().toString()).sorted().limit(8).toList();
            if (!names.isEmpty()) {
                throw new DataException(target + " is not empty and holds no hybridsam data set (" + String.join(", ", names)
                        + (names.size() == 8 ? ", ..." : "") + "); refusing to replace it: choose another folder or empty it");
            }
        }
    }

    public static Path defaultCacheRoot() {
        String env = System.getenv("HYBRIDSAM_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "hybridsam");
    }
}
