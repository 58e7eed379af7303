package dev.stride.train;

import dev.stride.core.Tensor;

/**
 * A learnable tensor and its gradient, as an optimizer sees them: both plain f32 with identical dims; the
 * gradient is that of the mean batch loss and is overwritten by each backward pass.
 *
 * @param name  the qualified name, {@code conv1.weight}
 * @param value the parameter
 * @param grad  its gradient
 */
public record Parameter(String name, Tensor value, Tensor grad) {

    public long elements() {
        return value.segment().byteSize() / Float.BYTES;
    }
}
