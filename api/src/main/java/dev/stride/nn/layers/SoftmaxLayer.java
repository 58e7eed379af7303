package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import dev.stride.softmax.Softmax;
import java.util.List;

/**
 * Softmax over the features of a sample (class scores to probabilities); see {@link Softmax}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record SoftmaxLayer() implements Layer {

    @Override
    public String kind() {
        return "softmax";
    }

    @Override
    public String settings() {
        return "";
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        if (in.getFirst().rank() != 1) {
            throw new IllegalArgumentException(name + ": softmax expects a feature vector (got " + in.getFirst()
                    + "); flatten or pool first");
        }
        return in.getFirst();
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return 3 * out.elements();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        var fwd = Softmax.Forward.create(ctx.scope(), ctx.name(), ctx.input().desc(),
                Softmax.Algorithm.ACCURATE, 1, ctx.mode().propKind());
        Tensor dst = ctx.output(fwd.dstDesc());
        Runnable forward = ctx.step(fwd, fwd.bind(ctx.scope(), ctx.input(), dst));
        return new SimpleOp(dst, forward, "softmax " + dst.desc().layout()) {
            @Override
            protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                var bwd = Softmax.Backward.create(ctx.scope(), ctx.name(), fwd);
                steps.add(ctx.step(bwd, bwd.bind(ctx.scope(), dst, diffOutput, diffInput)));
            }
        };
    }
}
