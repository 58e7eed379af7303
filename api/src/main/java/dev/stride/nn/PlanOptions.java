package dev.stride.nn;

/**
 * How a network is planned. The defaults are what makes it fast; switching them off exists to check that the
 * optimised plan computes the same thing (and to measure what each optimisation is worth).
 *
 * @param fuse          conv/FC + bias + activation as one primitive (post-op), BN + ReLU with oneDNN's fused
 *                      flag
 * @param foldBatchNorm for inference, batch normalization folded into the preceding convolution's weights
 * @param reuseBuffers  buffers whose lifetimes do not overlap share memory (gradients in training,
 *                      activations in inference)
 * @param inputGradient also compute the gradient of the loss with respect to the network input
 *
 * <p>Immutable (a record of immutable values; arrays are copied or never changed), so safe to share between
 * threads.
 */
public record PlanOptions(boolean fuse, boolean foldBatchNorm, boolean reuseBuffers, boolean inputGradient) {

    /** Everything on, no input gradient. */
    public static PlanOptions defaults() {
        return new PlanOptions(true, true, true, false);
    }

    /** Every optimisation off: one primitive per layer, every buffer separate. */
    public static PlanOptions unoptimised() {
        return new PlanOptions(false, false, false, false);
    }

    public PlanOptions fuse(boolean f) {
        return new PlanOptions(f, foldBatchNorm, reuseBuffers, inputGradient);
    }

    public PlanOptions foldBatchNorm(boolean f) {
        return new PlanOptions(fuse, f, reuseBuffers, inputGradient);
    }

    public PlanOptions reuseBuffers(boolean r) {
        return new PlanOptions(fuse, foldBatchNorm, r, inputGradient);
    }

    public PlanOptions inputGradient(boolean g) {
        return new PlanOptions(fuse, foldBatchNorm, reuseBuffers, g);
    }
}
