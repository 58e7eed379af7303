package dev.stride.train;

import dev.stride.core.DataType;
import dev.stride.core.Tensor;
import java.util.Arrays;

/**
 * A learnable tensor and its gradient, as the network hands them to an {@link Optimizer}.
 *
 * <p>Both are plain-layout f32 tensors of identical dims. The network owns them; each backward pass
 * overwrites {@code grad} with the gradient of the mean batch loss, and {@link Optimizer#step()} updates
 * {@code value} from it in place.
 *
 * @param name  the parameter's full name, unique within a network ({@code conv1.weight}, {@code fc2.bias});
 *              optimizer state is named after it
 * @param value the parameter's values
 * @param grad  its gradient, same dims as {@code value}
 *
 * <p>Immutable (the tensors it names are the network's; their contract is the network's).
 */
public record Parameter(String name, Tensor value, Tensor grad) {

    public Parameter {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("parameter name must be a non-empty string, got "
                    + (name == null ? "null" : "''"));
        }
        if (value == null || grad == null) {
            throw new IllegalArgumentException("parameter '" + name + "': value and grad must both be tensors, got value="
                    + value + ", grad=" + grad);
        }
        requirePlainF32(name, "value", value);
        requirePlainF32(name, "grad", grad);
        if (!Arrays.equals(value.dims(), grad.dims())) {
            throw new IllegalArgumentException("parameter '" + name + "': grad dims " + Arrays.toString(grad.dims())
                    + " differ from value dims " + Arrays.toString(value.dims()));
        }
        if (value.segment().address() == grad.segment().address()) {
            throw new IllegalArgumentException("parameter '" + name + "': value and grad share memory ('"
                    + value.name() + "' and '" + grad.name() + "')");
        }
    }

    private static void requirePlainF32(String name, String role, Tensor t) {
        var desc = t.desc();
        if (desc.dataType() != DataType.F32 || !desc.isPlain()) {
            throw new IllegalArgumentException("parameter '" + name + "': " + role + " must be a plain f32 tensor, got "
                    + desc.shapeString());
        }
    }

    /** Number of elements ({@code value} and {@code grad} each hold this many floats). */
    public long elements() {
        return value.desc().elements();
    }
}
