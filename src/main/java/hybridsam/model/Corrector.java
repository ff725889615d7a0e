package hybridsam.model;

import java.util.SplittableRandom;

/**
 * The neural part φ of an ODE-additive hybrid: a network from the state to a state derivative,
 * described by its shape; each backend runs it its own way. Its weights sit in one flat segment
 * of the parameter vector, after θ.
 */
public sealed interface Corrector permits MlpShape, ConvShape {

    /** Values in and out: the state dimension of the model it corrects. */
    int inputs();

    int outputs();

    int parameterCount();

    /** Activations kept per sample and evaluation for the backward pass. */
    int hiddenUnits();

    Activation activation();

    /** PyTorch's default initialization: weights and biases uniform in ±1/sqrt(fan_in). */
    void initialize(float[] params, int off, SplittableRandom rng);

    /** FLOPs of one forward evaluation for one sample (multiply-adds count 2). */
    long forwardFlops();

    /** In words, for results files: "2-64-64-2 tanh", "conv3x3 2-16-16-2 leaky_relu on 32x32". */
    String describe();
}
