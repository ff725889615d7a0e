package hybridsam.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Crash-safe file publishing: content goes to a temp file in the same directory (same file system,
 * so the final rename is atomic), is fsynced, and only then renamed over the target. A crash or
 * exception mid-write therefore leaves the previous target untouched.
 */
public final class AtomicFiles {

    /** Streams content into the temp file; may throw to abort the write. */
    public interface IoWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    /** The reason {@link #writeNew} gives for a target that is already there. */
    private static final String NOT_REPLACED = "already exists, and hybridsam does not replace a file it did not write";

    private AtomicFiles() {}

    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    public static void writeString(Path target, String s) throws IOException {
        write(target, s.getBytes(StandardCharsets.UTF_8));
    }

    public static void write(Path target, IoWriter w) throws IOException {
        write(target, w, true);
    }

    /**
     * As {@link #write(Path, IoWriter)}, but never replaces a file already at target: the final
     * rename refuses it ({@link FileAlreadyExistsException}, which {@link #reason} words as
     * "... already exists") and the temp file is removed. For outputs that must not overwrite
     * anything the tool did not write.
     */
    public static void writeNew(Path target, IoWriter w) throws IOException {
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toAbsolutePath().toString(), null, NOT_REPLACED);
        }
        write(target, w, false);
    }

    private static void write(Path target, IoWriter w, boolean replace) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: that forces mode 0600, and the published file should get the
        // normal umask permissions like any other file the user creates.
        Path tmp = dir.resolve(tempName(abs.getFileName().toString()));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE_NEW)) {
                // Not closing this stream separately: closing the channel closes it, and we need the
                // channel open afterwards to force() the bytes to disk before the rename.
                OutputStream out = Channels.newOutputStream(ch);
                w.writeTo(out);
                out.flush();
                ch.force(true);
            }
            if (replace) {
                move(tmp, abs);
            } else {
                try {
                    Files.move(tmp, abs);  // no REPLACE_EXISTING: an existing target is refused
                } catch (FileAlreadyExistsException e) {
                    throw new FileAlreadyExistsException(abs.toString(), null, NOT_REPLACED);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup); // keep the original failure as the reported one
            }
            throw e;
        }
    }

    /**
     * Publishes a fully written staging directory at {@code target}. Directories cannot be
     * atomically replaced in one rename, so the old target is first renamed aside, staging is
     * renamed in, and only then is the old copy deleted; at no point does a half-written target
     * exist (at worst, after a crash, target is briefly absent and the old copy sits aside).
     *
     * @throws UncheckedIOException if a rename or the cleanup fails (the target is restored
     *     when possible)
     */
    public static void replaceDirectory(Path staging, Path target) {
        try {
            replaceDirectoryChecked(staging, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + staging + " as " + target + ": " + e.getMessage(), e);
        }
    }

    private static void replaceDirectoryChecked(Path staging, Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path aside = null;
        if (Files.exists(abs)) {
            aside = abs.resolveSibling("." + abs.getFileName() + ".old-" + System.nanoTime());
            move(abs, aside);
        }
        try {
            move(staging.toAbsolutePath(), abs);
        } catch (IOException | RuntimeException e) {
            if (aside != null) {
                // Put the previous version back so the caller still has a usable dataset.
                try {
                    move(aside, abs);
                } catch (IOException restore) {
                    e.addSuppressed(restore);
                }
            }
            throw e;
        }
        if (aside != null) {
            try {
                deleteRecursively(aside);
            } catch (IOException e) {
                // The new version is already published; a leftover hidden copy is not worth failing for.
            }
        }
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Deletes a file or directory tree; missing paths are ignored. */
    static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
    /** The name of the temp file a write of target goes through: "." + name + "." + random hex + ".tmp". */
    private static String tempName(String target) {
        return "." + target + "." + Long.toHexString(RANDOM.nextLong()) + TEMP_SUFFIX;
    }

    private static final String TEMP_SUFFIX = ".tmp";
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{1,16}");

    /** Whether fileName is a temp file that a write of target (a file name) would have gone through. */
    public static boolean isLeftoverTemp(String fileName, String target) {
        String prefix = "." + target + ".";
        if (!fileName.startsWith(prefix) || !fileName.endsWith(TEMP_SUFFIX)) return false;
        if (fileName.length() <= prefix.length() + TEMP_SUFFIX.length()) return false;
        return HEX.matcher(fileName.substring(prefix.length(), fileName.length() - TEMP_SUFFIX.length())).matches();
    }

    /**
     * Deletes the temp files that killed writes of the given targets (file names in dir) left
     * behind: regular files named exactly as {@link #write} names its temp files, nothing else.
     * Only safe while no other process writes those targets (a run holds its folder's lock).
     *
     * @return the files deleted
     */
    public static List<Path> removeLeftoverTemps(Path dir, Collection<String> targets) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> removed = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (targets.stream().noneMatch(t -> isLeftoverTemp(name, t))) continue;
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) continue;
                if (Files.deleteIfExists(p)) removed.add(p);
            }
        }
        return removed;
    }

    /**
     * Why a write failed, in words a user can act on ("Permission denied", "No space left on
     * device", "/x/y is a file, not a folder"), not just the path the exception names.
     */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            Path file = f.getFile() == null ? null : Path.of(f.getFile()).toAbsolutePath();
            if (e instanceof FileAlreadyExistsException && NOT_REPLACED.equals(f.getReason())) return file + " " + NOT_REPLACED;
            // a path under a regular file (FILE/sub) fails with ENOTDIR or "already exists"
            if (file != null && (e instanceof FileAlreadyExistsException || e instanceof NotDirectoryException)
                    && Files.exists(file) && !Files.isDirectory(file)) {
                return file + " is a file, not a folder";
            }
            for (Path p = file == null ? null : file.getParent(); p != null; p = p.getParent()) {
                if (Files.exists(p)) {
                    if (!Files.isDirectory(p)) return p + " is a file, not a folder";
                    break;
                }
            }
            if (e instanceof AccessDeniedException) return "Permission denied" + (f.getReason() == null ? "" : " (" + f.getReason() + ")");
            if (e instanceof NoSuchFileException) return "No such file or folder" + (file == null ? "" : ": " + file);
            if (e instanceof FileAlreadyExistsException) return (file == null ? "it" : file) + " already exists";
            if (f.getReason() != null) return f.getReason();
            return e.getClass().getSimpleName() + (file == null ? "" : ": " + file);
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
