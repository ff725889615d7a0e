package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path tmp;

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void writesAndReplaces() throws IOException {
        Path f = tmp.resolve("sub/dir/out.txt");
        AtomicFiles.writeString(f, "first \u00e9");
        assertEquals("first \u00e9", Files.readString(f));
        AtomicFiles.write(f, new byte[] {65, 66});
        assertEquals("AB", Files.readString(f));
        assertEquals(List.of("out.txt"), names(f.getParent()));
    }

    @Test
    void failingWriterLeavesOldContentAndNoTempFiles() throws IOException {
        Path f = tmp.resolve("model.json");
        AtomicFiles.writeString(f, "old content");
        IOException boom = new IOException("disk full");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("new partial cont".getBytes());
            throw boom;
        }));
        assertSame(boom, thrown);
        assertEquals("old content", Files.readString(f));
        assertEquals(List.of("model.json"), names(tmp));

        RuntimeException rt = assertThrows(RuntimeException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[1000]);
            throw new IllegalStateException("bug");
        }));
        assertEquals("bug", rt.getMessage());
        assertEquals("old content", Files.readString(f));
        assertEquals(List.of("model.json"), names(tmp));
    }

    @Test
    void failingWriterWithNoPreviousFileCreatesNothing() {
        Path f = tmp.resolve("new.bin");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            throw new IOException("x");
        }));
        assertFalse(Files.exists(f));
    }

    @Test
    void replaceDirectorySwapsWholeTree() throws IOException {
        Path target = tmp.resolve("data");
        Files.createDirectories(target);
        Files.writeString(target.resolve("old.txt"), "old");
        Path staging = tmp.resolve(".data.staging");
        Files.createDirectories(staging.resolve("nested"));
        Files.writeString(staging.resolve("new.txt"), "new");
        Files.writeString(staging.resolve("nested/x.txt"), "x");

        AtomicFiles.replaceDirectory(staging, target);
        assertEquals(List.of("nested", "new.txt"), names(target));
        assertEquals("x", Files.readString(target.resolve("nested/x.txt")));
        assertEquals(List.of("data"), names(tmp)); // staging consumed, old copy deleted

        // Also works when there is nothing to replace yet.
        Path staging2 = tmp.resolve("s2");
        Files.createDirectories(staging2);
        Files.writeString(staging2.resolve("a"), "a");
        AtomicFiles.replaceDirectory(staging2, tmp.resolve("fresh"));
        assertTrue(Files.isRegularFile(tmp.resolve("fresh/a")));
        assertFalse(Files.exists(staging2));
    }

    @Test
    void removesOnlyItsOwnLeftoverTempFilesOfTheNamedTargets() throws IOException {
        // what a killed write leaves: the target's temp name ("." + name + "." + hex + ".tmp")
        Files.writeString(tmp.resolve(".checkpoint.bin.1f2e3d4c5b6a7980.tmp"), "half");
        Files.writeString(tmp.resolve(".config.json.a.tmp"), "half");
        // not ours: another target's temp, other patterns, a folder with the pattern's name
        Files.writeString(tmp.resolve(".notes.txt.1f2e.tmp"), "keep");
        Files.writeString(tmp.resolve(".checkpoint.bin.xyz.tmp"), "keep");
        Files.writeString(tmp.resolve("checkpoint.bin.1f2e.tmp"), "keep");
        Files.writeString(tmp.resolve(".checkpoint.bin.1f2e.tmp.bak"), "keep");
        Files.createDirectories(tmp.resolve(".results.json.abc.tmp"));
        Files.writeString(tmp.resolve("checkpoint.bin"), "real");

        List<Path> removed = AtomicFiles.removeLeftoverTemps(tmp, List.of("checkpoint.bin", "config.json", "results.json"));
        assertEquals(2, removed.size(), removed::toString);
        assertEquals(List.of(".checkpoint.bin.1f2e.tmp.bak", ".checkpoint.bin.xyz.tmp", ".notes.txt.1f2e.tmp",
                ".results.json.abc.tmp", "checkpoint.bin", "checkpoint.bin.1f2e.tmp"), names(tmp));
        assertTrue(AtomicFiles.isLeftoverTemp(".results.json.0.tmp", "results.json"));
        assertFalse(AtomicFiles.isLeftoverTemp(".results.json.0.tmp", "config.json"));
        // a folder that does not exist has nothing to clean
        assertEquals(List.of(), AtomicFiles.removeLeftoverTemps(tmp.resolve("none"), List.of("x")));
    }

    @Test
    void theReasonOfAFailedWriteIsNamed() {
        Path file = tmp.resolve("plain.txt");
        IOException e = assertThrows(IOException.class, () -> {
            Files.writeString(file, "x");
            AtomicFiles.writeString(file.resolve("sub").resolve("out.json"), "{}");
        });
        String reason = AtomicFiles.reason(e);
        assertTrue(reason.contains("is a file, not a folder") && reason.contains(file.toString()), reason);
        assertEquals("Permission denied", AtomicFiles.reason(new java.nio.file.AccessDeniedException("/x")));
        assertEquals("No space left on device", AtomicFiles.reason(new IOException("No space left on device")));
    }
}
