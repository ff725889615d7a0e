package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data fingerprint a run records and a resume compares: per file SHA-256 and one over all. */
class DataFingerprintTest {
    @TempDir
    Path dir;

    private Path data() throws IOException {
        Path d = dir.resolve("d");
        DatasetStore.save(d, new Dataset(Map.of("task", "pendulum", "frame_dt", 0.2),
                Map.of("train_obs", new NdArray(new float[]{1, 2, 3, 4}, 1, 2, 2),
                        "valid_obs", new NdArray(new float[]{5, 6, 7, 8}, 1, 2, 2))));
        return d;
    }

    private static List<String> files(Path d) {
        return DataFingerprint.filesOf(DatasetStore.load(d).manifest());
    }

    @Test
    void sameBytesSameFingerprintWhereverTheFolderIs() throws IOException {
        Path d = data();
        assertEquals(List.of("manifest.json", "train_obs.npy", "valid_obs.npy"),
                files(d).stream().sorted().toList());
        DataFingerprint a = DataFingerprint.of(d, files(d));
        assertTrue(DataFingerprint.wellFormed(a.digest()), a.digest());
        Path copy = dir.resolve("copy");
        Files.createDirectories(copy);
        for (String f : files(d)) Files.copy(d.resolve(f), copy.resolve(f));
        DataFingerprint b = DataFingerprint.of(copy, files(d));
        assertEquals(a, b);
        assertEquals(List.of(), b.differencesFrom(a));
    }

    @Test
    void oneChangedByteNamesTheFile() throws IOException {
        Path d = data();
        DataFingerprint before = DataFingerprint.of(d, files(d));
        Path f = d.resolve("valid_obs.npy");
        byte[] b = Files.readAllBytes(f);
        b[b.length - 1] ^= 1;
        Files.write(f, b);
        DataFingerprint after = DataFingerprint.of(d, before.files().keySet());
        assertNotEquals(before.digest(), after.digest());
        List<String> diff = after.differencesFrom(before);
        assertEquals(1, diff.size(), diff.toString());
        assertTrue(diff.get(0).startsWith("valid_obs.npy differs"), diff.get(0));
        Files.delete(f);
        List<String> gone = DataFingerprint.of(d, before.files().keySet()).differencesFrom(before);
        assertEquals(List.of("valid_obs.npy is missing"), gone);
    }

    @Test
    void largeFilesAreStreamedAndHashedExactly() throws Exception {
        Path big = dir.resolve("big.npy");
        byte[] b = new byte[5 * (1 << 20) + 17];
        new SplittableRandom(1).nextBytes(b);
        Files.write(big, b);
        String want = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        assertEquals(want, DataFingerprint.of(dir, List.of("big.npy")).files().get("big.npy"));
    }

    @Test
    void namesOutsideTheFolderAreRefused() {
        assertThrows(DataException.class, () -> DataFingerprint.of(dir, List.of("../escape.npy")));
    }
}
