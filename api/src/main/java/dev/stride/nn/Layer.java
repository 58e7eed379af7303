package dev.stride.nn;

import java.util.List;

/**
 * What every layer of a network tells the builder: its output shape for given input shapes (validating them,
 * with errors that name the layer and show the arithmetic), the tensors it owns, how its window looks at its
 * input (for the receptive field) and its cost. Built-in layers and the custom ops implement the same
 * interface.
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
}
