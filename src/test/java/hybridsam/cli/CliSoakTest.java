package hybridsam.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many training runs of replica groups in one JVM keep memory, threads and file handles flat. A
 * short soak runs in the suite; -Dhybridsam.soak.runs=N runs a long one (benchmarks/RESULTS.md).
 */
class CliSoakTest {
    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static long openFiles() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;  // not Linux: not measured
        }
    }

    @Test
    void replicaGroupsRunAfterEachOtherLeakNothing() {
        int runs = Integer.getInteger("hybridsam.soak.runs", 8);
        Cli.cache();
        long[] heap = new long[runs];
        int[] threads = new int[runs];
        long[] files = new long[runs];
        for (int i = 0; i < runs; i++) {
            Path out = Cli.root().resolve("soak-" + i);
            Cli.train(out, "--task", i % 2 == 0 ? "pendulum" : "duffing", "--replicas", "3", "--seed", String.valueOf(i),
                    "--epochs", "1").expect(Main.OK);
            Cli.deleteQuietly(out);
            heap[i] = usedHeapAfterGc();
            threads[i] = ManagementFactory.getThreadMXBean().getThreadCount();
            files[i] = openFiles();
        }
        // after two runs to warm up, nothing grows with the number of runs: a leak of one thread or file handle per run
        // grows the count by at least one per run, while the JVM itself may open a handle or two late (a jar, a
        // compiler log); the heap stays within 16 MB
        int w = Math.min(2, runs - 1);
        int slack = Math.max(1, (runs - 1 - w) / 2);
        String trace = String.format(Locale.ROOT, "%d runs: heap %.1f -> %.1f MB, threads %d -> %d, open files %d -> %d",
                runs, heap[w] / 1e6, heap[runs - 1] / 1e6, threads[w], threads[runs - 1], files[w], files[runs - 1]);
        System.out.println("soak: " + trace);
        assertTrue(threads[runs - 1] - threads[w] <= slack, trace);
        assertTrue(files[runs - 1] - files[w] <= slack, trace);
        assertTrue(heap[runs - 1] - heap[w] < 16_000_000, trace);
    }
}
