package hybridsam.cuda;

import hybridsam.train.Method;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole GPU check (GpuCheck.main's wiring: the standard probe, JCudaDevice.open(0), the
 * standard corrector engines, large sizes asked for) through the real JCuda / JCublas / JCudnn
 * path on the CPU stand-in: every kernel check, engine check and layer-wise check of every
 * corrector engine passes, the timings are replaced by one line, the table is printed last, and
 * the stand-in reports no fault. Skipped where the stand-in is not loaded.
 */
class GpuCheckStandInTest {

    /** An output stream that notes when each line ended (ms since the start), for the slowest checks. */
    private static final class Lines extends OutputStream {
        final ByteArrayOutputStream all = new ByteArrayOutputStream();
        final List<long[]> ends = new ArrayList<>();  // {line index, ms}
        final long t0 = System.nanoTime();
        int lines;

        @Override
        public synchronized void write(int b) {
            all.write(b);
            if (b == '\n') ends.add(new long[]{lines++, (System.nanoTime() - t0) / 1_000_000});
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) write(b[i]);
        }

        String text() {
            return all.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void theWholeGpuCheckPassesOnTheStandInWithItsTable() {
        StandInSuites.assume();
        StandIn.clearReport();

        Lines lines = new Lines();
        PrintStream out = new PrintStream(lines, true, StandardCharsets.UTF_8);
        ByteArrayOutputStream traceBuf = new ByteArrayOutputStream();
        PrintStream trace = new PrintStream(traceBuf, true, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        // GpuCheck.main's wiring (large = true, as main asks) with a fixed seed, without System.exit
        int status = GpuCheck.check(out, trace, CudaProbe.standard(), () -> JCudaDevice.open(0),
                () -> NnEngines.standard().probe(), 20240601L, true);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String report = StandIn.lastReport();
        out.flush();
        String text = lines.text();
        List<String> l = List.of(text.split("\\R"));

        System.out.println(text);
        System.out.printf(Locale.ROOT, "GpuCheck on the CPU stand-in: %.1f s (%d cores)%n", seconds,
                Runtime.getRuntime().availableProcessors());
        // the slowest lines, for trimming what runs under the stand-in
        List<long[]> took = new ArrayList<>();
        long prev = 0;
        for (long[] e : lines.ends) {
            took.add(new long[]{e[0], e[1] - prev});
            prev = e[1];
        }
        took.sort(Comparator.comparingLong((long[] e) -> e[1]).reversed());
        for (long[] e : took.subList(0, Math.min(8, took.size()))) {
            System.out.printf(Locale.ROOT, "  %6d ms  %s%n", e[1], l.get((int) e[0]));
        }
        String traces = traceBuf.toString(StandardCharsets.UTF_8);
        if (!traces.isEmpty()) System.out.println(traces);

        assertEquals(0, status, text);
        assertEquals("", report, "the CUDA stand-in reported");
        assertTrue(traces.isEmpty(), traces);

        int table = l.indexOf(GpuCheck.TABLE_MARKER);
        assertTrue(table > 0, "no table:\n" + text);
        List<String> before = l.subList(0, table), after = l.subList(table + 1, l.size());
        assertTrue(before.get(0).startsWith("probe: "), text);
        assertTrue(before.stream().anyMatch(s -> s.startsWith("device: ")), text);
        // every corrector engine loaded on the stand-in
        for (String e : List.of("kernels", "cublas", "cudnn")) {
            assertTrue(before.stream().anyMatch(s -> s.startsWith("nn engine " + e + ": loaded")),
                    "nn engine " + e + " not loaded:\n" + text);
        }
        // every other line a check's PASS: nothing failed, skipped, stopped or timed
        assertEquals("", before.get(before.size() - 1), "a blank line before the table");
        for (String s : before.subList(0, before.size() - 1)) {
            assertTrue(s.startsWith("PASS ") || s.startsWith("probe: ") || s.startsWith("device: ") || s.startsWith("nn engine "),
                    "not a PASS line: " + s + "\n" + text);
        }
        long passes = before.stream().filter(s -> s.startsWith("PASS")).count();
        // each kernel at least once: the rollout kernels (per-thread and fused), the small kernels,
        // every engine, and the layer-wise path of each corrector engine
        for (String c : List.of("PASS gradient Pendulum", "PASS gradient fused ", "PASS loss tally", "PASS rowsum", "PASS l2",
                "PASS perturb ", "PASS clip + adam", "PASS restore", "PASS engine graph ", "PASS engine loss tally")) {
            assertTrue(before.stream().anyMatch(s -> s.startsWith(c)), c + " missing:\n" + text);
        }
        for (Method r : Method.values()) {
            assertTrue(before.stream().anyMatch(s -> s.startsWith("PASS engine Pendulum " + r.id() + " ")), r.id() + ":\n" + text);
        }
        // (lw-kernels, cublas, cudnn: each check names its dense layers)
        for (String e : List.of("[project kernels (hs_gemm)", "[cuBLAS ", "[cuDNN ")) {
            long n = before.stream().filter(s -> s.startsWith("PASS") && s.contains(e)).count();
            assertTrue(n >= 5, "layer-wise checks of " + e + "]: " + n + "\n" + text);
        }

        // the table: the counts, the one line in place of the timings, no timing rows
        Matcher m = Pattern.compile("checks: (\\d+) passed, 0 failed, 0 not run").matcher(after.get(0));
        assertTrue(m.matches(), after.get(0));
        assertEquals(passes, Long.parseLong(m.group(1)), text);
        assertTrue(passes > 50, text);
        assertEquals(GpuCheck.STAND_IN_TIMINGS, after.get(1), text);
        assertTrue(after.stream().noneMatch(s -> s.startsWith("engine ") && s.contains("steps/s")), "timing header:\n" + text);
        assertTrue(after.stream().noneMatch(s -> s.startsWith("failed:") || s.startsWith("stopped:")), text);
        assertTrue(after.get(after.size() - 1).startsWith("engines: ") && after.get(after.size() - 1).contains("stand-in"), text);

        // its duration is printed above, not asserted: on a loaded machine any limit is flaky (speed belongs in benchmarks)
    }
}
