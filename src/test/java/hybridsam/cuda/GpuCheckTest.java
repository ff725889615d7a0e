package hybridsam.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GpuCheck's driver loop with fake checks: each line printed as its check finishes, an exception a
 * FAIL line, a lost CUDA context stopping the rest, the table always last, and the exit status.
 */
class GpuCheckTest {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    private final ByteArrayOutputStream traceBuf = new ByteArrayOutputStream();
    private final PrintStream trace = new PrintStream(traceBuf, true, StandardCharsets.UTF_8);

    private String output() {
        out.flush();
        return buf.toString(StandardCharsets.UTF_8);
    }

    private List<String> lines() {
        return List.of(output().split("\\R"));
    }

    private static int indexOf(List<String> lines, String start) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith(start)) return i;
        return -1;
    }

    private static KernelChecks.Planned passing(String name) {
        return KernelChecks.Planned.one(name, () -> new KernelChecks.Check(name, 0.25, 10));
    }

    private static GpuCheck.NamedTiming timing(String engine, int K, Runnable work) {
        return new GpuCheck.NamedTiming(engine, K, 256, () -> {
            work.run();
            return String.format("%-11s %-8d %-6d %-10.3f", engine, K, 256, 1.5);
        });
    }

    @Test
    void aThrownCheckIsAFailLineAndALostContextStopsTheRest() {
        AtomicBoolean streamed = new AtomicBoolean();
        AtomicBoolean afterLossRan = new AtomicBoolean();
        AtomicBoolean timingRan = new AtomicBoolean();
        List<KernelChecks.Planned> checks = List.of(
                passing("alpha"),
                KernelChecks.Planned.one("beta", () -> {
                    // alpha's line is already out when beta runs
                    streamed.set(output().contains("PASS alpha"));
                    throw new IllegalStateException("boom in beta");
                }),
                KernelChecks.Planned.one("gamma", () -> {
                    throw new DeviceException("cuLaunchKernel(hs_rollout) failed: CUDA_ERROR_ILLEGAL_ADDRESS", 700);
                }),
                KernelChecks.Planned.one("delta", () -> {
                    afterLossRan.set(true);
                    return new KernelChecks.Check("delta", 0, 1);
                }));
        List<GpuCheck.NamedTiming> timings = List.of(timing("fused", 1, () -> timingRan.set(true)));
        int status = GpuCheck.run(out, trace, checks, timings, List.of("engines: kernels: loaded"));

        assertEquals(1, status);
        assertTrue(streamed.get(), "each line is printed as its check finishes");
        assertFalse(afterLossRan.get(), "no check runs after the context is lost");
        assertFalse(timingRan.get(), "no timing runs after the context is lost");
        List<String> l = lines();
        String text = output();
        int alpha = indexOf(l, "PASS alpha"), beta = indexOf(l, "FAIL beta"), gamma = indexOf(l, "FAIL gamma");
        int stop = indexOf(l, "STOP "), delta = indexOf(l, "SKIP delta"), table = l.indexOf(GpuCheck.TABLE_MARKER);
        assertTrue(alpha >= 0 && beta > alpha && gamma > beta && stop > gamma && delta > stop && table > delta, text);
        assertTrue(l.get(beta).contains("threw IllegalStateException: boom in beta"), l.get(beta));
        assertTrue(l.get(beta).contains("(at GpuCheckTest."), "the first frame in the project: " + l.get(beta));
        assertTrue(l.get(gamma).contains("DeviceException: cuLaunchKernel(hs_rollout) failed: CUDA_ERROR_ILLEGAL_ADDRESS"), l.get(gamma));
        assertTrue(l.get(stop).contains("lost") && l.get(stop).contains("gamma"), l.get(stop));
        assertTrue(l.get(delta).contains("not run"), l.get(delta));
        assertTrue(text.contains("SKIP time fused K=1 B=256") , text);
        // the table, after a blank line: counts, what failed, why it stopped, the timing rows, the notes
        assertEquals("", l.get(table - 1));
        List<String> t = l.subList(table + 1, l.size());
        assertEquals("checks: 1 passed, 2 failed, 1 not run", t.get(0));
        assertEquals("timings: 0 measured, 0 failed, 1 not run", t.get(1));
        assertTrue(t.stream().anyMatch(s -> s.startsWith("failed: beta (threw IllegalStateException: boom in beta")
                && s.contains("; gamma (threw DeviceException")), String.join("\n", t));
        assertTrue(t.stream().anyMatch(s -> s.startsWith("stopped: the CUDA context was lost in gamma")
                && s.endsWith("1 checks and 1 timings not run")), String.join("\n", t));
        assertTrue(t.stream().anyMatch(s -> s.startsWith("engine ") && s.contains("steps/s")), "timing header");
        assertTrue(t.stream().anyMatch(s -> s.startsWith("fused") && s.contains("not run")), "the timing row says not run");
        assertEquals("engines: kernels: loaded", t.get(t.size() - 1));
        // both exceptions' stack traces went to the trace stream, not into the lines
        String traces = traceBuf.toString(StandardCharsets.UTF_8);
        assertTrue(traces.contains("boom in beta") && traces.contains("CUDA_ERROR_ILLEGAL_ADDRESS"), traces);
        assertFalse(text.contains("\tat "), text);
    }

    @Test
    void everythingPassedIsStatusZeroWithTheTimingRows() {
        List<String> order = new ArrayList<>();
        int status = GpuCheck.run(out, trace, List.of(passing("a"), new KernelChecks.Planned("group",
                        () -> List.of(new KernelChecks.Check("g1", 0, 3), new KernelChecks.Check("g2", 1.0, 3)))),
                List.of(timing("fused", 1, () -> order.add("t1")), timing("per-thread", 8, () -> order.add("t2"))), List.of());
        assertEquals(0, status, output());
        assertEquals(List.of("t1", "t2"), order);
        List<String> l = lines();
        assertTrue(l.contains("checks: 3 passed, 0 failed, 0 not run"), output());
        assertTrue(l.contains("timings: 2 measured, 0 failed, 0 not run"), output());
        assertTrue(indexOf(l, "PASS g2") > 0 && indexOf(l, "time fused") > indexOf(l, "PASS g2"), output());
        int table = l.indexOf(GpuCheck.TABLE_MARKER);
        assertTrue(indexOf(l.subList(table, l.size()), "per-thread  8") > 0, output());
        assertFalse(output().contains("failed:"), output());
    }

    @Test
    void aFailedComparisonAThrowingTimingAndALinkageErrorAreFailuresButTheRestRuns() {
        AtomicInteger ran = new AtomicInteger();
        int status = GpuCheck.run(out, null, List.of(
                        KernelChecks.Planned.one("off", () -> new KernelChecks.Check("off", 3.5, 7)),
                        KernelChecks.Planned.one("nolib", () -> {
                            throw new UnsatisfiedLinkError("Error while loading native library \"JCublas2-12.6.0-linux-x86_64\"\n"
                                    + "Stack trace from the attempt to load the library as a resource:\n"
                                    + "java.lang.UnsatisfiedLinkError: /tmp/libJCublas2-12.6.0-linux-x86_64.so: "
                                    + "libcublas.so.12: cannot open shared object file: No such file or directory");
                        }),
                        KernelChecks.Planned.one("oom", () -> {
                            throw new DeviceOutOfMemoryException(1L << 40, 0, 0);
                        }),
                        KernelChecks.Planned.one("after", () -> {
                            ran.incrementAndGet();
                            return new KernelChecks.Check("after", 0, 1);
                        })),
                List.of(timing("fused", 1, () -> {
                    throw new IllegalArgumentException("bad timing");
                }), timing("fused", 8, ran::incrementAndGet)), List.of());
        assertEquals(1, status);
        assertEquals(2, ran.get(), "a failure that does not lose the context stops nothing");
        List<String> l = lines();
        String text = output();
        assertTrue(indexOf(l, "FAIL off") >= 0, text);
        assertTrue(l.get(indexOf(l, "FAIL nolib")).contains("UnsatisfiedLinkError: libcublas.so.12: cannot open shared object file"), text);
        assertTrue(l.get(indexOf(l, "FAIL oom")).contains("DeviceOutOfMemoryException: GPU out of memory"), text);
        assertTrue(indexOf(l, "PASS after") >= 0, text);
        assertTrue(l.contains("failed: off; nolib (threw UnsatisfiedLinkError: libcublas.so.12: cannot open shared object file); "
                + "oom (threw DeviceOutOfMemoryException: GPU out of memory: requested 1,099,511,627,776 bytes (1048576.0 MiB); "
                + "try a smaller --batch or fewer --replicas); time fused K=1 B=256 (threw IllegalArgumentException: bad timing)"), text);
        assertTrue(l.get(indexOf(l, "FAIL time fused K=1 B=256")).contains("IllegalArgumentException: bad timing"), text);
        assertTrue(l.contains("checks: 1 passed, 3 failed, 0 not run"), text);
        assertTrue(l.contains("timings: 1 measured, 1 failed, 0 not run"), text);
        assertTrue(indexOf(l, "fused       1        256    FAILED: IllegalArgumentException: bad timing") > 0, text);
        assertFalse(text.contains("STOP"), text);
    }

    @Test
    void lostContextIsFoundInCausesSuppressedAndDriverMessages() {
        assertNotNull(GpuCheck.lostContext(new DeviceException("x", 719)));
        assertNull(GpuCheck.lostContext(new DeviceException("x", 801)));
        assertNull(GpuCheck.lostContext(new DeviceException("cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY")));
        assertNull(GpuCheck.lostContext(new IllegalStateException("CUDA_ERROR_ILLEGAL_ADDRESS")));
        // JCudaDevice's messages name the CUresult without its code
        assertNotNull(GpuCheck.lostContext(new DeviceException("cuCtxSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS")));
        assertNotNull(GpuCheck.lostContext(new IllegalStateException("wrapped", new DeviceException("x", 700))));
        RuntimeException primary = new IllegalStateException("primary");
        primary.addSuppressed(new DeviceException("releasing device resources failed", 716));
        assertNotNull(GpuCheck.lostContext(primary));
    }

    /** A probe over CudaProbeTest's fake driver (an H200 on a CUDA 13.0 driver) and kernel image; initRc != 0: no GPU. */
    private static CudaProbe probe(int initRc) {
        return new CudaProbe(() -> CudaProbeTest.driver(initRc, 1, 13000), () -> CudaProbeTest.IMAGE);
    }

    private static final List<NnEngines.Availability> ENGINES = List.of(
            new NnEngines.Availability(NnEngine.KERNELS, true, "the project's CUDA kernels"),
            new NnEngines.Availability(NnEngine.CUBLAS, false, "libcublas.so.12: cannot open shared object file"),
            new NnEngines.Availability(NnEngine.CUDNN, false, "libcudnn.so.9: cannot open shared object file"));

    @Test
    void noUsableGpuIsStatusTwoWithTheTable() {
        AtomicBoolean opened = new AtomicBoolean();
        int status = GpuCheck.check(out, trace, probe(100), () -> {
            opened.set(true);
            throw new AssertionError("not opened when the probe says no");
        }, () -> ENGINES, 1, true);
        assertEquals(2, status);
        assertFalse(opened.get());
        List<String> l = lines();
        assertTrue(l.get(0).startsWith("probe: "), output());
        int table = l.indexOf(GpuCheck.TABLE_MARKER);
        assertTrue(table > 0, output());
        assertTrue(l.get(table + 1).startsWith("checks: none run (no usable GPU: cuInit failed"), output());
    }

    @Test
    void aDeviceThatDoesNotOpenIsStatusTwoWithTheTable() {
        int status = GpuCheck.check(out, trace, probe(0), () -> {
            throw new DeviceException("cuModuleLoadData(ode.fatbin) failed: CUDA_ERROR_NO_BINARY_FOR_GPU");
        }, () -> ENGINES, 1, true);
        assertEquals(2, status);
        List<String> l = lines();
        assertTrue(indexOf(l, "device: did not open: DeviceException: cuModuleLoadData") >= 0, output());
        int table = l.indexOf(GpuCheck.TABLE_MARKER);
        assertTrue(l.get(table + 1).startsWith("checks: none run (no usable GPU: the device did not open: DeviceException"),
                output());
    }

    /**
     * The whole GPU check (main's path, with the real plan) on a device whose every call fails as
     * after an illegal address: the first check fails, every other check and timing is not run, the
     * device is closed, the table is printed and the status is 1.
     */
    @Test
    void theRealPlanOnADeviceThatLosesItsContext() {
        AtomicInteger calls = new AtomicInteger();
        AtomicBoolean closed = new AtomicBoolean();
        Device lost = (Device) Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[]{Device.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "describe" -> "lost device";
                    case "close" -> {
                        closed.set(true);
                        yield null;
                    }
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "lost device";
                    case "kernels" -> Set.of();
                    default -> {
                        calls.incrementAndGet();
                        throw new DeviceException(m.getName() + " failed: CUDA_ERROR_ILLEGAL_ADDRESS", 700);
                    }
                });
        int status = GpuCheck.check(out, trace, probe(0), () -> lost, () -> ENGINES, 7, true);
        String text = output();
        assertEquals(1, status, text);
        assertTrue(closed.get());
        List<String> l = lines();
        assertTrue(indexOf(l, "device: lost device") >= 0, text);
        assertTrue(indexOf(l, "nn engine cublas: not available") >= 0, text);
        int fail = indexOf(l, "FAIL gradient Pendulum tanh 2-8-8-2 K=3 B=5 T=6");
        assertTrue(fail >= 0, text);
        assertEquals(1, l.stream().filter(s -> s.startsWith("FAIL")).count(), text);
        assertTrue(l.get(fail + 1).startsWith("STOP the CUDA context was lost"), text);
        long skipped = l.stream().filter(s -> s.startsWith("SKIP")).count();
        GpuCheck.Plan plan = GpuCheck.plan(lost, ENGINES, 7, true);
        assertEquals(plan.checks().size() - 1 + plan.timings().size(), skipped, text);
        assertEquals(6 + 2, plan.timings().size(), "fused and per-thread at K = 1, 8, 64; lw-kernels at K = 1, 8");
        int table = l.indexOf(GpuCheck.TABLE_MARKER);
        List<String> t = l.subList(table + 1, l.size());
        assertEquals(String.format("checks: 0 passed, 1 failed, %d not run", plan.checks().size() - 1), t.get(0), text);
        assertEquals("timings: 0 measured, 0 failed, 8 not run", t.get(1), text);
        assertTrue(t.get(t.size() - 2).startsWith("engines: kernels: loaded"), text);
        assertTrue(t.get(t.size() - 1).startsWith("GFLOP/s counts the MLP only"), text);
    }

    /** The GPU check runs the same kernel checks as KernelChecks.all, one at a time (where the emulated device is built). */
    @Test
    void kernelChecksAreKernelChecksAllOneAtATime() {
        String why = EmulatedDevice.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "emulated CUDA device skipped: " + why);
        try (EmulatedDevice dev = EmulatedDevice.open()) {
            long seed = 42;
            List<String> all = KernelChecks.all(dev, seed, false).stream().map(KernelChecks.Check::name).toList();
            List<String> one = new ArrayList<>();
            for (KernelChecks.Planned c : KernelChecks.plan(dev, seed, false)) {
                c.work().get().forEach(k -> one.add(k.name()));
            }
            assertEquals(all, one);
        }
    }

    // ---- benchmarks/gpu-check.sh, with a fake bundle (a shell script for java) and fake CUDA wheels ----

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Paths.get(d, tool))) return true;
        }
        return false;
    }

    private static void touch(Path dir, String... names) throws IOException {
        Files.createDirectories(dir);
        for (String n : names) Files.writeString(dir.resolve(n), "");
    }

    /** Runs the script (copied into dir/gpu-bundle when bundle is true) with extra env; returns {exit, stdout+stderr}. */
    private static Object[] script(Path dir, boolean bundle, Map<String, String> env, String... args) throws Exception {
        Path script = Paths.get("benchmarks", "gpu-check.sh").toAbsolutePath();
        Assumptions.assumeTrue(Files.isRegularFile(script), "benchmarks/gpu-check.sh not found from " + Paths.get("").toAbsolutePath());
        Path where = bundle ? dir.resolve("gpu-bundle") : dir.resolve("alone");
        Files.createDirectories(where);
        Path copy = Files.copy(script, where.resolve("gpu-check.sh"));
        List<String> cmd = new ArrayList<>(List.of("bash", copy.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().remove("PYTHONNOUSERSITE");
        pb.environment().remove("OUT");
        pb.environment().putAll(env);
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Object[]{p.exitValue(), text};
    }

    @Test
    void gpuCheckScriptWithoutABundleSaysSoAndExits2(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onPath("bash"), "no bash");
        Object[] r = script(dir, false, Map.of(), dir.resolve("out").toString());
        assertEquals(2, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("gpu-check: no bundle found"), (String) r[1]);
    }

    /**
     * One CUDA major for the cuBLAS family on LD_LIBRARY_PATH (12: JCublas needs libcublas.so.12),
     * the cuDNN folder with it, the CUDA 13 and mixed folders left out with the reason; java gets
     * java.io.tmpdir under the log dir and the HYBRIDSAM_* settings; the table is printed last; the
     * exit status is GpuCheck's.
     */
    @Test
    void gpuCheckScriptChoosesOneCudaMajorAndPassesTmpdirAndSettings(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onPath("bash") && onPath("python3"), "no bash or python3");
        Path bin = dir.resolve("gpu-bundle/runtime/bin");
        Files.createDirectories(bin);
        Files.createDirectories(dir.resolve("gpu-bundle/lib"));
        touch(dir.resolve("gpu-bundle"), "hybridsam.jar");
        Path java = bin.resolve("java");
        Files.writeString(java, String.join("\n",
                "#!/bin/sh",
                "if [ \"$1\" = -version ]; then echo 'openjdk version \"17-fake\"'; exit 0; fi",
                "echo \"probe: fake\"",
                "echo \"args: $*\"",
                "echo \"LD=$LD_LIBRARY_PATH\"",
                "echo \"SETTING=${HYBRIDSAM_GPUCHECK_TEST:-unset}\"",
                "echo \"PASS fake check\"",
                "echo",
                "echo \"== GpuCheck table\"",
                "echo \"checks: 1 passed, 0 failed, 0 not run\"",
                "exit 1", ""));
        assertTrue(java.toFile().setExecutable(true));
        Path base = dir.resolve("userbase");
        // the wheels' folders go under the user site-packages of PYTHONUSERBASE=base, which the script's python3 lists
        ProcessBuilder pb = new ProcessBuilder("python3", "-c", "import site; print(site.getusersitepackages())");
        pb.environment().put("PYTHONUSERBASE", base.toString());
        Process py = pb.start();
        py.getOutputStream().close();
        String site;
        try (var in = py.getInputStream()) {
            site = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        assertEquals(0, py.waitFor());
        Path nv = Paths.get(site, "nvidia");
        touch(nv.resolve("cu13/lib"), "libcublas.so.13", "libcublasLt.so.13", "libcudart.so.13", "libnvrtc.so.13");
        touch(nv.resolve("cublas/lib"), "libcublas.so.12", "libcublasLt.so.12");
        touch(nv.resolve("cuda_runtime/lib"), "libcudart.so.12");
        touch(nv.resolve("cudnn/lib"), "libcudnn.so.9", "libcudnn_graph.so.9");
        touch(nv.resolve("mixed/lib"), "libcudart.so.12", "libcublasLt.so.13");
        touch(nv.resolve("nccl/lib"), "libnccl.so.2");
        Path out = dir.resolve("out");
        Object[] r = script(dir, true, Map.of("PYTHONUSERBASE", base.toString(), "PYTORCH_PEER", "0",
                "HYBRIDSAM_GPUCHECK_TEST", "x y", "LD_LIBRARY_PATH", "/opt/original"), out.toString());
        String text = (String) r[1];
        assertEquals(1, r[0], text);
        String ld = null, args = null;
        for (String line : Files.readAllLines(out.resolve("gpu-check-java.log"))) {
            if (line.startsWith("LD=")) ld = line.substring(3);
            if (line.startsWith("args: ")) args = line;
        }
        assertNotNull(ld, text);
        List<String> dirs = List.of(ld.split(":"));
        int cublas = dirs.indexOf(nv.resolve("cublas/lib").toRealPath().toString());
        int runtime = dirs.indexOf(nv.resolve("cuda_runtime/lib").toRealPath().toString());
        int cudnn = dirs.indexOf(nv.resolve("cudnn/lib").toRealPath().toString());
        assertTrue(cublas >= 0 && runtime > cublas && cudnn > runtime, ld);
        for (String left : List.of("cu13", "mixed", "nccl")) {
            assertFalse(dirs.contains(nv.resolve(left + "/lib").toRealPath().toString()), left + " on " + ld);
        }
        assertEquals("/opt/original", dirs.get(dirs.size() - 1), ld);
        String log = Files.readString(out.resolve("gpu-check.log"));
        assertTrue(log.contains("libcublas: " + nv.resolve("cublas/lib").toRealPath() + "/libcublas.so.12"), log);
        assertTrue(log.contains("also libcublas.so.13: ") && log.contains("not used by JCublas"), log);
        assertTrue(log.contains("libcudnn: " + nv.resolve("cudnn/lib").toRealPath() + "/libcudnn.so.9"), log);
        assertTrue(log.contains("cuBLAS family: CUDA 12"), log);
        assertTrue(log.contains("- " + nv.resolve("cu13/lib").toRealPath() + ": CUDA 13 libraries"), log);
        assertTrue(log.contains("- " + nv.resolve("mixed/lib").toRealPath() + ": holds libraries of several CUDA majors"), log);
        assertTrue(log.contains("- " + nv.resolve("nccl/lib").toRealPath() + ": nothing JCuda, JCublas or JCudnn loads"), log);
        assertTrue(args != null && args.contains("-Djava.io.tmpdir=" + out.resolve("tmp")), args);
        assertTrue(Files.isDirectory(out.resolve("tmp")));
        assertTrue(Files.readString(out.resolve("gpu-check-java.log")).contains("SETTING=x y"), text);
        assertTrue(log.contains("env:      HYBRIDSAM_GPUCHECK_TEST=x y"), log);
        assertTrue(text.contains("  PASS fake check"), text);
        String summary = text.substring(text.indexOf("== summary (exit 1;"));
        assertTrue(summary.contains("checks: 1 passed, 0 failed, 0 not run"), text);
    }
}
