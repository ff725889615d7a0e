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

import java.util.Collections;
import java.util.LinkedHashMap;
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
 * sees results in program order.
 */
public final class JCudaDevice implements Device {
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final Map<String, CUfunction> functions = new LinkedHashMap<>();
    private final String name;

    private JCudaDevice(int ordinal, KernelImage image) {
        check(cuInit(0), "cuInit");
        check(cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        name = new String(nameBytes, 0, len, java.nio.charset.StandardCharsets.UTF_8);
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        for (Map.Entry<String, byte[]> e : image.fatbins().entrySet()) {
            CUmodule module = new CUmodule();
            check(cuModuleLoadData(module, e.getValue()), "cuModuleLoadData(" + e.getKey() + ".fatbin)");
            for (String k : KernelNames.IN_MODULE.getOrDefault(e.getKey(), Set.of())) {
                CUfunction f = new CUfunction();
                check(cuModuleGetFunction(f, module, k), "cuModuleGetFunction(" + k + ")");
                functions.put(k, f);
            }
        }
    }

    /** Opens device ordinal with the kernels embedded in the jar (check {@link CudaProbe} first). */
    public static JCudaDevice open(int ordinal) {
        KernelImage image = KernelImage.fromClasspath(JCudaDevice.class.getClassLoader());
        if (image == null) throw new DeviceException("this jar has no CUDA kernels (built without nvcc)");
        return new JCudaDevice(ordinal, image);
    }

    /** The driver calls of {@link CudaProbe} over JCuda (loading it may throw LinkageError). */
    static CudaProbe.Driver driverCalls() {
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
        };
    }

    private static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw new DeviceException(call + " failed: " + CUresult.stringFor(rc));
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
        if (f == null) throw new DeviceException("no kernel named " + kernel + " in the jar's modules");
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
    }

    @Override
    public StepGraph capture(Runnable body) {
        synchronize();
        check(cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        CUgraph graph = new CUgraph();
        try {
            body.run();
        } finally {
            check(cuStreamEndCapture(stream, graph), "cuStreamEndCapture");
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
            }

            @Override
            public void close() {
                if (closed) return;
                closed = true;
                synchronize();
                cuGraphExecDestroy(exec);
                cuGraphDestroy(graph);
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
        synchronize();
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
