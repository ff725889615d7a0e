package hybridsam.cuda;

/** The device had no room for an allocation: says how much was asked for and what to change. */
public final class DeviceOutOfMemoryException extends DeviceException {
    private final long requested;

    public DeviceOutOfMemoryException(long requested, long free, long total) {
        super(String.format(java.util.Locale.ROOT,
                "GPU out of memory: requested %,d bytes (%.1f MiB)%s; try a smaller --batch or fewer --replicas",
                requested, requested / 1048576.0,
                total > 0 ? String.format(java.util.Locale.ROOT, " with %.1f of %.1f MiB free", free / 1048576.0, total / 1048576.0) : ""));
        this.requested = requested;
    }

    public long requested() {
        return requested;
    }
}
