package hybridsam.io;

/**
 * A user-facing "your input is wrong" error. Unlike an IOException it is meant to be shown to the
 * user as-is, so messages always name the file (full path) and the field/array/index at fault.
 */
public class DataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
