package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run-folder lock: an OS file lock on DIR/.lock, held for a run's whole life. */
public class RunLockTest {
    @TempDir
    Path tmp;

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void secondHolderInTheSameJvmIsRefusedWithPidAndStartTime() throws IOException {
        Path dir = tmp.resolve("run");
        try (RunLock held = RunLock.acquire(dir)) {
            assertTrue(Files.isRegularFile(dir.resolve(RunLock.FILE)));
            String text = Files.readString(dir.resolve(RunLock.FILE));
            assertTrue(text.contains("pid " + ProcessHandle.current().pid()), text);
            RunLock.InUseException e = assertThrows(RunLock.InUseException.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("is in use by another hybridsam run (pid " + ProcessHandle.current().pid()
                    + ", started at "), e.getMessage());
            // the probe says the same and creates nothing
            assertThrows(RunLock.InUseException.class, () -> RunLock.checkFree(dir));
        }
        // released: a folder that held nothing but the lock is removed with it (the lock created it)
        assertFalse(Files.exists(dir));
        try (RunLock again = RunLock.acquire(dir)) {
            assertTrue(Files.exists(dir.resolve(RunLock.FILE)));
        }
    }

    @Test
    void releaseKeepsTheRunsFilesAndNeverTouchesThem() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        try (RunLock held = RunLock.acquire(dir)) {
            Files.writeString(dir.resolve("config.json"), "{}");
        }
        assertEquals("{}", Files.readString(dir.resolve("config.json")));
        assertTrue(names(dir).contains("config.json"));
        // an existing empty folder is kept (the lock did not create it)
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        RunLock.acquire(empty).close();
        assertTrue(Files.isDirectory(empty));
        assertEquals(List.of(), names(empty));
    }

    @Test
    void probeOfAFreeFolderCreatesNothing() throws IOException {
        Path dir = tmp.resolve("none");
        RunLock.checkFree(dir);
        assertFalse(Files.exists(dir));
        Path d2 = Files.createDirectories(tmp.resolve("d2"));
        RunLock.checkFree(d2);
        assertEquals(List.of(), names(d2));
    }

    @Test
    void staleLockFileWithoutHolderIsTakenOver() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(dir.resolve(RunLock.FILE), "hybridsam run lock\npid 999999999\nstarted 2001-01-01T00:00:00Z\n");
        RunLock.checkFree(dir);
        try (RunLock held = RunLock.acquire(dir)) {
            String text = Files.readString(dir.resolve(RunLock.FILE));
            assertTrue(text.contains("pid " + ProcessHandle.current().pid()), text);
            assertFalse(text.contains("999999999"), text);
        }
    }

    @Test
    void lockHeldByAnotherJvmIsRefusedAndTakenOverAfterItIsKilled() throws Exception {
        Path dir = tmp.resolve("run");
        Process child = startHolder(dir);
        try {
            RunLock.InUseException e = assertThrows(RunLock.InUseException.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains("(pid " + child.pid() + ", started at "), e.getMessage());
            assertThrows(RunLock.InUseException.class, () -> RunLock.checkFree(dir));
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        // a crash leaves the lock file behind, but not the OS lock
        assertTrue(Files.exists(dir.resolve(RunLock.FILE)));
        try (RunLock held = RunLock.acquire(dir)) {
            assertTrue(Files.readString(dir.resolve(RunLock.FILE)).contains("pid " + ProcessHandle.current().pid()));
        }
    }

    /** Starts a JVM that takes the lock on dir and holds it until killed; returns once it holds it. */
    public static Process startHolder(Path dir) throws IOException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", testClassPath(),
                Holder.class.getName(), dir.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (!"locked".equals(line)) {
            p.destroyForcibly();
            StringBuilder rest = new StringBuilder(String.valueOf(line));
            for (String l; (l = r.readLine()) != null; ) rest.append('\n').append(l);
            fail("the child could not take the lock: " + rest);
        }
        return p;
    }

    /** The child: takes the lock, says so, and waits to be killed. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            RunLock lock = RunLock.acquire(Path.of(args[0]));
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(TimeUnit.MINUTES.toMillis(5));
            lock.close();
        }
    }

    /** The test JVM's class path (surefire may hide it behind a manifest-only jar). */
    public static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) cp = System.getProperty("java.class.path");
        for (String e : cp.split(File.pathSeparator)) {
            if (e.endsWith("classes") || e.endsWith("classes" + File.separator)) return cp;
        }
        fail("cannot find the project's classes on the class path: " + cp);
        return cp;
    }
}
