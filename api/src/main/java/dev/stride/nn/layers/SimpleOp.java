package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import java.util.List;

/** A one-input layer op: a forward step, and backward steps that write the input's gradient. */
abstract class SimpleOp extends MultiOp {

    SimpleOp(Tensor output, Runnable forward, String describe) {
        super(output, List.of(forward), describe);
    }

    /** Appends to {@code steps} what computes {@code diffInput} from {@code diffOutput}. */
    protected abstract void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps);

    @Override
    protected final void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
        if (diffInputs.getFirst() != null) {
            planBackward(diffOutput, diffInputs.getFirst(), steps);
        }
    }
}
