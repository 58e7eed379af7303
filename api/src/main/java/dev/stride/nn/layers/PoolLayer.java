package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import dev.stride.pool.Pooling;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Pooling layer: max, average, L2 or global; see {@link Pooling}. No parameters.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record PoolLayer(Pooling.Params params) implements Layer {

    private Pooling.Geometry geometry(String name, List<Shape> in) {
        Shape s = in.getFirst();
        if (s.rank() != 3 && s.rank() != 4) {
            throw new IllegalArgumentException(name + ": expected a C x H x W or C x D x H x W input (got " + s + ")");
        }
        return Pooling.Geometry.of(name, s.withBatch(1), params);
    }

    @Override
    public String kind() {
        String alg = switch (params.algorithm()) {
            case MAX -> "max";
            case AVG_INCLUDE_PADDING, AVG_EXCLUDE_PADDING -> "avg";
            case L2 -> "l2";
        };
        return (params.global() ? "global" : "") + alg + "pool";
    }

    @Override
    public String settings() {
        return params.toString();
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return Shape.ofBatched(geometry(name, in).dst());
    }

    @Override
    public Window window(List<Shape> in) {
        Pooling.Geometry g = geometry("pool", in);
        if (g.global()) {
            return Window.global(g.extent());
        }
        long[] ones = new long[g.extent().length];
        Arrays.fill(ones, 1);
        return Window.of(g.extent(), g.strides(), ones);
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return out.elements() * geometry("pool", in).windowSize();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        Pooling.Forward fwd = Pooling.Forward.create(ctx.scope(), ctx.name(), ctx.input().desc(), params,
                ctx.mode().propKind());
        Tensor dst = ctx.output(fwd.dstDesc());
        Tensor ws = fwd.hasWorkspace() ? ctx.buffer("workspace", fwd.workspaceDesc()) : null;
        Pooling.Bound args = fwd.bind(ctx.scope(), ctx.input(), dst, ws);
        var stream = ctx.stream();
        String text = kind() + " " + dst.desc().layout();
        return new SimpleOp(dst, () -> fwd.execute(stream, args), text) {
            @Override
            protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                Pooling.Backward bwd = Pooling.Backward.create(ctx.scope(), ctx.name(), fwd);
                Tensor dd = ctx.inLayout(diffOutput, bwd.diffDstDesc(), steps, "diff_dst");
                List<Runnable> after = new ArrayList<>();
                Tensor ds = ctx.outLayout(diffInput, bwd.diffSrcDesc(), after, "diff_src");
                Pooling.Bound b = bwd.bind(ctx.scope(), args, dd, ds);
                steps.add(() -> bwd.execute(stream, b));
                steps.addAll(after);
            }
        };
    }
}
