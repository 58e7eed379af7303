package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/**
 * An element-wise activation, {@code y = f(x; alpha, beta)}; see {@link Eltwise}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record ActivationLayer(Eltwise.Algorithm algorithm, float alpha, float beta) implements Layer {

    public static ActivationLayer relu() {
        return new ActivationLayer(Eltwise.Algorithm.RELU, 0, 0);
    }

    @Override
    public String kind() {
        return algorithm == Eltwise.Algorithm.RELU && alpha != 0 ? "leakyrelu" : algorithm.label();
    }

    @Override
    public String settings() {
        return alpha == 0 && beta == 0 ? "" : "alpha=" + alpha + (beta == 0 ? "" : ", beta=" + beta);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return in.getFirst();
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return out.elements();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        Eltwise.Forward fwd = Eltwise.Forward.create(ctx.scope(), ctx.name(), ctx.input().desc(), algorithm, alpha, beta,
                ctx.mode().propKind());
        Tensor src = ctx.input();
        Tensor dst = ctx.output(fwd.dstDesc());
        Runnable forward = ctx.step(fwd, fwd.bind(ctx.scope(), src, dst));
        String text = "eltwise " + kind() + " " + dst.desc().layout();
        return new SimpleOp(dst, forward, text) {
            @Override
            protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                Eltwise.Backward bwd = Eltwise.Backward.create(ctx.scope(), ctx.name(), fwd);
                Tensor data = bwd.usesDst() ? dst : src;
                steps.add(ctx.step(bwd, bwd.bind(ctx.scope(), data, diffOutput, diffInput)));
            }
        };
    }
}
