package hybridsam.cuda;

/** A captured sequence of launches (a CUDA graph on a GPU), replayed as one unit. */
public interface StepGraph extends AutoCloseable {

    /** Enqueues one replay. */
    void launch();

    @Override
    void close();
}
