package hybridsam.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a data set's bytes were: the SHA-256 of each of its files (the manifest and every array
 * file it lists, streamed, so large files are never held in memory) and one SHA-256 over those
 * (file names sorted). A run records it when it starts; a resume recomputes it over the recorded
 * files and refuses data that differ, naming each file that does.
 */
public record DataFingerprint(String digest, Map<String, String> files) {
    /** The value recorded for a file that is not there. */
    public static final String MISSING = "missing";
    private static final String PREFIX = "sha256:";

    public DataFingerprint {
        files = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(files));
    }

    /** The files that make up a loaded data set: manifest.json and every array's file, in manifest order. */
    public static List<String> filesOf(Map<String, Object> manifest) {
        List<String> names = new ArrayList<>();
        names.add(DatasetStore.MANIFEST);
        if (manifest.get("arrays") instanceof Map<?, ?> index) {
            for (Object entry : index.values()) {
                if (entry instanceof Map<?, ?> e && e.get("file") instanceof String f && !names.contains(f)) names.add(f);
            }
        }
        return names;
    }

    /** Hashes the named files of dir (names relative to dir); a file that is not there is recorded as missing. */
    public static DataFingerprint of(Path dir, Collection<String> names) {
        Map<String, String> files = new LinkedHashMap<>();
        for (String name : names) files.put(name, fileDigest(dir, name));
        return new DataFingerprint(combined(files), files);
    }

    /** The SHA-256 of one file, as "sha256:" and 64 hex digits, or {@link #MISSING}. */
    static String fileDigest(Path dir, String name) {
        Path f;
        try {
            f = dir.resolve(name).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new DataException(dir + ": data file name '" + name + "' is not a file name: " + e.getMessage());
        }
        if (!f.startsWith(dir.normalize())) throw new DataException(dir + ": data file name '" + name + "' points outside the folder");
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        } catch (NoSuchFileException e) {
            return MISSING;
        } catch (IOException e) {
            if (Files.isDirectory(f)) return MISSING;
            throw new DataException(f + ": cannot read: " + e.getMessage(), e);
        }
        return PREFIX + HexFormat.of().formatHex(md.digest());
    }

    private static String combined(Map<String, String> files) {
        MessageDigest md = sha256();
        for (Map.Entry<String, String> e : new TreeMap<>(files).entrySet()) {
            md.update((e.getKey() + "\0" + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return PREFIX + HexFormat.of().formatHex(md.digest());
    }

    /**
     * What differs from the fingerprint recorded earlier, one phrase per file ("train_obs.npy
     * differs (sha256:... at the start, now sha256:...)", "valid_obs.npy is missing"); empty when
     * the data are the same.
     */
    public List<String> differencesFrom(DataFingerprint recorded) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : recorded.files().entrySet()) {
            String now = files.getOrDefault(e.getKey(), MISSING);
            if (now.equals(e.getValue())) continue;
            if (now.equals(MISSING)) out.add(e.getKey() + " is missing");
            else if (e.getValue().equals(MISSING)) out.add(e.getKey() + " is there now but was missing");
            else out.add(e.getKey() + " differs (" + shortDigest(e.getValue()) + " at the start, now " + shortDigest(now) + ")");
        }
        for (String name : files.keySet()) {
            if (!recorded.files().containsKey(name)) out.add(name + " was not part of the data");
        }
        if (out.isEmpty() && !digest.equals(recorded.digest())) {
            out.add("fingerprint " + shortDigest(recorded.digest()) + " at the start, now " + shortDigest(digest));
        }
        return out;
    }

    /** "sha256:" and the first 16 hex digits, enough to tell two fingerprints apart in a message. */
    public static String shortDigest(String d) {
        return d.startsWith(PREFIX) && d.length() > PREFIX.length() + 16 ? d.substring(0, PREFIX.length() + 16) + "..." : d;
    }

    /** True for "sha256:" followed by 64 lower-case hex digits, or {@link #MISSING}. */
    public static boolean wellFormed(String d) {
        return d.equals(MISSING) || (d.length() == PREFIX.length() + 64 && d.startsWith(PREFIX)
                && d.substring(PREFIX.length()).chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
