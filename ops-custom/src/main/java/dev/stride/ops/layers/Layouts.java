package dev.stride.ops.layers;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Tensor;
import dev.stride.nn.PlanContext;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Plan-time helpers shared by the custom layers: plain copies of inputs, plain gradient targets, copies. */
final class Layouts {
    private Layouts() {}

    /**
     * {@code t} itself when it is plain row-major, else a plan-owned plain buffer filled by a reorder appended to
     * {@code steps}; the name of each reordered tensor goes to {@code reordered} for the plan's description.
     */
    static Tensor plainInput(PlanContext ctx, Tensor t, List<Runnable> steps, String what, List<String> reordered) {
        MemoryDesc want = t.desc().isPlain() ? t.desc() : t.desc().plainLike(ctx.scope());
        if (!want.sameAs(t.desc())) {
            reordered.add(what + " " + t.desc().layout());
        }
        return ctx.inLayout(t, want, steps, what + "_plain");
    }

    /**
     * Where a Java kernel writing plain {@code like}-shaped data should write so that the result lands in
     * {@code target} (an input gradient in that input's layout): {@code target} when it is plain, else a buffer
     * reordered into it by a step appended to {@code after}. Null when {@code target} is null.
     */
    static Tensor plainTarget(PlanContext ctx, Tensor target, MemoryDesc plain, List<Runnable> after, String what) {
        return target == null ? null : ctx.outLayout(target, plain, after, what + "_plain");
    }

    /**
     * A step copying {@code from} into {@code to} (same dims): a bulk copy when the layouts agree, a oneDNN
     * reorder when they do not.
     */
    static Runnable copy(PlanContext ctx, Tensor from, Tensor to) {
        if (from.desc().sameAs(to.desc())) {
            MemorySegment a = from.segment();
            MemorySegment b = to.segment();
            long bytes = from.desc().byteSize();
            return () -> MemorySegment.copy(a, 0, b, 0, bytes);
        }
        return ctx.reorder(from, to);
    }

    static String reorderText(List<String> reordered) {
        return reordered.isEmpty() ? "" : "; reorders to plain: " + String.join(", ", reordered);
    }
}
