package hybridsam.cuda;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The kernels of native-kernels/*.cu compiled as host C++ and run through the driver API's
 * shape (see native-kernels/emu). Launches run synchronously; a captured graph is the recorded
 * list of launches, replayed with the argument buffers packed at capture time, as a CUDA graph
 * fixes its kernel parameters.
 */
public final class EmulatedDevice implements Device {
    private final Set<String> kernels;
    private final Map<DeviceBuffer, Boolean> live = new IdentityHashMap<>();
    private List<Runnable> recording;
    private long peakBytes, liveBytes;

    private EmulatedDevice() {
        kernels = new TreeSet<>(List.of(EmulatedNative.kernelNames()));
    }

    /** Why the emulation library cannot be used, or null when it can. */
    public static String unavailableReason() {
        return EmulatedNative.load();
    }

    public static EmulatedDevice open() {
        String why = EmulatedNative.load();
        if (why != null) throw new DeviceException("emulated CUDA device unavailable: " + why);
        return new EmulatedDevice();
    }

    @Override
    public String describe() {
        return "emulated CUDA device (host C++ build of the kernels)";
    }

    @Override
    public Set<String> kernels() {
        return kernels;
    }

    /** Buffers allocated and not yet freed (for leak checks). */
    public synchronized int liveBuffers() {
        return live.size();
    }

    public synchronized long peakBytes() {
        return peakBytes;
    }

    @Override
    public synchronized DeviceBuffer alloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation of " + bytes + " bytes");
        long a = EmulatedNative.alloc(bytes);
        if (a == 0) throw new DeviceOutOfMemoryException(bytes, 0, 0);
        DeviceBuffer b = new DeviceBuffer(this, a, bytes, null);
        live.put(b, Boolean.TRUE);
        liveBytes += bytes;
        peakBytes = Math.max(peakBytes, liveBytes);
        return b;
    }

    @Override
    public synchronized void free(DeviceBuffer buffer) {
        if (live.remove(buffer) != null) {
            liveBytes -= buffer.bytes();
            EmulatedNative.free(buffer.rawAddress());
        }
    }

    private void noCapture(String what) {
        if (recording != null) throw new IllegalStateException(what + " inside a graph capture");
    }

    @Override
    public void upload(DeviceBuffer dst, float[] src) {
        noCapture("upload");
        dst.checkFits(4L * src.length);
        EmulatedNative.putFloats(dst.address(), src, 0, src.length);
    }

    @Override
    public void upload(DeviceBuffer dst, int[] src) {
        noCapture("upload");
        dst.checkFits(4L * src.length);
        EmulatedNative.putInts(dst.address(), src, 0, src.length);
    }

    @Override
    public void upload(DeviceBuffer dst, double[] src) {
        noCapture("upload");
        dst.checkFits(8L * src.length);
        EmulatedNative.putDoubles(dst.address(), src, 0, src.length);
    }

    @Override
    public void download(DeviceBuffer src, float[] dst) {
        noCapture("download");
        src.checkFits(4L * dst.length);
        EmulatedNative.getFloats(src.address(), dst, 0, dst.length);
    }

    @Override
    public void download(DeviceBuffer src, int[] dst) {
        noCapture("download");
        src.checkFits(4L * dst.length);
        EmulatedNative.getInts(src.address(), dst, 0, dst.length);
    }

    @Override
    public void download(DeviceBuffer src, double[] dst) {
        noCapture("download");
        src.checkFits(8L * dst.length);
        EmulatedNative.getDoubles(src.address(), dst, 0, dst.length);
    }

    @Override
    public void zero(DeviceBuffer buffer) {
        noCapture("memset");
        EmulatedNative.memsetZero(buffer.address(), buffer.bytes());
    }

    @Override
    public void copy(DeviceBuffer dst, DeviceBuffer src, long bytes) {
        noCapture("copy");
        dst.checkFits(bytes);
        src.checkFits(bytes);
        EmulatedNative.copyDeviceToDevice(dst.address(), src.address(), bytes);
    }

    @Override
    public void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, KernelArgs args) {
        byte[] packed = args.packed();
        String sig = args.signature();
        Runnable run = () -> EmulatedNative.launch(kernel, gx, gy, gz, bx, by, bz, sharedBytes, packed, sig);
        if (recording != null) recording.add(run);
        else run.run();
    }

    @Override
    public StepGraph capture(Runnable body) {
        if (recording != null) throw new IllegalStateException("nested graph capture");
        recording = new ArrayList<>();
        List<Runnable> launches;
        try {
            body.run();
        } finally {
            launches = List.copyOf(recording);
            recording = null;
        }
        return new StepGraph() {
            private boolean closed;

            @Override
            public void launch() {
                if (closed) throw new IllegalStateException("graph replayed after close");
                for (Runnable r : launches) r.run();
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    @Override
    public void synchronize() {
    }

    @Override
    public synchronized void close() {
        for (DeviceBuffer b : new ArrayList<>(live.keySet())) b.close();
    }
}
