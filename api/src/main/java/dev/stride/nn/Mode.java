package dev.stride.nn;

import dev.stride.core.PropKind;

/**
 * What a plan is for: training (batch statistics, dropout, a backward pass) or inference.
 *
 * <p>Immutable: an enum of constants.
 */
public enum Mode {
    TRAINING(PropKind.TRAINING),
    INFERENCE(PropKind.INFERENCE);

    private final PropKind propKind;

    Mode(PropKind propKind) {
        this.propKind = propKind;
    }

    /** The oneDNN propagation kind the primitives of such a plan are created with. */
    public PropKind propKind() {
        return propKind;
    }
}
