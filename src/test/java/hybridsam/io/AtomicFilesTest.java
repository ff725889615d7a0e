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
}
