package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Updates a fixed list of {@link Parameter}s from their gradients, one {@link #step()} per batch.
 *
 * <p>An optimizer is built once for its parameters and allocates all of its state then (momentum buffers,
 * Adam's moments), zero-filled, in a child of the {@link Scope} it is given; {@link #step()} allocates
 * nothing, native or heap. Closing it (or its scope) frees the state; a closed optimizer throws
 * {@link IllegalStateException}. An optimizer is used by one thread at a time.
 *
 * <p>The update rules are PyTorch's ({@code torch.optim.SGD}, {@code Adam}, {@code AdamW}, single-tensor
 * path), in f32 like PyTorch's CPU kernels; the PyTorch goldens agree to 1e-6 relative after several steps. One
 * difference in form: PyTorch puts parameters excluded from weight decay in a second parameter group; here the
 * optimizer's {@link Builder#noWeightDecay} predicate picks them, and everything else (learning rate, betas,
 * ...) is shared. Per-parameter learning rates and amsgrad are not offered.
 *
 * <p>Checkpoints: {@link #state()} gives the state tensors by stable names ({@code conv1.weight.momentum_buffer},
 * {@code conv1.weight.exp_avg}, {@code conv1.weight.exp_avg_sq}) and {@link #stepCount()} the number of steps
 * taken. To resume, build the optimizer for the same parameters, copy the saved values into the tensors of
 * {@link #state()} and call {@link #setStepCount(long)}; the next step is then the one the saved run would have
 * taken.
 *
 * <p>Not thread-safe: steps belong to the training thread, and no plan of the network may run meanwhile (see
 * {@link dev.stride.nn.Network}).
 */
public abstract sealed class Optimizer implements AutoCloseable permits Sgd, Adam, AdamW {

    private final String kind;
    private final List<Parameter> parameters;
    private final boolean[] decayed;
    private final Scope stateScope;
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private final Map<String, Tensor> stateView = Collections.unmodifiableMap(state);
    /** The update loops and their scratch arrays; {@link #step()} is not thread-safe. */
    final Kernels kernels = new Kernels();
    private final double weightDecay;
    private double lr;
    private long stepCount;

    /**
     * @param kind        the optimizer's name in messages and in its state scope's name ({@code "SGD"})
     * @param scope       owner of the state
     * @param parameters  what to update, in order; names must be unique
     * @param lr          initial learning rate, {@code >= 0}
     * @param weightDecay L2 penalty or decoupled decay factor, {@code >= 0}
     * @param noDecay     parameters this selects get no weight decay
     */
    Optimizer(String kind, Scope scope, List<Parameter> parameters, double lr, double weightDecay,
            Predicate<? super Parameter> noDecay) {
        if (scope == null) {
            throw new IllegalArgumentException(kind + ": scope must not be null: the optimizer state needs an owner");
        }
        if (parameters == null || parameters.isEmpty()) {
            throw new IllegalArgumentException(kind + ": expected at least one parameter, got "
                    + (parameters == null ? "null" : "an empty list"));
        }
        checkLearningRate(kind, lr);
        checkNonNegative(kind, "weight decay", weightDecay);
        this.kind = kind;
        this.parameters = List.copyOf(parameters);
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.decayed = new boolean[this.parameters.size()];
        Set<String> names = new HashSet<>();
        for (int i = 0; i < decayed.length; i++) {
            Parameter p = this.parameters.get(i);
            if (!names.add(p.name())) {
                throw new IllegalArgumentException(kind + ": parameter names must be unique, '" + p.name()
                        + "' appears twice");
            }
            decayed[i] = weightDecay != 0 && (noDecay == null || !noDecay.test(p));
        }
        this.stateScope = scope.child(kind.toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Allocates one zero-filled state tensor named {@code <parameter>.<suffix>} shaped like the parameter, and
     * lists it in {@link #state()}. For constructors only.
     */
    final Tensor addState(int parameter, String suffix) {
        if (stepCount != 0 || stateScope.isClosed()) {
            throw new IllegalStateException(kind + ": state is allocated at construction only");
        }
        Parameter p = parameters.get(parameter);
        String name = p.name() + "." + suffix;
        Tensor t = Tensor.zeros(stateScope, name, p.value().dims());
        state.put(name, t);
        return t;
    }

    /**
     * Updates every parameter from its gradient, using the current {@link #learningRate()}, and counts the step.
     * Allocates nothing.
     */
    public final void step() {
        ensureOpen();
        long t = stepCount + 1;
        update(t);
        stepCount = t;
    }

    /**
     * One update of all parameters; {@code t} is the 1-based number of this step ({@code stepCount() + 1}).
     * Must not allocate native memory.
     */
    abstract void update(long t);

    /** The parameters, in the order given. */
    public final List<Parameter> parameters() {
        return parameters;
    }

    /** Whether weight decay applies to parameter {@code i} (false for all when the weight decay is 0). */
    public final boolean decays(int i) {
        return decayed[i];
    }

    /** The weight decay (L2 penalty for SGD and Adam, decoupled decay for AdamW). */
    public final double weightDecay() {
        return weightDecay;
    }

    public final double learningRate() {
        return lr;
    }

    /** Sets the learning rate for the next steps (a schedule calls this before each step). */
    public final void setLearningRate(double lr) {
        checkLearningRate(kind, lr);
        this.lr = lr;
    }

    /** Steps taken so far (PyTorch's {@code state['step']}). */
    public final long stepCount() {
        return stepCount;
    }

    /** Restores the step count when resuming from a checkpoint. */
    public final void setStepCount(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException(kind + ": step count must be >= 0, got " + steps);
        }
        this.stepCount = steps;
    }

    /**
     * The state tensors in a stable order (parameter order, then the optimizer's order of buffers), keyed by
     * {@code <parameter name>.<buffer>}; empty for plain SGD. The tensors are live: write saved values into them
     * to restore a checkpoint.
     */
    public final Map<String, Tensor> state() {
        ensureOpen();
        return stateView;
    }

    /** Native bytes of state. */
    public final long stateBytes() {
        return stateScope.isClosed() ? 0 : stateScope.liveBytes();
    }

    /**
     * The usual exclusion from weight decay: one-dimensional parameters, i.e. biases and the scale and shift of
     * batch and layer normalization. Use as {@code builder.noWeightDecay(Optimizer::isBiasOrNorm)}.
     */
    public static boolean isBiasOrNorm(Parameter p) {
        return p.value().dims().length <= 1;
    }

    public final boolean isClosed() {
        return stateScope.isClosed();
    }

    /** Frees the optimizer's state. Idempotent. */
    @Override
    public final void close() {
        stateScope.close();
    }

    final void ensureOpen() {
        if (stateScope.isClosed()) {
            throw new IllegalStateException(kind + " optimizer is closed (its state scope '" + stateScope.name()
                    + "' was closed)");
        }
    }

    /** The bytes of a parameter's value, checking that the network has not closed it. */
    static MemorySegment values(Parameter p) {
        return p.value().segment();
    }

    static MemorySegment grads(Parameter p) {
        return p.grad().segment();
    }

    static void checkLearningRate(String kind, double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(kind + ": learning rate must be a finite number >= 0, got " + lr);
        }
        checkFloat(kind, "learning rate", lr);
    }

    static void checkNonNegative(String kind, String what, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(kind + ": " + what + " must be a finite number >= 0, got " + value);
        }
        checkFloat(kind, what, value);
    }

    /**
     * The update kernels run in f32: a setting that overflows to infinity there, or a positive one that
     * underflows to 0 (which would silently switch it off), is refused rather than narrowed.
     */
    static void checkFloat(String kind, String what, double value) {
        float f = (float) value;
        if (Float.isInfinite(f) || (value != 0 && f == 0)) {
            throw new IllegalArgumentException(kind + ": " + what + " " + value + " is outside f32's range (it becomes "
                    + f + "); use a value between " + Float.MIN_NORMAL + " and " + Float.MAX_VALUE);
        }
    }

    /** Settings shared by every optimizer's builder. */
    public abstract static class Builder<B extends Builder<B>> {
        double lr;
        double weightDecay;
        Predicate<? super Parameter> noDecay = p -> false;

        Builder(double lr, double weightDecay) {
            this.lr = lr;
            this.weightDecay = weightDecay;
        }

        abstract B self();

        /** Learning rate. */
        public B lr(double lr) {
            this.lr = lr;
            return self();
        }

        /** Weight decay ({@code weight_decay}). */
        public B weightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return self();
        }

        /**
         * Parameters that get no weight decay, e.g. {@code Optimizer::isBiasOrNorm} or
         * {@code p -> p.name().endsWith(".bias")}. Default: none (PyTorch decays everything in a group).
         */
        public B noWeightDecay(Predicate<? super Parameter> exclude) {
            if (exclude == null) {
                throw new IllegalArgumentException("noWeightDecay: the predicate must not be null");
            }
            this.noDecay = exclude;
            return self();
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(kind).append("(lr=").append(lr);
        describeSettings(s);
        if (weightDecay != 0) {
            s.append(", weight_decay=").append(weightDecay);
            int excluded = 0;
            for (boolean d : decayed) {
                excluded += d ? 0 : 1;
            }
            if (excluded > 0) {
                s.append(" (not on ").append(excluded).append(" of ").append(decayed.length).append(" parameters)");
            }
        }
        return s.append(')').toString();
    }

    /** Appends {@code ", name=value"} for each setting that differs from PyTorch's default. */
    abstract void describeSettings(StringBuilder s);
}
