package hybridsam.cuda;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Owns device buffers and graphs: whatever it allocated is released when it closes, newest
 * first, so a failure half way through setting up a run leaks nothing.
 */
public final class DeviceScope implements AutoCloseable {
    private final Device device;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    public DeviceScope(Device device) {
        this.device = device;
    }

    public Device device() {
        return device;
    }

    public DeviceBuffer floats(long n) {
        return alloc(4 * n);
    }

    public DeviceBuffer ints(long n) {
        return alloc(4 * n);
    }

    public DeviceBuffer doubles(long n) {
        return alloc(8 * n);
    }

    public DeviceBuffer alloc(long bytes) {
        DeviceBuffer b = device.alloc(Math.max(bytes, 4));
        owned.push(b);
        return b;
    }

    public <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                if (first == null) first = new DeviceException("releasing device resources failed: " + e.getMessage(), e);
            }
        }
        if (first != null) throw first;
    }
}
