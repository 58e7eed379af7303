package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import java.util.ArrayList;
import java.util.List;

/** A layer op of several inputs: forward steps, and backward steps that write the inputs' gradients. */
abstract class MultiOp implements LayerOp {
    private final Tensor output;
    private final List<Runnable> forward;
    private final String describe;
    private final List<Runnable> backward = new ArrayList<>();

    MultiOp(Tensor output, List<Runnable> forward, String describe) {
        this.output = output;
        this.forward = List.copyOf(forward);
        this.describe = describe;
    }

    /** Appends to {@code steps} what computes the non-null {@code diffInputs} from {@code diffOutput}. */
    protected abstract void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps);

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
    public void planBackward(Tensor diffOutput, List<Tensor> diffInputs) {
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
