package hybridsam.cuda;

/**
 * A block of device memory. Closing it frees it once; a {@link DeviceScope} closes the buffers
 * it owns. handle is the backend's own pointer object (JCuda's CUdeviceptr); address is the raw
 * device address where the backend exposes one (the emulator; 0 under JCuda).
 */
public final class DeviceBuffer implements AutoCloseable {
    private final Device device;
    private final long address;
    private final long bytes;
    private final Object handle;
    private boolean closed;

    DeviceBuffer(Device device, long address, long bytes, Object handle) {
        this.device = device;
        this.address = address;
        this.bytes = bytes;
        this.handle = handle;
    }

    public long address() {
        checkOpen();
        return address;
    }

    public long bytes() {
        return bytes;
    }

    /** The address and handle for the device's own free, valid while closing. */
    long rawAddress() {
        return address;
    }

    Object rawHandle() {
        return handle;
    }

    Object handle() {
        checkOpen();
        return handle;
    }

    public boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) throw new IllegalStateException("device buffer of " + bytes + " bytes used after it was freed");
    }

    void checkFits(long needBytes) {
        checkOpen();
        if (needBytes > bytes) {
            throw new IllegalArgumentException("copy of " + needBytes + " bytes into a buffer of " + bytes);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.free(this);
    }
}
