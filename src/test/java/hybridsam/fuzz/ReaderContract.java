package hybridsam.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The contract every fuzz target in this package checks: a reader of untrusted bytes either returns
 * normally or throws one of the input errors it documents, with a message that names the input
 * (the file, or the "where" label a caller passed). Everything else is a finding and escapes
 * unchanged, so Jazzer reports the reader's own stack top and deduplicates by it:
 * NullPointerException, ArrayIndexOutOfBoundsException, NegativeArraySizeException,
 * ClassCastException, NumberFormatException, IllegalArgumentException (InvalidPathException),
 * OutOfMemoryError, StackOverflowError, an undocumented exception type, ...
 *
 * <p>Allocation bombs are findings too: a reader that allocates more than {@link #ALLOCATION_LIMIT}
 * bytes on the calling thread for one input fails the check even when it then rejects the input
 * cleanly (a few hundred bytes must not make the reader claim a gigabyte first). Jazzer's JUnit
 * integration switches libFuzzer's RSS limit off (-rss_limit_mb=0), so the limit is enforced here,
 * from the JVM's per-thread allocation counter, and therefore also in regression mode.
 */
public final class ReaderContract {
    /** More than this many bytes allocated by one call is an allocation-bomb finding (~500 MB). */
    static final long ALLOCATION_LIMIT = 500L << 20;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** A call of a reader. */
    @FunctionalInterface
    public interface Read<T> {
        T read() throws Exception;
    }

    private final String reader;
    private final String mustName;
    private final boolean fileReader;
    private final List<Class<? extends RuntimeException>> allowed;

    /**
     * @param reader     what is called, for messages ("Npy.read")
     * @param mustName   text every allowed error message must contain (the input file or "where" label)
     * @param fileReader whether an UncheckedIOException naming {@code mustName} is allowed too (the
     *                   project's way of reporting an unreadable file)
     * @param allowed    the documented input errors of this reader
     */
    @SafeVarargs
    public ReaderContract(String reader, String mustName, boolean fileReader, Class<? extends RuntimeException>... allowed) {
        this.reader = reader;
        this.mustName = mustName;
        this.fileReader = fileReader;
        this.allowed = List.of(allowed);
    }

    /** Runs the reader; returns its result, or null when it rejected the input with an allowed error. */
    public <T> T check(int inputBytes, Read<T> call) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        T result = null;
        try {
            result = call.read();
        } catch (Throwable t) {
            if (!isAllowed(t)) throw sneaky(t); // the finding itself, with the reader's stack
            String m = t.getMessage();
            if (m == null || !m.contains(mustName)) {
                throw new AssertionError(reader + " rejected the input with " + t.getClass().getName()
                        + " but its message does not name " + mustName + ": " + m, t);
            }
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (allocated > ALLOCATION_LIMIT) {
            throw new AssertionError("allocation bomb: " + reader + " allocated " + (allocated >> 20)
                    + " MB for an input of " + inputBytes + " bytes (limit " + (ALLOCATION_LIMIT >> 20) + " MB)");
        }
        return result;
    }

    private boolean isAllowed(Throwable t) {
        for (Class<? extends RuntimeException> c : allowed) {
            if (c.isInstance(t)) return true;
        }
        return fileReader && t instanceof UncheckedIOException;
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable t) throws E {
        throw (E) t;
    }

    // ------------------------------------------------------------------ scratch folders

    /** A fresh temporary folder, deleted when the JVM exits. */
    public static Path scratch(String prefix) {
        try {
            Path dir = Files.createTempDirectory(prefix);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir)));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
