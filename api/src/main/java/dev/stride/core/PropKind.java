package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;

/**
 * Whether a forward pass keeps what training's backward pass needs, or only computes the output.
 *
 * <p>Immutable: an enum of constants.
 */
public enum PropKind {
    TRAINING,
    INFERENCE;

    /** The {@code dnnl_prop_kind_t} value. */
    public int value() {
        return this == TRAINING ? dnnl_h.dnnl_forward_training() : dnnl_h.dnnl_forward_inference();
    }
}
