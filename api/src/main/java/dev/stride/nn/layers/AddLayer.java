package dev.stride.nn.layers;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.tensor.Sum;
import java.util.ArrayList;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import java.util.Arrays;
import java.util.List;

/**
 * Element-wise sum of two or more inputs of the same shape (the residual connection).
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record AddLayer(int inputs) implements Layer {

    public AddLayer {
        if (inputs < 2) {
            throw new IllegalArgumentException("add needs at least 2 inputs, got " + inputs);
        }
    }

    @Override
    public String kind() {
        return "add";
    }

    @Override
    public String settings() {
        return inputs == 2 ? "" : inputs + " inputs";
    }

    @Override
    public int arity() {
        return inputs;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        for (int i = 1; i < in.size(); i++) {
            if (!in.get(i).equals(in.getFirst())) {
                throw new IllegalArgumentException(name + ": add needs inputs of one shape, got " + in.getFirst()
                        + " and " + in.get(i) + " (input " + i + ")");
            }
        }
        return in.getFirst();
    }

    @Override
    public Window window(List<Shape> in) {
        return Window.pointwise(in.getFirst().spatialDims());
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return (in.size() - 1) * out.elements();
    }

    /** One sum primitive over the inputs in the first input's layout; the backward copies the gradient to each. */
    @Override
    public LayerOp plan(PlanContext ctx) {
        List<Runnable> before = new ArrayList<>();
        MemoryDesc layout = ctx.input().desc();
        Tensor[] srcs = new Tensor[inputs];
        for (int i = 0; i < inputs; i++) {
            srcs[i] = ctx.inLayout(ctx.inputs().get(i), layout, before, "src" + i);
        }
        float[] ones = new float[inputs];
        Arrays.fill(ones, 1f);
        MemoryDesc[] descs = new MemoryDesc[inputs];
        Arrays.fill(descs, layout);
        Sum.Forward sum = Sum.Forward.create(ctx.scope(), ctx.name(), ones, descs);
        Tensor dst = ctx.output(sum.dstDesc());
        ExecArgs args = sum.bind(ctx.scope(), dst, srcs);
        before.add(ctx.step(sum, args));
        return new MultiOp(dst, before, "sum " + dst.desc().layout()) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                for (Tensor d : diffInputs) {
                    if (d != null) {
                        steps.add(ctx.reorder(diffOutput, d));
                    }
                }
            }
        };
    }
}
