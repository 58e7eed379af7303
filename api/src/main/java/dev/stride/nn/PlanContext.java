package dev.stride.nn;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.layers.ActivationLayer;
import java.util.List;

/**
 * What a layer is given when a network is planned: its inputs (tensors in the layouts the layers before chose),
 * its parameters and their gradients (plain), what the planner fused into it, and where to put what it
 * creates. Everything created through here belongs to the plan and is freed when the plan closes.
 *
 * <p>Not thread-safe: valid only during planning, on the planning thread.
 */
public final class PlanContext {

    private final Planner planner;
    private final Node node;
    private final List<Tensor> inputs;
    private final ActivationLayer fusedActivation;
    private final Node foldedBatchNorm;

    PlanContext(Planner planner, Node node, List<Tensor> inputs, ActivationLayer fusedActivation, Node foldedBatchNorm) {
        this.planner = planner;
        this.node = node;
        this.inputs = List.copyOf(inputs);
        this.fusedActivation = fusedActivation;
        this.foldedBatchNorm = foldedBatchNorm;
    }

    /** The layer's name, for primitive names and errors. */
    public String name() {
        return node.name();
    }

    public Node node() {
        return node;
    }

    public int batch() {
        return planner.batch;
    }

    public Mode mode() {
        return planner.mode;
    }

    public boolean training() {
        return planner.mode == Mode.TRAINING;
    }

    public PlanOptions options() {
        return planner.options;
    }

    /** Owns everything the layer creates for this plan. */
    public Scope scope() {
        return planner.scope;
    }

    public Stream stream() {
        return planner.stream;
    }

    /** The forward inputs, batch included, in the layouts their producers chose. */
    public List<Tensor> inputs() {
        return inputs;
    }

    public Tensor input() {
        return inputs.getFirst();
    }

    /** This layer's tensor {@code name} ({@code weight}, {@code running_mean}): plain, shared by all plans. */
    public Tensor tensor(String name) {
        return planner.network.tensor(node.name() + "." + name);
    }

    /** Whether this layer has a tensor called {@code name}. */
    public boolean hasTensor(String name) {
        return planner.network.tensors().containsKey(node.name() + "." + name);
    }

    /** The gradient of parameter {@code name}, or null when it is not trained (frozen layer, inference plan). */
    public Tensor grad(String name) {
        return training() ? planner.network.gradient(node.name() + "." + name) : null;
    }

    /**
     * Whether this layer's parameters are trained by this plan: a training plan, and the layer not frozen in
     * the builder nor by {@link Network#setFrozen} (the planner skips the same layers).
     */
    public boolean trainsParameters() {
        return training() && !planner.network.isFrozen(node) && node.parameterCount() > 0;
    }

    /**
     * The activation the planner fused into this layer (it applies it to its output and, in training,
     * differentiates through it), or null. Only offered to layers whose {@link Layer#fuses} accepted it.
     */
    public ActivationLayer fusedActivation() {
        return fusedActivation;
    }

    /**
     * For inference plans: the batch normalization that directly follows this convolution and must be folded
     * into its weights, or null. Read its tensors with {@link #tensorOf}.
     */
    public Node foldedBatchNorm() {
        return foldedBatchNorm;
    }

    /** Tensor {@code name} of another layer (the folded batch normalization). */
    public Tensor tensorOf(Node other, String name) {
        return planner.network.tensor(other.name() + "." + name);
    }

    /**
     * The layer's output buffer in layout {@code desc}. In inference plans with buffer reuse it may share memory
     * with activations that are dead by the time this layer runs.
     */
    public Tensor output(MemoryDesc desc) {
        return planner.activation(node, desc);
    }

    /** A buffer the layer keeps for the life of the plan (workspaces, saved statistics, reorder targets). */
    public Tensor buffer(String what, MemoryDesc desc) {
        return Tensor.allocate(planner.scope, node.name() + "." + what, desc);
    }

    /** A plain f32 descriptor owned by the plan. */
    public MemoryDesc plain(long... dims) {
        return MemoryDesc.plain(planner.scope, dims);
    }

    /** A step that executes {@code op} with arguments bound once. */
    public Runnable step(PrimitiveOp op, ExecArgs args) {
        Stream s = planner.stream;
        return () -> op.execute(s, args);
    }

    /** A step that copies {@code src} into {@code dst} (same dims, any two layouts). */
    public Runnable reorder(Tensor src, Tensor dst) {
        Reorder r = Reorder.create(planner.scope, src.desc(), dst.desc());
        planner.reorders++;
        return step(r, r.bind(planner.scope, src, dst));
    }

    /**
     * {@code t} itself when it already has {@code want}'s layout; otherwise a plan-owned buffer in that layout,
     * with the reorder that fills it appended to {@code steps}.
     */
    public Tensor inLayout(Tensor t, MemoryDesc want, List<Runnable> steps, String what) {
        if (t.desc().sameAs(want)) {
            return t;
        }
        Tensor b = buffer(what, want);
        steps.add(reorder(t, b));
        return b;
    }

    /**
     * Where a primitive that produces {@code want}'s layout should write so that the result ends up in
     * {@code target}: {@code target} itself when the layouts agree; otherwise a plan-owned buffer, with the
     * reorder into {@code target} appended to {@code after}.
     */
    public Tensor outLayout(Tensor target, MemoryDesc want, List<Runnable> after, String what) {
        if (target.desc().sameAs(want)) {
            return target;
        }
        Tensor b = buffer(what, want);
        after.add(reorder(b, target));
        return b;
    }

    /** Waits until the primitives issued so far have finished (before Java code reads their results). */
    public void await() {
        planner.stream.await();
    }
}
