package dev.stride.ops.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import java.util.ArrayList;
import java.util.List;

/**
 * A planned custom layer: forward steps and backward steps, all bound at plan time (reorders, the op's call).
 * Nothing here allocates; the steps only run what {@code plan()} created.
 */
abstract class StepsOp implements LayerOp {

    private final Tensor output;
    private final List<Runnable> forward;
    private final String describe;
    private final List<Runnable> backward = new ArrayList<>();

    StepsOp(Tensor output, List<Runnable> forward, String describe) {
        this.output = output;
        this.forward = List.copyOf(forward);
        this.describe = describe;
    }

    /** Appends to {@code steps} what computes the non-null {@code diffInputs} and the parameter gradients. */
    abstract void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps);

    @Override
    public final Tensor output() {
        return output;
    }

    @Override
    public final void forward() {
        for (Runnable r : forward) {
            r.run();
        }
    }

    @Override
    public final void planBackward(Tensor diffOutput, List<Tensor> diffInputs) {
        planBackward(diffOutput, diffInputs, backward);
    }

    @Override
    public final void backward() {
        for (Runnable r : backward) {
            r.run();
        }
    }

    @Override
    public String describe() {
        return describe;
    }
}
