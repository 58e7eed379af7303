package dev.stride.train;

import dev.stride.core.Scope;
import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter, <a href="https://arxiv.org/abs/1711.05101">
 * Decoupled Weight Decay Regularization</a>): PyTorch's {@code torch.optim.AdamW} (without amsgrad).
 *
 * <p>For each parameter {@code p} with gradient {@code g}, at step {@code t = 1, 2, ...}:
 * <pre>
 *   p = p * (1 - lr * weight_decay)           (unless p is excluded from weight decay)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * {@code m} and {@code v} are the states {@code <name>.exp_avg} and {@code <name>.exp_avg_sq}. Note PyTorch's
 * default weight decay here is 0.01, not 0 as for {@link Adam}.
 *
 * <pre>{@code
 * AdamW adamw = AdamW.builder().lr(1e-3).weightDecay(0.05).noWeightDecay(Optimizer::isBiasOrNorm)
 *         .build(scope, network.parameters());
 * }</pre>
 *
 * <p>Not thread-safe: steps belong to the training thread, and no plan of the network may run meanwhile.
 */
public final class AdamW extends Optimizer {

    private final Adam.Moments moments;

    private AdamW(Scope scope, List<Parameter> parameters, Builder b) {
        super("AdamW", scope, parameters, b.lr, b.weightDecay, b.noDecay);
        this.moments = new Adam.Moments(this, b.beta1, b.beta2, b.eps, true);
    }

    /** Settings with PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static Builder builder() {
        return new Builder();
    }

    public double beta1() {
        return moments.beta1;
    }

    public double beta2() {
        return moments.beta2;
    }

    public double eps() {
        return moments.eps;
    }

    @Override
    void update(long t) {
        moments.update(this, t);
    }

    @Override
    void describeSettings(StringBuilder s) {
        moments.describe(s);
    }

    /** AdamW settings; {@link #build} validates them. */
    public static final class Builder extends Adam.Moments.Builder<Builder> {
        private Builder() {
            super(1e-2);
        }

        @Override
        Builder self() {
            return this;
        }

        /** Allocates the moment buffers in a child of {@code scope}. */
        public AdamW build(Scope scope, List<Parameter> parameters) {
            check("AdamW");
            return new AdamW(scope, parameters, this);
        }
    }
}
