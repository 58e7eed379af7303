package dev.stride.nn.layers;

import dev.stride.linear.InnerProduct;
import dev.stride.core.PostOps;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Fully connected layer over the flattened sample: {@code y = W x + b}; see {@link InnerProduct}. Weights are
 * held with the input's trailing dims ({@code OUT x C x H x W}), which is PyTorch's {@code OUT x C*H*W}
 * matrix byte for byte.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record DenseLayer(long outFeatures, boolean bias) implements Layer {

    @Override
    public String kind() {
        return "fc";
    }

    @Override
    public String settings() {
        return outFeatures + (bias ? "" : ", bias=false");
    }

    private InnerProduct.Geometry geometry(String name, List<Shape> in) {
        return InnerProduct.Geometry.of(name, in.getFirst().withBatch(1), outFeatures, bias);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return Shape.of(geometry(name, in).outFeatures());
    }

    @Override
    public List<Param> params(List<Shape> in) {
        InnerProduct.Geometry g = geometry("fc", in);
        List<Param> out = new ArrayList<>();
        out.add(Param.learned("weight", g.weights(), Param.Init.HE_NORMAL, g.inFeatures(), outFeatures));
        if (bias) {
            out.add(Param.learned("bias", g.bias(), Param.Init.ZEROS, g.inFeatures(), 1));
        }
        return out;
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return geometry("fc", in).forwardFlops();
    }

    @Override
    public boolean fuses(ActivationLayer next, Mode mode) {
        return WeightedOp.canFuse(next, mode);
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        return new WeightedOp(ctx, new Family(ctx), "inner product");
    }

    /** Inner product's forward, backward data and backward weights as {@link WeightedOp} uses them. */
    private final class Family implements WeightedOp.Family {
        private final PlanContext ctx;
        private InnerProduct.Forward fwd;

        Family(PlanContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public WeightedOp.Prim forward(PostOps postOps, boolean withBias) {
            fwd = InnerProduct.Forward.create(ctx.scope(), ctx.name(), ctx.input().dims(), outFeatures, withBias,
                    ctx.mode().propKind(), postOps);
            InnerProduct.Forward f = fwd;
            return ConvLayer.prim(f, f.srcDesc(), f.weightsDesc(), f.dstDesc(), (s, a, b, c, d) -> f.bind(s, a, b, c, d));
        }

        @Override
        public WeightedOp.Prim backwardData() {
            InnerProduct.BackwardData p = InnerProduct.BackwardData.create(ctx.scope(), ctx.name(), fwd);
            return ConvLayer.prim(p, p.diffDstDesc(), p.weightsDesc(), p.diffSrcDesc(), (s, a, b, c, d) -> p.bind(s, a, b, c));
        }

        @Override
        public WeightedOp.Prim backwardWeights() {
            InnerProduct.BackwardWeights p = InnerProduct.BackwardWeights.create(ctx.scope(), ctx.name(), fwd);
            return ConvLayer.prim(p, p.srcDesc(), p.diffDstDesc(), p.diffWeightsDesc(), (s, a, b, c, d) -> p.bind(s, a, b, c, d));
        }
    }
}
