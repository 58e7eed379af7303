package dev.stride.nn.layers;

import dev.stride.conv.Convolution;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PostOps;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import java.util.ArrayList;
import java.util.List;

/**
 * Convolution layer (2D or 3D by its input): {@code K} filters of extent {@code F}; see {@link Convolution}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record ConvLayer(Convolution.Params params) implements Layer {

    private Convolution.Geometry geometry(String name, List<Shape> in) {
        Shape s = in.getFirst();
        if (s.rank() != 3 && s.rank() != 4) {
            throw new IllegalArgumentException(name + ": expected a C x H x W or C x D x H x W input (got " + s + ")");
        }
        return Convolution.Geometry.of(name, s.withBatch(1), params);
    }

    @Override
    public String kind() {
        return "conv";
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
    public List<Param> params(List<Shape> in) {
        Convolution.Geometry g = geometry("conv", in);
        List<Param> out = new ArrayList<>();
        long perFilter = g.weightsPerFilter();
        long span = perFilter / (g.src()[1] / g.groups());
        out.add(Param.learned("weight", g.weights(), Param.Init.HE_NORMAL, perFilter, params.filters() / g.groups() * span));
        if (g.bias() != null) {
            out.add(Param.learned("bias", g.bias(), Param.Init.ZEROS, perFilter, 1));
        }
        return out;
    }

    @Override
    public Window window(List<Shape> in) {
        Convolution.Geometry g = geometry("conv", in);
        int sp = g.spatialDims();
        long[] f = new long[sp];
        System.arraycopy(g.weights(), g.weights().length - sp, f, 0, sp);
        return Window.of(f, g.strides(), g.dilation());
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return geometry("conv", in).forwardFlops();
    }

    @Override
    public boolean fuses(ActivationLayer next, Mode mode) {
        return WeightedOp.canFuse(next, mode);
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        return new WeightedOp(ctx, new Family(ctx), "convolution");
    }

    /** Convolution's forward, backward data and backward weights as {@link WeightedOp} uses them. */
    private final class Family implements WeightedOp.Family {
        private final PlanContext ctx;
        private Convolution.Forward fwd;

        Family(PlanContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public WeightedOp.Prim forward(PostOps postOps, boolean withBias) {
            fwd = Convolution.Forward.create(ctx.scope(), ctx.name(), ctx.input().dims(), params.bias(withBias),
                    ctx.mode().propKind(), postOps);
            Convolution.Forward f = fwd;
            return prim(f, f.srcDesc(), f.weightsDesc(), f.dstDesc(), (s, a, b, c, d) -> f.bind(s, a, b, c, d));
        }

        @Override
        public WeightedOp.Prim backwardData() {
            Convolution.BackwardData p = Convolution.BackwardData.create(ctx.scope(), ctx.name(), fwd);
            return prim(p, p.diffDstDesc(), p.weightsDesc(), p.diffSrcDesc(), (s, a, b, c, d) -> p.bind(s, a, b, c));
        }

        @Override
        public WeightedOp.Prim backwardWeights() {
            Convolution.BackwardWeights p = Convolution.BackwardWeights.create(ctx.scope(), ctx.name(), fwd);
            return prim(p, p.srcDesc(), p.diffDstDesc(), p.diffWeightsDesc(), (s, a, b, c, d) -> p.bind(s, a, b, c, d));
        }
    }

    /** Binds a primitive's four tensors. */
    interface Binder {
        ExecArgs bind(Scope scope, Tensor a, Tensor b, Tensor c, Tensor d);
    }

    static WeightedOp.Prim prim(PrimitiveOp op, MemoryDesc a, MemoryDesc b, MemoryDesc c, Binder binder) {
        return new WeightedOp.Prim() {
            @Override
            public PrimitiveOp op() {
                return op;
            }

            @Override
            public MemoryDesc a() {
                return a;
            }

            @Override
            public MemoryDesc b() {
                return b;
            }

            @Override
            public MemoryDesc c() {
                return c;
            }

            @Override
            public ExecArgs bind(Scope scope, Tensor x, Tensor y, Tensor z, Tensor w) {
                return binder.bind(scope, x, y, z, w);
            }
        };
    }
}
