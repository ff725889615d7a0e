package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.tasks.DuffingModel;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the CPU stand-in enforces, each through the real JCuda / JCublas path: faults in kernels
 * (out of bounds, use after free, unwritten memory, host pointers) named with the kernel, the
 * capture rules, stream order, sticky errors and their reset, cuBLAS's workspace rule in graphs,
 * cuDNN's refused algorithms, the debug switch, and every symbol JCuda's natives import.
 */
class StrictnessStandInTest {
    @BeforeEach
    void standIn() {
        StandInSuites.assume();
        StandIn.clearReport();
    }

    @AfterEach
    void clean() {
        JCudaDevice.syncOverride = null;
        if (!StandIn.active()) return;
        StandIn.refuseCudnnAlgorithms("");
        StandIn.clearReport();
    }

    private static DeviceException fault(JCudaDevice dev, Runnable launch) {
        launch.run();
        return assertThrows(DeviceException.class, dev::synchronize);
    }

    @Test
    void outOfBoundsWriteIsReportedWithTheKernel() {
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceBuffer b = dev.alloc(4 * 10);
            DeviceException e = fault(dev, () -> dev.launch("hs_lw_zero", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(11).ptr(b)));
            assertEquals(700, e.cudaCode());
            assertTrue(e.isSticky());
            assertTrue(e.getMessage().contains("hs_lw_zero") && e.getMessage().contains("out-of-bounds"), e.getMessage());
            assertTrue(e.getMessage().contains("past the end of allocation"), e.getMessage());
            // the context is lost, as after a fault on a GPU: every later call fails
            assertThrows(DeviceException.class, () -> dev.upload(b, new float[10]));
            assertThrows(DeviceException.class, dev::close);
        }
        // a new context works again (the last release destroyed the faulted one)
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceBuffer b = dev.alloc(4 * 10);
            dev.launch("hs_lw_zero", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(10).ptr(b));
            float[] out = new float[10];
            dev.download(b, out);
            assertArrayEquals(new float[10], out);
            b.close();
        }
    }

    @Test
    void useAfterFreeIsReported() {
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceBuffer b = dev.alloc(4 * 10);
            dev.free(b);  // freed on the device, still open in Java: what a stale pointer in a graph would be
            DeviceException e = fault(dev, () -> dev.launch("hs_lw_zero", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(10).ptr(b)));
            assertTrue(e.getMessage().contains("hs_lw_zero") && e.getMessage().contains("use after free"), e.getMessage());
            assertThrows(DeviceException.class, dev::close);
        }
    }

    @Test
    void readingUnwrittenMemoryIsReported() {
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceBuffer src = dev.alloc(4 * 8), dst = dev.alloc(4 * 8);
            DeviceException e = fault(dev, () -> dev.launch("hs_batch_copy", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of()
                    .l(8).ptr(src).l(0).l(0).ptr(dst).l(0).l(0).i(0)));
            assertTrue(e.getMessage().contains("hs_batch_copy") && e.getMessage().contains("nothing has written"), e.getMessage());
            assertThrows(DeviceException.class, dev::close);
        }
    }

    @Test
    void writtenMemoryIsReadable() {
        try (JCudaDevice dev = JCudaDevice.open(0); DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer src = s.floats(8), dst = s.floats(8);
            float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
            dev.upload(src, x);
            dev.launch("hs_batch_copy", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(8).ptr(src).l(0).l(0).ptr(dst).l(0).l(0).i(0));
            float[] y = new float[8];
            dev.download(dst, y);
            assertArrayEquals(x, y);
        }
        assertEquals("", StandIn.lastReport());
    }

    /** Through raw JCuda: a page-locked host pointer passed as a kernel's device pointer. */
    @Test
    void hostPointerAsDevicePointerIsReported() {
        CUdevice d = new CUdevice();
        CUcontext ctx = new CUcontext();
        assertEquals(0, JCudaDriver.cuInit(0));
        assertEquals(0, JCudaDriver.cuDeviceGet(d, 0));
        assertEquals(0, JCudaDriver.cuDevicePrimaryCtxRetain(ctx, d));
        try {
            assertEquals(0, JCudaDriver.cuCtxSetCurrent(ctx));
            CUmodule m = new CUmodule();
            byte[] image = "hybridsam-standin-module test\nhs_lw_zero\n\0".getBytes(StandardCharsets.US_ASCII);
            assertEquals(0, JCudaDriver.cuModuleLoadData(m, image));
            CUfunction f = new CUfunction();
            assertEquals(0, JCudaDriver.cuModuleGetFunction(f, m, "hs_lw_zero"));
            assertNotEquals(0, JCudaDriver.cuModuleGetFunction(new CUfunction(), m, "hs_gemm"), "not in that module");
            Pointer host = new Pointer();
            assertEquals(0, JCudaDriver.cuMemAllocHost(host, 64));
            Pointer args = Pointer.to(Pointer.to(new long[]{16}), Pointer.to(host));
            // on the legacy stream the work runs at once, so the launch may already return the fault
            int rc = JCudaDriver.cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, null, args, null);
            if (rc == 0) rc = JCudaDriver.cuCtxSynchronize();
            assertEquals(700, rc);
            assertTrue(StandIn.lastReport().contains("host pointer"), StandIn.lastReport());
        } finally {
            JCudaDriver.cuDevicePrimaryCtxRelease(d);
        }
    }

    /** A device that fails half way through opening releases its stream and its context reference. */
    @Test
    void failedOpenLeaksNothing() {
        KernelImage bad = new KernelImage(java.util.Map.of("broken", "not a module image\0".getBytes(StandardCharsets.US_ASCII)),
                0, "test", Set.of());
        DeviceException e = assertThrows(DeviceException.class, () -> JCudaDevice.open(0, bad));
        assertEquals(200, e.cudaCode(), e.getMessage());  // CUDA_ERROR_INVALID_IMAGE
        assertTrue(e.getMessage().contains("cuModuleLoadData(broken)"), e.getMessage());
        CUdevice d = new CUdevice();
        assertEquals(0, JCudaDriver.cuDeviceGet(d, 0));
        int[] flags = new int[1], active = new int[1];
        assertEquals(0, JCudaDriver.cuDevicePrimaryCtxGetState(d, flags, active));
        assertEquals(0, active[0], "the primary context is released");
        StandIn.clearReport();
    }

    @Test
    void captureRefusesACopyAndReportsTheFirstError() {
        try (JCudaDevice dev = JCudaDevice.open(0); DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer b = s.floats(4);
            DeviceException e = assertThrows(DeviceException.class, () -> dev.capture(() -> dev.upload(b, new float[4])));
            assertEquals(900, e.cudaCode(), e.getMessage());  // the copy's refusal, not the end of the capture
            assertEquals(1, e.getSuppressed().length);
            assertTrue(e.getSuppressed()[0].getMessage().contains("cuStreamEndCapture"), e.getSuppressed()[0].getMessage());
            assertTrue(StandIn.lastReport().contains("during a stream capture"), StandIn.lastReport());
            StandIn.clearReport();
            // not sticky: the device goes on
            dev.upload(b, new float[]{1, 2, 3, 4});
            float[] out = new float[4];
            dev.download(b, out);
            assertArrayEquals(new float[]{1, 2, 3, 4}, out);
        }
    }

    /** A copy from page-locked host memory is what a capture may record (only pageable ones are refused). */
    @Test
    void captureRecordsACopyFromPageLockedMemory() {
        try (JCudaDevice dev = JCudaDevice.open(0); DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer b = s.floats(4);
            Pointer pinned = new Pointer();
            assertEquals(0, JCudaDriver.cuMemAllocHost(pinned, 16));
            try {
                pinned.getByteBuffer(0, 16).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(new float[]{5, 6, 7, 8});
                StepGraph g = dev.capture(() -> assertEquals(0, JCudaDriver.cuMemcpyHtoDAsync(dev.pointer(b), pinned, 16, dev.stream())));
                g.launch();
                float[] out = new float[4];
                dev.download(b, out);
                assertArrayEquals(new float[]{5, 6, 7, 8}, out);
                g.close();
                assertEquals("", StandIn.lastReport());
            } finally {
                JCudaDriver.cuMemFreeHost(pinned);
            }
        }
    }

    @Test
    void captureRefusesAllocationAndAFailedBodyKeepsItsException() {
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceException e = assertThrows(DeviceException.class, () -> dev.capture(() -> dev.alloc(64)));
            assertEquals(900, e.cudaCode());
            IllegalStateException mine = new IllegalStateException("body failed");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> dev.capture(() -> {
                throw mine;
            }));
            assertTrue(thrown == mine);
            StepGraph g = dev.capture(() -> { });
            g.launch();
            g.close();
        }
    }

    /** A synchronous copy does not wait for a non-blocking stream: without the wait it sees the old bytes. */
    @Test
    void streamOrderIsEnforced() {
        try (JCudaDevice dev = JCudaDevice.open(0); DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer b = s.floats(4);
            dev.upload(b, new float[]{1, 1, 1, 1});
            dev.launch("hs_lw_zero", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(4).ptr(b));
            float[] early = new float[4];
            assertEquals(0, JCudaDriver.cuMemcpyDtoH(Pointer.to(early), dev.pointer(b), 16));
            assertArrayEquals(new float[]{1, 1, 1, 1}, early, "the kernel on the non-blocking stream has not run yet");
            float[] late = new float[4];
            dev.download(b, late);  // waits for the stream first
            assertArrayEquals(new float[4], late);
        }
    }

    @Test
    void debugSwitchNamesTheKernelAtItsLaunch() {
        JCudaDevice.syncOverride = true;
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceBuffer b = dev.alloc(4 * 2);
            DeviceException e = assertThrows(DeviceException.class,
                    () -> dev.launch("hs_lw_zero", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().l(3).ptr(b)));
            assertTrue(e.getMessage().startsWith("kernel hs_lw_zero (" + JCudaDevice.SYNC_ENV + "=1) failed"), e.getMessage());
            assertThrows(DeviceException.class, dev::close);
        }
    }

    /** cuBLAS recorded into a graph needs a workspace the graph owns, set after the stream (which resets it). */
    @Test
    void cublasInACaptureNeedsItsWorkspace() {
        try (JCudaDevice dev = JCudaDevice.open(0); DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer a = s.floats(4), c = s.floats(4), ws = s.alloc(1 << 20);
            dev.upload(a, new float[]{1, 2, 3, 4});
            cublasHandle h = new cublasHandle();
            JCublas2.setExceptionsEnabled(false);
            assertEquals(0, JCublas2.cublasCreate(h));
            try {
                int[] status = {-1};
                Runnable gemm = () -> status[0] = JCublas2.cublasSgemm(h, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N,
                        2, 2, 2, Pointer.to(new float[]{1}), dev.pointer(a), 2, dev.pointer(a), 2, Pointer.to(new float[]{0}),
                        dev.pointer(c), 2);
                assertEquals(0, JCublas2.cublasSetWorkspace(h, dev.pointer(ws), 1 << 20));
                assertEquals(0, JCublas2.cublasSetStream(h, new cudaStream_t(dev.stream())));  // resets the workspace
                dev.capture(gemm).close();
                assertEquals(15, status[0], "CUBLAS_STATUS_NOT_SUPPORTED without a workspace of the graph's own");
                assertTrue(StandIn.lastReport().contains("cublasSetWorkspace"), StandIn.lastReport());
                StandIn.clearReport();
                assertEquals(0, JCublas2.cublasSetWorkspace(h, dev.pointer(ws), 1 << 20));
                StepGraph g = dev.capture(gemm);
                assertEquals(0, status[0]);
                g.launch();
                float[] out = new float[4];
                dev.download(c, out);
                assertArrayEquals(new float[]{7, 10, 15, 22}, out);  // column-major [1 3; 2 4]^2
                g.close();
            } finally {
                JCublas2.cublasDestroy(h);
            }
        }
    }

    /** cuDNN 9 refusing the preferred algorithms: the dense layers fall back to deterministic ones and stay right. */
    @Test
    void cudnnFallsBackToDeterministicAlgorithms() {
        StandIn.refuseCudnnAlgorithms("fwd:0,bwd_data:1,bwd_filter:1");
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            SplittableRandom rng = new SplittableRandom(3);
            KernelChecks.Check c = KernelChecks.layerwiseGradient(dev, GpuCheck.CUDNN, new DuffingModel(), Activation.TANH, 3, 7, 4,
                    1, new int[]{8, 8}, rng);
            assertTrue(c.passed(), c::toString);
            KernelChecks.Check d = KernelChecks.denseLayer(dev, GpuCheck.CUDNN, 2, 5, 3, 9, rng);
            assertTrue(d.passed(), d::toString);
        }
    }

    @Test
    void cudnnWithoutADeterministicAlgorithmSaysSo() {
        StandIn.refuseCudnnAlgorithms("bwd_data:1,bwd_data:2");
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            DeviceException e = assertThrows(DeviceException.class, () -> KernelChecks.denseLayer(dev, GpuCheck.CUDNN, 1, 3, 2, 4,
                    new SplittableRandom(1)));
            assertTrue(e.getMessage().contains("no deterministic algorithm"), e.getMessage());
        }
    }

    /** Every symbol JCuda's, JCublas2's and JCudnn's native libraries import is exported by the stand-ins. */
    @Test
    void standInsExportEverySymbolTheNativesImport() throws Exception {
        Path dir = StandIn.directory();
        Path natives = Files.createTempDirectory("jcuda-natives");
        for (String jar : List.of("jcuda-natives", "jcublas-natives", "jcudnn-natives")) {
            String cp = System.getProperty("java.class.path");
            for (String entry : cp.split(java.io.File.pathSeparator)) {
                if (!entry.contains(jar) || !entry.contains("linux-x86_64")) continue;
                try (var zip = new java.util.zip.ZipFile(entry)) {
                    for (var en : java.util.Collections.list(zip.entries())) {
                        String n = en.getName();
                        if (n.endsWith(".so") && (n.contains("JCudaDriver") || n.contains("JCublas2") || n.contains("JCudnn"))) {
                            Files.write(natives.resolve(Path.of(n).getFileName()), zip.getInputStream(en).readAllBytes());
                        }
                    }
                }
            }
        }
        for (String[] pair : new String[][]{{"JCudaDriver", "libcuda.so.1"}, {"JCublas2", "libcublas.so.12"}, {"JCudnn", "libcudnn.so.9"}}) {
            Path natLib;
            try (var files = Files.list(natives)) {
                natLib = files.filter(f -> f.getFileName().toString().contains(pair[0] + "-")).findFirst().orElseThrow(
                        () -> new AssertionError("no " + pair[0] + " native library on the class path"));
            }
            Set<String> imported = nm(natLib, true, pair[1]);
            Set<String> exported = nm(dir.resolve(pair[1]), false, pair[1]);
            Set<String> missing = new TreeSet<>(imported);
            missing.removeAll(exported);
            assertTrue(imported.size() > 100, pair[0] + " imports " + imported.size());
            assertEquals(Set.of(), missing, pair[1] + " lacks symbols " + pair[0] + " imports");
        }
    }

    /** The dynamic symbols of a library from nm: imports (undefined, from the given library) or exports. */
    private static Set<String> nm(Path lib, boolean undefined, String from) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nm", "-D", undefined ? "--undefined-only" : "--defined-only", lib.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "nm failed: " + out);
        String prefix = from.startsWith("libcuda.") ? "cu" : from.startsWith("libcublas") ? "cublas" : "cudnn";
        Set<String> names = new TreeSet<>();
        for (String line : out.split("\\R")) {
            String[] f = line.trim().split("\\s+");
            String name = f[f.length - 1];
            String version = name.contains("@") ? name.substring(name.indexOf('@')).replace("@", "") : "";
            name = name.replaceAll("@.*", "");
            if (!name.startsWith(prefix) || (prefix.equals("cu") && (name.startsWith("cublas") || name.startsWith("cudnn")))) continue;
            // JCublas2 / JCudnn ask for the version node of the soname; the stand-in must export it under that node
            if (!prefix.equals("cu") && !version.isEmpty() && !version.equals(from)) continue;
            names.add(name);
        }
        return names;
    }
}
