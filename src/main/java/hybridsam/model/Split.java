package hybridsam.model;

/**
 * One split (train, valid or test) of a data set: samples that a minibatch indexes by number.
 * The ODE tasks' split is {@link Sequences}; tasks with exogenous inputs or images have their own.
 */
public interface Split {

    /** Samples in the split (sequences, or images): what minibatch indices run over. */
    int count();
}
