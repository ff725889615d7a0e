package hybridsam.cuda;

/**
 * A device call failed; the message names the call and the driver's error. cudaCode is the
 * driver's CUresult where there is one (0 otherwise); {@link #isSticky()} tells the errors after
 * which the CUDA context is unusable (a fault in a kernel), so that a caller stops using the device.
 */
public class DeviceException extends RuntimeException {
    private final int cudaCode;

    public DeviceException(String message) {
        this(message, 0);
    }

    public DeviceException(String message, int cudaCode) {
        super(message);
        this.cudaCode = cudaCode;
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
        this.cudaCode = cause instanceof DeviceException d ? d.cudaCode : 0;
    }

    /** The driver's CUresult, or 0 when the failure did not come from a driver call. */
    public int cudaCode() {
        return cudaCode;
    }

    /**
     * Whether the context is lost: illegal address (700), launch failure (719), misaligned
     * address (716), illegal instruction (715), hardware stack error (714), invalid PC (718),
     * assert (710), launch timeout (702), ECC (214).
     */
    public boolean isSticky() {
        return switch (cudaCode) {
            case 700, 702, 710, 714, 715, 716, 718, 719, 214 -> true;
            default -> false;
        };
    }
}
