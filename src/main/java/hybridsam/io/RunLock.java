package hybridsam.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The lock of a run folder: an OS file lock ({@link FileChannel#tryLock}) on {@code DIR/.lock},
 * held for a run's whole life, so that a second run on the same folder is refused instead of
 * mixing its files with the first's. The file says who holds it (pid and start time).
 *
 * <p>The OS drops the lock when its process ends, however it ends; a lock file left by a killed
 * run is therefore recognised as stale (its lock can be taken) and taken over. On release the
 * file is emptied but kept (deleting it would let a process that opened it just before hold a lock
 * on a file no longer in the folder), except when the folder holds nothing else: then the file,
 * and the folder if this lock created it, are removed.
 *
 * <p>OS locks belong to a process and are dropped when any of its channels on the file closes, so
 * the locks this JVM holds are also kept in a table and checked first; the file of a lock held here
 * is never opened a second time.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";

    /** The locks this JVM holds, by the lock file's real path; guarded by itself. */
    private static final Map<Path, RunLock> HELD = new HashMap<>();

    /** The folder is locked by a run (in this process or another). */
    public static final class InUseException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InUseException(Path dir, String holder) {
            super(dir + " is in use by another hybridsam run (" + describe(holder) + ")");
        }

        private static String describe(String text) {
            String pid = field(text, "pid"), started = field(text, "started");
            if (pid == null) return "pid unknown: its lock file " + FILE + " does not say";
            return "pid " + pid + (started == null ? "" : ", started at " + started);
        }

        private static String field(String text, String key) {
            if (text == null) return null;
            for (String line : text.split("\n")) {
                if (line.startsWith(key + " ")) return line.substring(key.length() + 1).trim();
            }
            return null;
        }
    }

    private final Path dir;
    private final Path file;
    private final Path createdFrom;
    private final String text;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private RunLock(Path dir, Path file, Path createdFrom, String text, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.file = file;
        this.createdFrom = createdFrom;
        this.text = text;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks dir (created if missing) for this run.
     *
     * @throws InUseException if another run holds it
     * @throws IOException if the folder or its lock file cannot be created or locked
     */
    public static RunLock acquire(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        // the topmost folder this call creates, so that a release can remove what it made
        Path createdFrom = null;
        for (Path p = abs; p != null && !Files.exists(p); p = p.getParent()) createdFrom = p;
        Files.createDirectories(abs);
        Path file = abs.toRealPath().resolve(FILE);
        synchronized (HELD) {
            RunLock mine = HELD.get(file);
            if (mine != null) throw new InUseException(dir, mine.text);
            for (int attempt = 0; ; attempt++) {
                Object before = fileKey(file);
                FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null; // held in this JVM by something other than a RunLock
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                if (l == null) {
                    String holder = read(ch);
                    ch.close();
                    removeCreated(abs, createdFrom);
                    throw new InUseException(dir, holder);
                }
                // A holder that removed the file on release may have done so after we opened it:
                // then our lock is on a file no longer in the folder. The path must name the same
                // file before the open and after the lock (on systems without file keys, where
                // open files cannot be deleted anyway, there is nothing to check).
                Object after = fileKey(file);
                if (after == null && before == null && Files.exists(file) || before != null && before.equals(after)) {
                    String text = "hybridsam run lock\npid " + ProcessHandle.current().pid() + "\nstarted "
                            + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\n";
                    try {
                        ch.truncate(0);
                        ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), 0);
                    } catch (IOException | RuntimeException e) {
                        l.release();
                        ch.close();
                        removeCreated(abs, createdFrom);
                        throw e;
                    }
                    RunLock r = new RunLock(dir, file, createdFrom, text, ch, l);
                    HELD.put(file, r);
                    return r;
                }
                l.release();
                ch.close();
                if (attempt >= 100) throw new IOException(file + ": the lock file keeps being replaced; cannot lock " + dir);
            }
        }
    }

    /**
     * Refuses a folder that a run holds, without creating or changing anything (for checks before
     * any work; the lock itself is taken with {@link #acquire}).
     *
     * @throws InUseException if another run holds dir
     */
    public static void checkFree(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) return;
        Path file;
        try {
            file = abs.toRealPath().resolve(FILE);
        } catch (IOException e) {
            return;
        }
        if (!Files.isRegularFile(file)) return;
        synchronized (HELD) {
            RunLock mine = HELD.get(file);
            if (mine != null) throw new InUseException(dir, mine.text);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                FileLock l;
                try {
                    l = ch.tryLock(0, Long.MAX_VALUE, true);
                } catch (OverlappingFileLockException e) {
                    throw new InUseException(dir, null);
                }
                if (l == null) throw new InUseException(dir, read(ch));
                l.release();
            } catch (NoSuchFileException e) {
                // released and removed meanwhile: free
            } catch (IOException e) {
                // cannot tell here; acquire() will say what is wrong
            }
        }
    }

    /** The folder this lock holds, as it was given. */
    public Path dir() {
        return dir;
    }

    /**
     * Releases the lock (see the class comment for what is left in the folder). Idempotent; never
     * fails: the tidying is best effort, and closing the channel releases the lock regardless.
     */
    @Override
    public void close() {
        synchronized (HELD) {
            if (closed) return;
            closed = true;
            HELD.remove(file);
            try {
                if (onlyTheLockIn(file.getParent())) {
                    Files.deleteIfExists(file); // while still locked: nobody can take it meanwhile
                } else {
                    channel.truncate(0);
                }
            } catch (IOException | RuntimeException e) {
                // best effort: a stale lock file is recognised as such
            }
            try {
                channel.close(); // releases the lock
            } catch (IOException e) {
                // the process's exit releases it at the latest
            }
            removeCreated(dir.toAbsolutePath().normalize(), createdFrom);
        }
    }

    private static boolean onlyTheLockIn(Path folder) throws IOException {
        try (var s = Files.list(folder)) {
            return s.allMatch(p -> p.getFileName().toString().equals(FILE));
        }
    }

    /** Removes the empty folders from abs up to createdFrom (those acquire created). */
    private static void removeCreated(Path abs, Path createdFrom) {
        if (createdFrom == null) return;
        for (Path p = abs; p != null && p.startsWith(createdFrom); p = p.getParent()) {
            try {
                Files.delete(p);
            } catch (IOException e) {
                return; // not empty (or gone): leave it and everything above
            }
        }
    }

    private static Object fileKey(Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String read(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(4096);
            int n = ch.read(b, 0);
            return n <= 0 ? null : new String(b.array(), 0, n, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return "RunLock[" + Objects.toString(file) + "]";
    }
}
