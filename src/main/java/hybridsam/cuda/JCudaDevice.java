package hybridsam.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * A GPU through JCuda's driver API: the device's primary context (shared with cuBLAS/cuDNN
 * should they be used), the build's fatbins loaded with cuModuleLoadData, launches on one
 * stream, and graphs captured from that stream. Copies wait for the stream first, so the host
 * sees results in program order. With {@value #SYNC_ENV}=1 every launch outside a capture is
 * followed by a stream synchronisation, so a fault is reported by the launch that caused it
 * (as CUDA_LAUNCH_BLOCKING does for the runtime API). Under the CPU stand-in ({@link StandIn})
 * a failed call's message also carries what the stand-in found.
 */
public final class JCudaDevice implements Device {
    /** The debug switch: synchronise after every launch outside a capture and name the kernel that faulted. */
    public static final String SYNC_ENV = "HYBRIDSAM_CUDA_SYNC";
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final Map<String, CUfunction> functions = new LinkedHashMap<>();
    private final List<CUmodule> modules = new ArrayList<>();
    private final String name;
    private final boolean syncEachLaunch = syncOverride != null ? syncOverride : "1".equals(System.getenv(SYNC_ENV));
    /** Tests set the debug switch here (the environment cannot change inside a JVM); null: the environment decides. */
    static volatile Boolean syncOverride;
    private boolean retained, streamMade, capturing, closed;

    private JCudaDevice(int ordinal, KernelImage image) {
        try {
            check(cuInit(0), "cuInit");
            check(cuDeviceGet(device, ordinal), "cuDeviceGet");
            byte[] nameBytes = new byte[256];
            check(cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
            int len = 0;
            while (len < nameBytes.length && nameBytes[len] != 0) len++;
            name = new String(nameBytes, 0, len, java.nio.charset.StandardCharsets.UTF_8);
            check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
            retained = true;
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            streamMade = true;
            for (Map.Entry<String, byte[]> e : image.fatbins().entrySet()) {
                CUmodule module = new CUmodule();
                check(cuModuleLoadData(module, e.getValue()), "cuModuleLoadData(" + e.getKey() + ")");
                modules.add(module);
                for (String k : KernelNames.IN_MODULE.getOrDefault(e.getKey(), Set.of())) {
                    CUfunction f = new CUfunction();
                    check(cuModuleGetFunction(f, module, k), "cuModuleGetFunction(" + k + ") in module " + e.getKey());
                    functions.put(k, f);
                }
            }
        } catch (RuntimeException e) {
            release(e);  // a failure half way leaks no stream, module or context reference
            throw e;
        }
    }

    /** Opens device ordinal with the kernels embedded in the jar (check {@link CudaProbe} first). */
    public static JCudaDevice open(int ordinal) {
        StandIn.loadIfRequested();
        KernelImage image = KernelImage.fromClasspath(JCudaDevice.class.getClassLoader());
        if (image == null && StandIn.active()) image = KernelImage.standIn();
        if (image == null) throw new DeviceException("this jar has no CUDA kernels (built without nvcc)");
        return open(ordinal, image);
    }

    /** Opens device ordinal with the given kernels (tests: a bad image must leak nothing). */
    static JCudaDevice open(int ordinal, KernelImage image) {
        StandIn.loadIfRequested();
        return new JCudaDevice(ordinal, image);
    }

    /** The driver calls of {@link CudaProbe} over JCuda (loading it may throw LinkageError). */
    static CudaProbe.Driver driverCalls() {
        StandIn.loadIfRequested();
        return new CudaProbe.Driver() {
            public int init() {
                return cuInit(0);
            }

            public int driverVersion(int[] out) {
                return JCudaDriver.cuDriverGetVersion(out);
            }

            public int deviceCount(int[] out) {
                return JCudaDriver.cuDeviceGetCount(out);
            }

            public String deviceName(int ordinal) {
                CUdevice d = new CUdevice();
                if (cuDeviceGet(d, ordinal) != 0) return "device " + ordinal;
                byte[] b = new byte[256];
                cuDeviceGetName(b, b.length, d);
                int n = 0;
                while (n < b.length && b[n] != 0) n++;
                return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
            }

            public String errorName(int code) {
                return CUresult.stringFor(code);
            }

            public int computeCapability(int ordinal) {
                CUdevice d = new CUdevice();
                int[] major = new int[1], minor = new int[1];
                if (cuDeviceGet(d, ordinal) != 0
                        || JCudaDriver.cuDeviceGetAttribute(major, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d) != 0
                        || JCudaDriver.cuDeviceGetAttribute(minor, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d) != 0) {
                    return 0;
                }
                return major[0] * 10 + minor[0];
            }
        };
    }

    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw failure(rc, call);
    }

    /** The exception for a failed driver call: the call, the driver's error and, under the stand-in, what it found. */
    static DeviceException failure(int rc, String call) {
        String found = StandIn.active() ? StandIn.lastReport() : "";
        if (!found.isEmpty()) {
            // the first thing the stand-in reported in this context is the cause; later lines are its echoes
            String[] lines = found.split("\\R");
            found = " (stand-in: " + lines[0] + (lines.length > 1 ? "; " + (lines.length - 1) + " more in its report" : "") + ")";
        }
        return new DeviceException(call + " failed: " + CUresult.stringFor(rc) + found, rc);
    }

    @Override
    public String describe() {
        return name;
    }

    @Override
    public Set<String> kernels() {
        return Collections.unmodifiableSet(functions.keySet());
    }

    @Override
    public DeviceBuffer alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        int rc = cuMemAlloc(p, bytes);
        if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            long[] free = new long[1], total = new long[1];
            cuMemGetInfo(free, total);
            throw new DeviceOutOfMemoryException(bytes, free[0], total[0]);
        }
        check(rc, "cuMemAlloc(" + bytes + " bytes)");
        return new DeviceBuffer(this, 0, bytes, p); // JCuda keeps the address inside the CUdeviceptr
    }

    @Override
    public void free(DeviceBuffer buffer) {
        check(cuMemFree((CUdeviceptr) buffer.rawHandle()), "cuMemFree");
    }

    /** The stream every launch, copy and capture of this device goes on (cuBLAS is bound to it too). */
    CUstream stream() {
        return stream;
    }

    /** Whether a {@link #capture} body is running (library wrappers refuse to allocate then, with a clearer message than the driver's). */
    boolean capturing() {
        return capturing;
    }

    /** A buffer's device pointer (for libraries called outside {@link #launch}). */
    CUdeviceptr pointer(DeviceBuffer b) {
        return ptr(b);
    }

    private CUdeviceptr ptr(DeviceBuffer b) {
        return (CUdeviceptr) b.handle();
    }

    /*
     * Copies go on the engine's stream so that the launches and graph replays queued there are
     * ordered with them: that stream is non-blocking, so it would not wait for copies on the
     * legacy default stream (and a pageable host-to-device copy may still be in flight when the
     * synchronous call returns). The wait afterwards makes the Java array free for reuse however
     * the driver stages pageable memory; it costs the overlap of one step with the next upload.
     */
    private void put(DeviceBuffer dst, Pointer src, long bytes) {
        dst.checkFits(bytes);
        check(cuMemcpyHtoDAsync(ptr(dst), src, bytes, stream), "cuMemcpyHtoDAsync");
        synchronize();
    }

    private void get(DeviceBuffer src, Pointer dst, long bytes) {
        src.checkFits(bytes);
        synchronize();
        check(cuMemcpyDtoH(dst, ptr(src), bytes), "cuMemcpyDtoH");
    }

    @Override
    public void upload(DeviceBuffer dst, float[] src) {
        put(dst, Pointer.to(src), 4L * src.length);
    }

    @Override
    public void upload(DeviceBuffer dst, int[] src) {
        put(dst, Pointer.to(src), 4L * src.length);
    }

    @Override
    public void upload(DeviceBuffer dst, double[] src) {
        put(dst, Pointer.to(src), 8L * src.length);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        get(src, Pointer.to(dst), 4L * dst.length);
    }

    @Override
    public void download(DeviceBuffer src, int[] dst) {
        get(src, Pointer.to(dst), 4L * dst.length);
    }

    @Override
    public void download(DeviceBuffer src, double[] dst) {
        get(src, Pointer.to(dst), 8L * dst.length);
    }

    @Override
    public void zero(DeviceBuffer buffer) {
        // on the engine's stream, so later launches and graph replays there are ordered after it
        // (cuMemsetD8 runs on the legacy stream, which the non-blocking stream does not wait for)
        check(cuMemsetD8Async(ptr(buffer), (byte) 0, buffer.bytes(), stream), "cuMemsetD8Async");
    }

    @Override
    public void copy(DeviceBuffer dst, DeviceBuffer src, long bytes) {
        dst.checkFits(bytes);
        src.checkFits(bytes);
        check(cuMemcpyDtoDAsync(ptr(dst), ptr(src), bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override
    public void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, KernelArgs args) {
        CUfunction f = functions.get(kernel);
        if (f == null) throw new IllegalStateException("no kernel named " + kernel + " in the jar's modules");
        // the driver cannot tell a wrong argument list from a right one: the .cu source's parameter
        // types (generated into the kernel index) can, before anything runs
        String expected = KernelNames.signature(kernel);
        if (!expected.equals(args.signature())) {
            throw new IllegalStateException(kernel + ": arguments (" + args.signature() + ") do not match the kernel's parameters ("
                    + expected + ")");
        }
        Pointer[] ps = new Pointer[args.values.size()];
        for (int i = 0; i < ps.length; i++) {
            Object v = args.values.get(i);
            if (v instanceof DeviceBuffer b) ps[i] = Pointer.to(ptr(b));
            else if (v instanceof Integer x) ps[i] = Pointer.to(new int[]{x});
            else if (v instanceof Long x) ps[i] = Pointer.to(new long[]{x});
            else if (v instanceof Float x) ps[i] = Pointer.to(new float[]{x});
            else ps[i] = Pointer.to(new double[]{(Double) v});
        }
        check(cuLaunchKernel(f, gx, gy, gz, bx, by, bz, sharedBytes, stream, Pointer.to(ps), null), "cuLaunchKernel(" + kernel + ")");
        if (syncEachLaunch && !capturing) check(cuStreamSynchronize(stream), "kernel " + kernel + " (" + SYNC_ENV + "=1)");
    }

    /**
     * Captures body's launches into a graph. A failure inside body (or a refusal by the driver
     * that invalidates the capture) is the error reported; cuStreamEndCapture's own error is
     * added to it as suppressed. The graph is destroyed on every error path.
     */
    @Override
    public StepGraph capture(Runnable body) {
        synchronize();
        check(cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        CUgraph graph = new CUgraph();
        RuntimeException first = null;
        boolean graphMade = false;
        capturing = true;
        try {
            body.run();
        } catch (RuntimeException e) {
            first = e;
        } finally {
            capturing = false;
            int rc = cuStreamEndCapture(stream, graph);
            graphMade = rc == CUresult.CUDA_SUCCESS;
            if (rc != CUresult.CUDA_SUCCESS) {
                DeviceException end = failure(rc, "cuStreamEndCapture");
                if (first == null) first = end;
                else first.addSuppressed(end);
            }
        }
        if (first != null) {
            if (graphMade) cuGraphDestroy(graph);
            throw first;
        }
        CUgraphExec exec = new CUgraphExec();
        int rc = cuGraphInstantiate(exec, graph, 0);
        if (rc != CUresult.CUDA_SUCCESS) {
            cuGraphDestroy(graph);
            check(rc, "cuGraphInstantiate");
        }
        return new StepGraph() {
            private boolean closed;

            @Override
            public void launch() {
                if (closed) throw new IllegalStateException("graph replayed after close");
                check(cuGraphLaunch(exec, stream), "cuGraphLaunch");
                if (syncEachLaunch) check(cuStreamSynchronize(stream), "graph replay (" + SYNC_ENV + "=1)");
            }

            @Override
            public void close() {
                if (closed) return;
                closed = true;
                // wait for replays in flight; destroy both whatever the wait says, then report it
                int wait = cuStreamSynchronize(stream);
                cuGraphExecDestroy(exec);
                cuGraphDestroy(graph);
                check(wait, "cuStreamSynchronize (closing a graph)");
            }
        };
    }

    @Override
    public void synchronize() {
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @Override
    public double elapsedMillis(Runnable work) {
        CUevent start = new CUevent(), stop = new CUevent();
        check(cuEventCreate(start, 0), "cuEventCreate");
        check(cuEventCreate(stop, 0), "cuEventCreate");
        try {
            check(cuEventRecord(start, stream), "cuEventRecord");
            work.run();
            check(cuEventRecord(stop, stream), "cuEventRecord");
            check(cuEventSynchronize(stop), "cuEventSynchronize");
            float[] ms = new float[1];
            check(cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
            return ms[0];
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        int wait = streamMade ? cuStreamSynchronize(stream) : CUresult.CUDA_SUCCESS;
        release(null);
        check(wait, "cuStreamSynchronize (closing the device)");
    }

    /**
     * Releases what was made: modules, the stream, the context reference; every step runs even
     * when an earlier one fails; failures are added to pending (or dropped when it is null, in close).
     */
    private void release(RuntimeException pending) {
        closed = true;
        for (CUmodule m : modules) note(pending, JCudaDriver.cuModuleUnload(m), "cuModuleUnload");
        modules.clear();
        functions.clear();
        if (streamMade) note(pending, JCudaDriver.cuStreamDestroy(stream), "cuStreamDestroy");
        streamMade = false;
        if (retained) note(pending, JCudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
        retained = false;
    }

    private static void note(RuntimeException pending, int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS && pending != null) pending.addSuppressed(failure(rc, call));
    }
}
