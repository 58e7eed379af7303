package dev.stride.nn.layers;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Flattens a sample to a feature vector ({@code C x H x W -> C*H*W}); a view, no computation.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record FlattenLayer() implements Layer {

    @Override
    public String kind() {
        return "flatten";
    }

    @Override
    public String settings() {
        return "";
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return Shape.of(in.getFirst().elements());
    }

    /**
     * A view when the input is plain; otherwise one reorder to plain first (a blocked layout does not keep a
     * sample's features in {@code C x H x W} order).
     */
    @Override
    public LayerOp plan(PlanContext ctx) {
        Tensor in = ctx.input();
        long[] d = in.dims();
        long features = 1;
        for (int i = 1; i < d.length; i++) {
            features *= d[i];
        }
        List<Runnable> before = new ArrayList<>();
        Tensor plain = ctx.inLayout(in, in.desc().plainLike(ctx.scope()), before, "plain");
        MemoryDesc flat = ctx.plain(d[0], features);
        Tensor out = Tensor.wrap(ctx.scope(), ctx.name() + ".out", flat, plain.segment());
        Runnable forward = () -> before.forEach(Runnable::run);
        String text = before.isEmpty() ? "view" : "reorder " + in.desc().layout() + " -> plain";
        return new SimpleOp(out, forward, text) {
            @Override
            protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                Tensor asInput = Tensor.wrap(ctx.scope(), ctx.name() + ".grad_view", in.desc().plainLike(ctx.scope()),
                        diffOutput.segment());
                steps.add(ctx.reorder(asInput, diffInput));
            }
        };
    }
}
