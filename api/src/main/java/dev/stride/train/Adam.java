package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.List;

/**
 * Adam with bias correction and L2 weight decay: PyTorch's {@code torch.optim.Adam} (without amsgrad).
 *
 * <p>For each parameter {@code p} with gradient {@code g}, at step {@code t = 1, 2, ...}:
 * <pre>
 *   g = g + weight_decay * p                  (when weight_decay != 0 and p is not excluded)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * {@code m} and {@code v} are the states {@code <name>.exp_avg} and {@code <name>.exp_avg_sq}. For weight decay
 * that does not pass through the moments, use {@link AdamW}.
 *
 * <pre>{@code
 * Adam adam = Adam.builder().lr(1e-3).build(scope, network.parameters());
 * }</pre>
 *
 * <p>Not thread-safe: steps belong to the training thread, and no plan of the network may run meanwhile.
 */
public final class Adam extends Optimizer {

    private final Moments moments;

    private Adam(Scope scope, List<Parameter> parameters, Moments.Builder<?> b) {
        super("Adam", scope, parameters, b.lr, b.weightDecay, b.noDecay);
        this.moments = new Moments(this, b.beta1, b.beta2, b.eps, false);
    }

    /** Settings with PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
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

    /** Adam settings; {@link #build} validates them. */
    public static final class Builder extends Moments.Builder<Builder> {
        private Builder() {
            super(0);
        }

        @Override
        Builder self() {
            return this;
        }

        /** Allocates the moment buffers in a child of {@code scope}. */
        public Adam build(Scope scope, List<Parameter> parameters) {
            check("Adam");
            return new Adam(scope, parameters, this);
        }
    }

    /** The moment buffers and update shared by {@link Adam} and {@link AdamW}. */
    static final class Moments {
        final double beta1;
        final double beta2;
        final double eps;
        final boolean decoupled;
        final Tensor[] expAvg;
        final Tensor[] expAvgSq;

        Moments(Optimizer owner, double beta1, double beta2, double eps, boolean decoupled) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
            this.decoupled = decoupled;
            int n = owner.parameters().size();
            expAvg = new Tensor[n];
            expAvgSq = new Tensor[n];
            for (int i = 0; i < n; i++) {
                expAvg[i] = owner.addState(i, "exp_avg");
                expAvgSq[i] = owner.addState(i, "exp_avg_sq");
            }
        }

        void update(Optimizer o, long t) {
            Kernels k = o.kernels;
            double lr = o.learningRate();
            double wd = o.weightDecay();
            // Scalars as PyTorch computes them: in double, then used as f32 by the tensor kernels.
            double bc1 = 1 - Math.pow(beta1, t);
            double bc2 = 1 - Math.pow(beta2, t);
            float negStepSize = (float) -(lr / bc1);
            float invBc2Sqrt = (float) (1 / Math.sqrt(bc2));
            float b1 = (float) beta1;
            float keep1 = (float) (1 - beta1);
            float b2 = (float) beta2;
            float keep2 = (float) (1 - beta2);
            float e = (float) eps;
            float decay = (float) (1 - lr * wd);
            float l2 = (float) wd;
            List<Parameter> params = o.parameters();
            for (int i = 0; i < params.size(); i++) {
                Parameter p = params.get(i);
                var value = values(p);
                long n = value.byteSize() / Float.BYTES;
                boolean decays = o.decays(i);
                k.adam(value, grads(p), expAvg[i].segment(), expAvgSq[i].segment(), n, decoupled && decays, decay,
                        !decoupled && decays, l2, b1, keep1, b2, keep2, invBc2Sqrt, e, negStepSize);
            }
        }

        void describe(StringBuilder s) {
            if (beta1 != 0.9 || beta2 != 0.999) {
                s.append(", betas=(").append(beta1).append(", ").append(beta2).append(')');
            }
            if (eps != 1e-8) {
                s.append(", eps=").append(eps);
            }
        }

        /** Settings shared by Adam and AdamW. */
        abstract static class Builder<B extends Builder<B>> extends Optimizer.Builder<B> {
            double beta1 = 0.9;
            double beta2 = 0.999;
            double eps = 1e-8;

            Builder(double weightDecay) {
                super(1e-3, weightDecay);
            }

            /** Decay rates of the first and second moment averages (default 0.9, 0.999), each in [0, 1). */
            public B betas(double beta1, double beta2) {
                this.beta1 = beta1;
                this.beta2 = beta2;
                return self();
            }

            /** Added to the denominator for numerical stability (default 1e-8). */
            public B eps(double eps) {
                this.eps = eps;
                return self();
            }

            /** In {@code [0, 1)}, also as the f32 the kernels use: {@code 1 - 1e-9} rounds to 1 there. */
            private static void checkBeta(String kind, String what, double beta) {
                if (!(beta >= 0 && beta < 1)) {
                    throw new IllegalArgumentException(kind + ": " + what + " must be in [0, 1), got " + beta);
                }
                if (!((float) beta < 1)) {
                    throw new IllegalArgumentException(kind + ": " + what + " " + beta + " rounds to 1 in f32, the update's "
                            + "precision; use at most " + Math.nextDown(1f));
                }
            }

            void check(String kind) {
                checkBeta(kind, "beta1", beta1);
                checkBeta(kind, "beta2", beta2);
                checkNonNegative(kind, "eps", eps);
            }
        }
    }
}
