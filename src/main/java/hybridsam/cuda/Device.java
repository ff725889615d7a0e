package hybridsam.cuda;

import java.util.Set;

/**
 * What the CUDA training engine needs from a device, in the driver API's shape: linear memory,
 * copies, kernel launches by name with a packed argument list, and capture of a sequence of
 * launches as a graph replayed later. Implemented over JCuda's driver API ({@link JCudaDevice})
 * and over the host emulation of the same kernel sources ({@link EmulatedDevice}); the engine's
 * code is the same for both.
 */
public interface Device extends AutoCloseable {

    /** The device, in words (for results files and `hybridsam devices`). */
    String describe();

    /** Kernel names this device can launch. */
    Set<String> kernels();

    /** Uninitialised device memory; throws {@link DeviceOutOfMemoryException} when there is none. */
    DeviceBuffer alloc(long bytes);

    /** Releases a buffer's memory; called by {@link DeviceBuffer#close()}. */
    void free(DeviceBuffer buffer);

    void upload(DeviceBuffer dst, float[] src);

    void upload(DeviceBuffer dst, int[] src);

    void upload(DeviceBuffer dst, double[] src);

    void download(DeviceBuffer src, float[] dst);

    void download(DeviceBuffer src, int[] dst);

    void download(DeviceBuffer src, double[] dst);

    void zero(DeviceBuffer buffer);

    void copy(DeviceBuffer dst, DeviceBuffer src, long bytes);

    /** Launches (enqueues) a kernel; grid and block as in cuLaunchKernel. */
    void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, KernelArgs args);

    /**
     * Records the launches body makes, without running them, as a graph to replay. Nothing in
     * body may copy memory or read results.
     */
    StepGraph capture(Runnable body);

    /** Waits for everything enqueued. */
    void synchronize();

    /** Milliseconds work takes on the device (CUDA events where there are any). */
    default double elapsedMillis(Runnable work) {
        synchronize();
        long t0 = System.nanoTime();
        work.run();
        synchronize();
        return (System.nanoTime() - t0) / 1e6;
    }

    @Override
    void close();
}
