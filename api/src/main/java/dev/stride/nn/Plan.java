package dev.stride.nn;

import dev.stride.core.Confinement;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A network planned for one batch size and mode: every primitive created and every buffer allocated once,
 * activations kept in the layouts oneDNN chose from layer to layer. Running it creates and allocates nothing.
 *
 * <p>Fill {@link #input()} (plain {@code N x C x H x W}), call {@link #forward()}, read {@link #output()}
 * (plain). In training plans, write the loss gradient into {@link #outputGradient()} and call
 * {@link #backward()}: every parameter gradient of the network is then overwritten with this batch's.
 *
 * <p>Not thread-safe; confined to one thread at a time: a thread that calls {@link #forward()} or
 * {@link #backward()} while another thread is inside gets an {@link IllegalStateException} naming both threads
 * (the plan's buffers hold one batch). Handing a plan to another thread between calls is fine. To run one
 * network on many threads, give each thread its own plan (plans of one {@link Network} share its weights), or
 * use a {@link PlanPool}. {@link #close()} from another thread waits for a running call to finish, then closes.
 */
public final class Plan implements AutoCloseable {

    record BackwardStep(Runnable accumulate, LayerOp op) {}

    record Backward(Tensor outputGrad, List<Runnable> start, List<BackwardStep> steps, List<Runnable> end,
            Tensor inputGrad) {}

    private final Network network;
    private final Scope scope;
    private final Stream stream;
    private final int batch;
    private final Mode mode;
    private final PlanOptions options;
    private final Tensor input;
    private final Tensor output;
    private final List<Planner.Group> groups;
    private final List<Runnable> finish;
    private final Backward backward;
    private final int reorders;
    private boolean forwardDone;
    private final Confinement confinement = new Confinement();
    private volatile boolean closed;

    Plan(Network network, Scope scope, Stream stream, int batch, Mode mode, PlanOptions options, Tensor input,
            Tensor output, List<Planner.Group> groups, List<Runnable> finish, Backward backward, int reorders) {
        this.network = network;
        this.scope = scope;
        this.stream = stream;
        this.batch = batch;
        this.mode = mode;
        this.options = options;
        this.input = input;
        this.output = output;
        this.groups = List.copyOf(groups);
        this.finish = List.copyOf(finish);
        this.backward = backward;
        this.reorders = reorders;
    }

    public int batch() {
        return batch;
    }

    public Mode mode() {
        return mode;
    }

    public PlanOptions options() {
        return options;
    }

    /** The network input, plain {@code N x C x H x W} f32: write a batch here before {@link #forward()}. */
    public Tensor input() {
        ensureOpen();
        return input;
    }

    /** The network output, plain; valid after {@link #forward()}. */
    public Tensor output() {
        ensureOpen();
        return output;
    }

    /** Runs every layer on {@link #input()}; returns {@link #output()} once it is ready. */
    public Tensor forward() {
        boolean entered = enter();
        try {
            for (Planner.Group g : groups) {
                g.op().forward();
            }
            for (Runnable r : finish) {
                r.run();
            }
            stream.await();
            forwardDone = true;
            return output;
        } finally {
            confinement.exit(entered);
        }
    }

    /** Where the caller writes the gradient of the loss with respect to {@link #output()} (plain). */
    public Tensor outputGradient() {
        return requireTraining().outputGrad();
    }

    /** The gradient with respect to the input, after {@link #backward()}; needs {@link PlanOptions#inputGradient()}. */
    public Tensor inputGradient() {
        Backward b = requireTraining();
        if (b.inputGrad() == null) {
            throw new IllegalStateException("this plan computes no input gradient; plan with PlanOptions.inputGradient(true)");
        }
        return b.inputGrad();
    }

    /** Back-propagates {@link #outputGradient()} through the last {@link #forward()}. */
    public void backward() {
        boolean entered = enter();
        try {
            Backward b = requireTraining();
            if (!forwardDone) {
                throw new IllegalStateException("backward() needs a forward() first");
            }
            for (Runnable r : b.start()) {
                r.run();
            }
            for (BackwardStep s : b.steps()) {
                if (s.accumulate() != null) {
                    s.accumulate().run();
                }
                s.op().backward();
            }
            for (Runnable r : b.end()) {
                r.run();
            }
            stream.await();
        } finally {
            confinement.exit(entered);
        }
    }

    private Backward requireTraining() {
        ensureOpen();
        if (backward == null) {
            throw new IllegalStateException("this plan is for " + mode.name().toLowerCase(java.util.Locale.ROOT)
                    + "; backward passes need a plan made with Mode.TRAINING");
        }
        return backward;
    }

    /** The scope that owns the plan's primitives and buffers (tests count its allocations). */
    public Scope scope() {
        return scope;
    }

    /** How many reorders the plan runs per forward/backward pass (layout changes between layers). */
    public int reorderCount() {
        return reorders;
    }

    /** One line per planned layer: what runs, what was fused into it, which layouts it uses. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Planner.Group g : groups) {
            out.add(g.primary().name() + g.fusion() + ": " + g.op().describe());
        }
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(scope.name() + " is closed");
        }
    }

    /** Claims the plan for this call; a plan being closed says so rather than naming the closing thread. */
    private boolean enter() {
        ensureOpen();
        try {
            return confinement.enter(scope.name());
        } catch (IllegalStateException e) {
            ensureOpen();
            throw e;
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Frees the plan's primitives and buffers. Safe from any thread: when another thread is inside
     * {@link #forward()} or {@link #backward()}, waits for that call to return first; calls that start once
     * close has begun get an {@link IllegalStateException} saying the plan is closed.
     */
    @Override
    public void close() {
        closed = true;
        boolean entered = confinement.enterWaiting();
        try {
            if (!scope.isClosed()) {
                scope.close();
            }
        } finally {
            confinement.exit(entered);
        }
        network.forget(this);
    }
}
