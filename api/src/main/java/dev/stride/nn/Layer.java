package dev.stride.nn;

import dev.stride.nn.layers.ActivationLayer;
import java.util.List;

/**
 * What every layer of a network tells the builder: its output shape for given input shapes (validating them,
 * with errors that name the layer and show the arithmetic), the tensors it owns, how its window looks at its
 * input (for the receptive field) and its cost. Built-in layers and the custom ops implement the same
 * interface.
 *
 * <p>Implementations are immutable descriptions (records), safe to share between networks and threads; {@link
 * #plan} runs on the thread that plans.
 */
public interface Layer {

    /** Short kind for summaries and default names: {@code conv}, {@code pool}, {@code fc}, ... */
    String kind();

    /** Non-default settings, PyTorch's {@code extra_repr}: {@code K=32, F=5, padding=same}. */
    String settings();

    /** How many inputs the layer takes (most take one; {@code add} and {@code concat} take several). */
    default int arity() {
        return 1;
    }

    /** Output shape for these inputs; throws {@link IllegalArgumentException} naming {@code name} when invalid. */
    Shape outputShape(String name, List<Shape> inputs);

    /** The tensors this layer owns for these inputs. */
    default List<Param> params(List<Shape> inputs) {
        return List.of();
    }

    /** Its window over the (first) input, for the receptive field. */
    default Window window(List<Shape> inputs) {
        return Window.pointwise(inputs.getFirst().spatialDims());
    }

    /** Forward FLOPs for one sample (multiply-adds count two). */
    default long flops(List<Shape> inputs, Shape output) {
        return 0;
    }

    /**
     * Creates this layer's primitives and buffers for one plan (a batch size and a mode), once. The returned
     * op runs the forward and backward passes without creating or allocating anything.
     */
    LayerOp plan(PlanContext ctx);

    /**
     * Whether this layer can apply {@code next}, the activation that alone consumes its output, as part of its
     * own primitive (a post-op or fused flag) in plans of {@code mode}. The planner then hands it over as
     * {@link PlanContext#fusedActivation()}.
     */
    default boolean fuses(ActivationLayer next, Mode mode) {
        return false;
    }
}
