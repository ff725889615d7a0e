package hybridsam.io;

/** An option or hyperparameter out of range; the message names the option. */
public class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
