package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import dev.stride.norm.LayerNorm;
import java.util.ArrayList;
import java.util.List;

/**
 * Layer normalization over the last dimension, with learned {@code weight} and {@code bias}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record LayerNormLayer(LayerNorm.Params params) implements Layer {

    @Override
    public String kind() {
        return "layernorm";
    }

    @Override
    public String settings() {
        return params.toString();
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        LayerNorm.Geometry.of(name, in.getFirst().withBatch(1));
        return in.getFirst();
    }

    @Override
    public List<Param> params(List<Shape> in) {
        long[] c = {in.getFirst().dim(in.getFirst().rank() - 1)};
        List<Param> out = new ArrayList<>();
        if (params.affine()) {
            out.add(Param.learned("weight", c, Param.Init.ONES, 1, 1));
            out.add(Param.learned("bias", c, Param.Init.ZEROS, 1, 1));
        }
        return out;
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return 5 * out.elements();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        var fwd = LayerNorm.Forward.create(ctx.scope(), ctx.name(), ctx.input().desc(), params,
                ctx.mode().propKind());
        Tensor src = ctx.input();
        Tensor dst = ctx.output(fwd.dstDesc());
        Tensor scale = params.affine() ? ctx.tensor("weight") : null;
        Tensor shift = params.affine() ? ctx.tensor("bias") : null;
        Tensor mean = ctx.buffer("mean", fwd.statsDesc());
        Tensor var = ctx.buffer("var", fwd.statsDesc());
        Runnable forward = ctx.step(fwd, fwd.bind(ctx.scope(), src, scale, shift, mean, var, dst));
        return new MultiOp(dst, List.of(forward), "layer norm " + dst.desc().layout()) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                var bwd = LayerNorm.Backward.create(ctx.scope(), ctx.name(), fwd);
                Tensor diffSrc = diffInputs.getFirst() != null ? diffInputs.getFirst()
                        : ctx.buffer("diff_src_unused", src.desc());
                Tensor dScale = null;
                Tensor dShift = null;
                if (params.affine()) {
                    dScale = ctx.trainsParameters() ? ctx.grad("weight") : ctx.buffer("diff_weight_unused", scale.desc());
                    dShift = ctx.trainsParameters() ? ctx.grad("bias") : ctx.buffer("diff_bias_unused", shift.desc());
                }
                steps.add(ctx.step(bwd, bwd.bind(ctx.scope(), src, mean, var, scale, diffOutput, diffSrc, dScale, dShift)));
            }
        };
    }
}
