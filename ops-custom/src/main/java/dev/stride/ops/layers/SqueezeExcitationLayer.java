package dev.stride.ops.layers;

import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Param;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Shape;
import dev.stride.nn.layers.MultiOp;
import dev.stride.ops.se.SqueezeExcitation;
import java.util.ArrayList;
import java.util.List;

/**
 * Squeeze-and-excitation as a network layer (Hu et al., <a href="https://arxiv.org/abs/1709.01507">arXiv:1709.01507</a>;
 * {@link SqueezeExcitation}): rescales each channel by a gate computed from the channel averages.
 *
 * <pre>
 *   z = mean_hw(u),   s = sigmoid(W2 relu(W1 z + b1) + b2),   x_c = s_c * u_c
 * </pre>
 *
 * <p><b>Shape</b>: input and output {@code C x H x W}; {@code C} divisible by the reduction ratio {@code r}
 * (the excitation has {@code C/r} hidden units), checked when the layer is added.
 *
 * <p><b>Parameters</b>: named as in torchvision's {@code torchvision.ops.SqueezeExcitation} ({@code fc1},
 * {@code fc2}): {@code fc1.weight} {@code C/r x C}, {@code fc1.bias} {@code C/r}, {@code fc2.weight}
 * {@code C x C/r}, {@code fc2.bias} {@code C}, so the qualified names are {@code se1.fc1.weight} and so on.
 * torchvision holds the weights as 1x1 convolutions ({@code C/r x C x 1 x 1}), the same bytes:
 * {@link dev.stride.nn.Network#load} accepts those dims. Initialised He-normal for {@code fc1} (followed by
 * ReLU), Xavier-uniform for {@code fc2} (followed by the sigmoid), biases zero.
 *
 * <p><b>Layout</b>: the squeeze and the scale are Java kernels that index the activations directly, in plain
 * {@code nchw} or channels-last {@code nhwc}. A planned layer keeps an {@code nhwc} input as it is and reorders
 * any other (a blocked {@code nChw16c} from a convolution) to {@code nchw}; its output and its gradients are
 * in that plain layout, and the input gradient is reordered back into the input's layout when it differs.
 *
 * <p><b>Memory</b>: the {@link SqueezeExcitation} op owns the FC primitives, its saved {@code z, a, s} and the
 * excitation's gradients, created once with the plan. It holds its own copies of the four parameters in the
 * layouts its inner products chose: each forward copies the network's parameters in (a few KB; so an
 * optimizer step or a load is always seen), each backward copies the op's gradients out to the network's.
 *
 * @param reduction the reduction ratio {@code r} (torchvision's {@code squeeze_channels = C / r})
 *
 * <p>Immutable: a layer description, safe to share between networks and threads; each plan gets its own op
 * objects.
 */
public record SqueezeExcitationLayer(long reduction) implements Layer {

    public SqueezeExcitationLayer {
        if (reduction < 1) {
            throw new IllegalArgumentException("squeeze-excitation reduction ratio r must be >= 1, got " + reduction);
        }
    }

    @Override
    public String kind() {
        return "se";
    }

    @Override
    public String settings() {
        return "r=" + reduction;
    }

    private SqueezeExcitation.Geometry geometry(String name, List<Shape> in) {
        Shape s = in.getFirst();
        if (s.rank() != 3) {
            throw new IllegalArgumentException(name + ": squeeze-excitation expects a C x H x W input, got " + s);
        }
        return SqueezeExcitation.Geometry.of(name, 1, s.dim(0), s.dim(1), s.dim(2), reduction);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        geometry(name, in);
        return in.getFirst();
    }

    @Override
    public List<Param> params(List<Shape> in) {
        SqueezeExcitation.Geometry g = geometry("se", in);
        long c = g.c();
        long hidden = g.hidden();
        return List.of(
                Param.learned("fc1.weight", new long[] {hidden, c}, Param.Init.HE_NORMAL, c, hidden),
                Param.learned("fc1.bias", new long[] {hidden}, Param.Init.ZEROS, c, 1),
                Param.learned("fc2.weight", new long[] {c, hidden}, Param.Init.XAVIER_UNIFORM, hidden, c),
                Param.learned("fc2.bias", new long[] {c}, Param.Init.ZEROS, hidden, 1));
    }

    /** Squeeze and scale ({@code 2 C H W}) plus the two FCs ({@code 4 C^2/r}). */
    @Override
    public long flops(List<Shape> in, Shape out) {
        SqueezeExcitation.Geometry g = geometry("se", in);
        return 2 * g.c() * g.plane() + 4 * g.c() * g.hidden();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        Tensor in = ctx.input();
        long[] d = in.dims();
        SqueezeExcitation.Layout layout = in.desc().layout().equals(SqueezeExcitation.Layout.NHWC.oneDnnLabel())
                ? SqueezeExcitation.Layout.NHWC : SqueezeExcitation.Layout.NCHW;
        SqueezeExcitation se = SqueezeExcitation.create(ctx.scope(), ctx.name(), d[0], d[1], d[2], d[3], reduction,
                layout, 0L);
        List<Runnable> forward = new ArrayList<>();
        Tensor src = ctx.inLayout(in, se.srcDesc(), forward, "src_" + layout.name().toLowerCase(java.util.Locale.ROOT));
        boolean reordered = src != in;
        Tensor dst = ctx.output(se.srcDesc());
        forward.add(Layouts.copy(ctx, ctx.tensor("fc1.weight"), se.weights1()));
        forward.add(Layouts.copy(ctx, ctx.tensor("fc1.bias"), se.bias1()));
        forward.add(Layouts.copy(ctx, ctx.tensor("fc2.weight"), se.weights2()));
        forward.add(Layouts.copy(ctx, ctx.tensor("fc2.bias"), se.bias2()));
        Stream stream = ctx.stream();
        forward.add(() -> {
            ctx.await(); // the squeeze reads what oneDNN primitives wrote
            se.forward(stream, src, dst);
        });
        String text = "squeeze-excitation r=" + reduction + " (Java squeeze/scale, oneDNN FCs), " + layout.oneDnnLabel()
                + (reordered ? "; reorder " + in.desc().layout() + " -> " + layout.oneDnnLabel() : "");
        return new MultiOp(dst, forward, text) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                List<Runnable> after = new ArrayList<>();
                Tensor target = diffInputs.getFirst();
                // The op computes the input gradient on the way to the parameters' anyway: without a reader it
                // goes to scratch.
                Tensor dSrc = target != null ? ctx.outLayout(target, se.srcDesc(), after, "diff_src")
                        : ctx.buffer("diff_src_unused", se.srcDesc());
                Tensor dDst = ctx.inLayout(diffOutput, se.srcDesc(), steps, "diff_dst");
                steps.add(() -> {
                    ctx.await();
                    se.backward(stream, src, dDst, dSrc);
                });
                steps.addAll(after);
                if (ctx.trainsParameters()) {
                    steps.add(Layouts.copy(ctx, se.diffWeights1(), ctx.grad("fc1.weight")));
                    steps.add(Layouts.copy(ctx, se.diffBias1(), ctx.grad("fc1.bias")));
                    steps.add(Layouts.copy(ctx, se.diffWeights2(), ctx.grad("fc2.weight")));
                    steps.add(Layouts.copy(ctx, se.diffBias2(), ctx.grad("fc2.bias")));
                }
            }
        };
    }

    @Override
    public String toString() {
        return "SqueezeExcitationLayer(r=" + reduction + ")";
    }
}
