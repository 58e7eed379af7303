package dev.stride.nn.layers;

import dev.stride.core.ExecArgs;
import dev.stride.core.PropKind;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import dev.stride.norm.BatchNorm;
import java.util.ArrayList;
import java.util.List;

/**
 * Batch normalization over the channels of its input: learned {@code weight} (gamma, ones) and {@code bias}
 * (beta, zeros), and saved state {@code running_mean} (zeros) and {@code running_var} (ones) that never
 * receive gradients; see {@link BatchNorm}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record BatchNormLayer(BatchNorm.Params params) implements Layer {

    @Override
    public String kind() {
        return "batchnorm";
    }

    @Override
    public String settings() {
        return params.toString();
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        // Checked per sample here; the batch-size rule (more than one value per channel) when planned.
        BatchNorm.Geometry.of(name, in.getFirst().withBatch(2), PropKind.INFERENCE);
        return in.getFirst();
    }

    @Override
    public List<Param> params(List<Shape> in) {
        long[] c = {in.getFirst().channels()};
        List<Param> out = new ArrayList<>();
        if (params.affine()) {
            out.add(Param.learned("weight", c, Param.Init.ONES, 1, 1));
            out.add(Param.learned("bias", c, Param.Init.ZEROS, 1, 1));
        }
        out.add(Param.state("running_mean", c, Param.Init.ZEROS));
        out.add(Param.state("running_var", c, Param.Init.ONES));
        return out;
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return 2 * out.elements(); // a per-channel scale and shift once the statistics are known
    }

    /** ReLU fuses through oneDNN's fused flag, in training (a workspace keeps the mask) and in inference. */
    @Override
    public boolean fuses(ActivationLayer next, Mode mode) {
        return next.algorithm() == Eltwise.Algorithm.RELU && next.alpha() == 0 && next.beta() == 0;
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        boolean training = ctx.training();
        var p = params.fuseRelu(ctx.fusedActivation() != null);
        var fwd = BatchNorm.Forward.create(ctx.scope(), ctx.name(), ctx.input().desc(), p,
                ctx.mode().propKind());
        Tensor src = ctx.input();
        Tensor dst = ctx.output(fwd.dstDesc());
        Tensor scale = params.affine() ? ctx.tensor("weight") : null;
        Tensor shift = params.affine() ? ctx.tensor("bias") : null;
        Tensor runningMean = ctx.tensor("running_mean");
        Tensor runningVar = ctx.tensor("running_var");
        Tensor mean = training ? ctx.buffer("batch_mean", fwd.statsDesc()) : runningMean;
        Tensor var = training ? ctx.buffer("batch_var", fwd.statsDesc()) : runningVar;
        Tensor ws = fwd.workspaceDesc() == null ? null : ctx.buffer("workspace", fwd.workspaceDesc());
        ExecArgs args = fwd.bind(ctx.scope(), src, scale, shift, mean, var, dst, ws);
        var stream = ctx.stream();
        Runnable forward = training
                ? () -> {
                    fwd.execute(stream, args);
                    fwd.updateRunningStats(stream, args, runningMean, runningVar);
                }
                : ctx.step(fwd, args);
        String text = "batch norm " + dst.desc().layout() + (p.fuseRelu() ? ", fused ReLU" : "");
        return new MultiOp(dst, List.of(forward), text) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                var bwd = BatchNorm.Backward.create(ctx.scope(), ctx.name(), fwd);
                // oneDNN computes every gradient at once: frozen or unneeded ones go to scratch buffers.
                Tensor diffSrc = diffInputs.getFirst() != null ? diffInputs.getFirst()
                        : ctx.buffer("diff_src_unused", src.desc());
                Tensor dScale = null;
                Tensor dShift = null;
                if (params.affine()) {
                    dScale = ctx.trainsParameters() ? ctx.grad("weight") : ctx.buffer("diff_weight_unused", fwd.statsDesc());
                    dShift = ctx.trainsParameters() ? ctx.grad("bias") : ctx.buffer("diff_bias_unused", fwd.statsDesc());
                }
                steps.add(ctx.step(bwd, bwd.bind(ctx.scope(), src, mean, var, scale, ws, diffOutput, diffSrc, dScale,
                        dShift)));
            }
        };
    }
}
