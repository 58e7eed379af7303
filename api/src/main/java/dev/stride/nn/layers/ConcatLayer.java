package dev.stride.nn.layers;

import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.tensor.Concat;
import dev.stride.tensor.Steps;
import java.util.ArrayList;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/**
 * Concatenates inputs along the channels (DenseNet's "each layer sees all earlier maps").
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record ConcatLayer(int inputs) implements Layer {

    public ConcatLayer {
        if (inputs < 2) {
            throw new IllegalArgumentException("concat needs at least 2 inputs, got " + inputs);
        }
    }

    @Override
    public String kind() {
        return "concat";
    }

    @Override
    public String settings() {
        return inputs + " inputs";
    }

    @Override
    public int arity() {
        return inputs;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        Shape first = in.getFirst();
        long channels = 0;
        for (int i = 0; i < in.size(); i++) {
            Shape s = in.get(i);
            if (s.rank() != first.rank()) {
                throw new IllegalArgumentException(name + ": concat inputs must have one rank, got " + first + " and "
                        + s + " (input " + i + ")");
            }
            for (int d = 1; d < s.rank(); d++) {
                if (s.dim(d) != first.dim(d)) {
                    throw new IllegalArgumentException(name + ": concat along channels needs equal spatial dims, got "
                            + first + " and " + s + " (input " + i + ")");
                }
            }
            channels += s.channels();
        }
        long[] out = first.dims();
        out[0] = channels;
        return Shape.of(out);
    }

    /**
     * oneDNN's concat along channels, each input in its own layout; the backward copies each slice out. The
     * result keeps the first input's channel-blocked layout: left to itself, oneDNN falls back to plain
     * {@code nchw} whenever an input starts inside a channel block (a dense block's 12-channel maps), and the
     * batch normalization that reads it then runs its plain-layout kernel, several times slower than the blocked
     * one.
     */
    @Override
    public LayerOp plan(PlanContext ctx) {
        MemoryDesc[] descs = ctx.inputs().stream().map(Tensor::desc).toArray(MemoryDesc[]::new);
        var chosen = Concat.Forward.create(ctx.scope(), ctx.name(), 1, descs);
        FormatTag blocked = FormatTag.ofLayout(descs[0].layout());
        if (chosen.dstDesc().isPlain() && blocked != null && blocked.label().matches("aBcde?(8|16)b")) {
            MemoryDesc into = MemoryDesc.of(ctx.scope(), descs[0].dataType(), blocked, chosen.dstDesc().dims());
            chosen.close();
            chosen = Concat.Forward.createInto(ctx.scope(), ctx.name(), 1, into, descs);
        }
        var fwd = chosen;
        Tensor dst = ctx.output(fwd.dstDesc());
        List<Runnable> forward = new ArrayList<>();
        forward.add(ctx.step(fwd, fwd.bind(ctx.scope(), dst, ctx.inputs().toArray(Tensor[]::new))));
        return new MultiOp(dst, forward, "concat " + dst.desc().layout()) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                var bwd = Concat.Backward.create(ctx.scope(), ctx.name(), fwd);
                List<Runnable> before = new ArrayList<>();
                Tensor dd = ctx.inLayout(diffOutput, bwd.diffDstDesc(), before, "diff_dst");
                steps.addAll(before);
                Steps s = bwd.bind(ctx.scope(), dd, diffInputs.toArray(Tensor[]::new));
                var stream = ctx.stream();
                steps.add(() -> bwd.execute(stream, s));
            }
        };
    }
}
