package dev.stride.nn;

import dev.stride.core.Tensor;
import java.util.List;

/**
 * One layer of a planned network: its primitives and buffers, created once by {@link Layer#plan}, and the two
 * passes that run them. Nothing here allocates native memory or creates a primitive after planning.
 *
 * <p>Not thread-safe: it runs inside its {@link Plan}, which admits one thread at a time.
 */
public interface LayerOp {

    /** Where {@link #forward} writes the layer's result; its layout is the one this layer chose. */
    Tensor output();

    /** Computes {@link #output()} from the inputs the {@link PlanContext} handed over. */
    void forward();

    /**
     * Prepares the backward pass (training plans only): {@code diffOutput} has {@link #output()}'s layout;
     * {@code diffInputs.get(i)} has input {@code i}'s layout, or is null when nobody needs that gradient.
     * {@link #backward} overwrites the input gradients and this layer's parameter gradients.
     */
    void planBackward(Tensor diffOutput, List<Tensor> diffInputs);

    /** Runs the pass prepared by {@link #planBackward}. */
    void backward();

    /** One line for the plan's description: the primitives chosen, fusions and reorders. */
    String describe();
}
