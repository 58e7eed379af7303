package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import java.util.ArrayList;
import java.util.List;

/**
 * A planned layer as two lists of steps, all bound at plan time (reorders, primitive executions, a custom op's
 * call): forward steps, and backward steps that write the inputs' and parameters' gradients. The built-in layers
 * and custom ones ({@code ops-custom}) build their {@link LayerOp} from it. Running the steps allocates nothing.
 */
public abstract class MultiOp implements LayerOp {
    private final Tensor output;
    private final List<Runnable> forward;
    private final String describe;
    private final List<Runnable> backward = new ArrayList<>();

    /**
     * @param output   the tensor {@code forward} writes
     * @param forward  the forward steps, run in order
     * @param describe the plan description's line for this layer
     */
    protected MultiOp(Tensor output, List<Runnable> forward, String describe) {
        this.output = output;
        this.forward = List.copyOf(forward);
        this.describe = describe;
    }

    /**
     * Appends to {@code steps} what computes the non-null {@code diffInputs} and the parameter gradients from
     * {@code diffOutput}.
     */
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
