package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay: PyTorch's
 * {@code torch.optim.SGD}.
 *
 * <p>For each parameter {@code p} with gradient {@code g}, at step {@code t}:
 * <pre>
 *   g = g + weight_decay * p                        (when weight_decay != 0 and p is not excluded)
 *   b = g                                           (t = 1)
 *   b = momentum * b + (1 - dampening) * g          (t > 1)
 *   d = g + momentum * b  (nesterov)   or   d = b   (otherwise; d = g when momentum = 0)
 *   p = p - lr * d
 * </pre>
 * The momentum buffer {@code b} is the state {@code <name>.momentum_buffer} (none when momentum is 0).
 *
 * <pre>{@code
 * Sgd sgd = Sgd.builder(0.05).momentum(0.9).nesterov(true).weightDecay(5e-4)
 *         .noWeightDecay(Optimizer::isBiasOrNorm).build(scope, network.parameters());
 * }</pre>
 *
 * <p>Not thread-safe: steps belong to the training thread, and no plan of the network may run meanwhile.
 */
public final class Sgd extends Optimizer {

    private final double momentum;
    private final double dampening;
    private final boolean nesterov;
    /** One per parameter, or null without momentum. */
    private final Tensor[] buffers;

    private Sgd(Scope scope, List<Parameter> parameters, Builder b) {
        super("SGD", scope, parameters, b.lr, b.weightDecay, b.noDecay);
        this.momentum = b.momentum;
        this.dampening = b.dampening;
        this.nesterov = b.nesterov;
        if (momentum != 0) {
            buffers = new Tensor[parameters.size()];
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = addState(i, "momentum_buffer");
            }
        } else {
            buffers = null;
        }
    }

    /** Settings with PyTorch's defaults (momentum 0, dampening 0, no Nesterov, no weight decay). */
    public static Builder builder(double lr) {
        return new Builder(lr);
    }

    public double momentum() {
        return momentum;
    }

    public double dampening() {
        return dampening;
    }

    public boolean nesterov() {
        return nesterov;
    }

    @Override
    void update(long t) {
        Kernels k = kernels;
        float negLr = (float) -learningRate();
        float wd = (float) weightDecay();
        float mom = (float) momentum;
        float keep = (float) (1 - dampening);
        List<Parameter> params = parameters();
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            MemorySegment value = values(p);
            MemorySegment grad = grads(p);
            long n = value.byteSize() / Float.BYTES;
            if (buffers == null) {
                k.sgd(value, grad, n, decays(i), wd, negLr);
            } else {
                // PyTorch starts the buffer as a copy of the first gradient: no dampening on step 1.
                k.sgdMomentum(value, grad, buffers[i].segment(), n, decays(i), wd, negLr, mom, keep, t == 1, nesterov);
            }
        }
    }

    @Override
    void describeSettings(StringBuilder s) {
        if (momentum != 0) {
            s.append(", momentum=").append(momentum);
        }
        if (dampening != 0) {
            s.append(", dampening=").append(dampening);
        }
        if (nesterov) {
            s.append(", nesterov=true");
        }
    }

    /** SGD settings; {@link #build} validates them. */
    public static final class Builder extends Optimizer.Builder<Builder> {
        private double momentum;
        private double dampening;
        private boolean nesterov;

        private Builder(double lr) {
            super(lr, 0);
        }

        @Override
        Builder self() {
            return this;
        }

        /** Momentum factor (default 0: plain SGD, no state). */
        public Builder momentum(double momentum) {
            this.momentum = momentum;
            return this;
        }

        /** Dampening of the gradient's contribution to the momentum buffer (default 0). */
        public Builder dampening(double dampening) {
            this.dampening = dampening;
            return this;
        }

        /** Nesterov momentum (default off); needs momentum > 0 and dampening 0. */
        public Builder nesterov(boolean nesterov) {
            this.nesterov = nesterov;
            return this;
        }

        /** Allocates the momentum buffers in a child of {@code scope}. */
        public Sgd build(Scope scope, List<Parameter> parameters) {
            checkNonNegative("SGD", "momentum", momentum);
            if (!(dampening >= 0 && dampening <= 1)) {
                throw new IllegalArgumentException("SGD: dampening must be in [0, 1], got " + dampening);
            }
            if (nesterov && (momentum <= 0 || dampening != 0)) {
                throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                        + momentum + " and dampening " + dampening);
            }
            return new Sgd(scope, parameters, this);
        }
    }
}
