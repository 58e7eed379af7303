package dev.stride.ops.layers;

import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Param;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import dev.stride.nn.layers.MultiOp;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.deform.DeformGeometry;
import java.util.ArrayList;
import java.util.List;

/**
 * Deformable convolution as a network layer, v1 or modulated v2 ({@link DeformConv2d}):
 * {@code y(p0) = b + sum_n w(pn) * x(p0 + pn + dpn) [* m(p0, n)]}, bilinear sampling, zero outside the input.
 *
 * <p>The offsets {@code dpn} (and the mask {@code m}) are inputs, not parameters: they are computed from the
 * input by other layers of the network, as in torchvision's examples and mmcv's {@code DeformConv2dPack}, where
 * a regular convolution of the same window, initialised to zero, predicts them (so training starts as a plain
 * convolution; with v2 a sigmoid keeps the mask in {@code (0, 1)}, starting at 0.5).
 * {@link CustomLayers#deformConv(dev.stride.nn.NetworkBuilder, DeformConv2d.Params)} adds that branch and this
 * layer in one call.
 *
 * <p><b>Shape</b>: inputs {@code src: C x H1 x W1}, {@code offset: 2*G_off*KH*KW x H2 x W2} (channel
 * {@code 2*(g*KH*KW + i*KW + j)} the {@code dy} of tap {@code (i, j)} in offset group {@code g}, the next its
 * {@code dx}), and for v2 {@code mask: G_off*KH*KW x H2 x W2}; output {@code K x H2 x W2} with
 * {@code H2 = (H1 - D*(F-1) - 1 + 2P)/S + 1}, which must be an integer (checked when the layer is added).
 *
 * <p><b>Parameters</b>: {@code weight} {@code K x C/G x KH x KW} (He-normal, as the builder's convolutions) and
 * {@code bias} {@code K} (zeros) when {@link DeformConv2d.Params#bias()}: torchvision's {@code DeformConv2d}
 * names and layouts, so its {@code state_dict} loads as is.
 *
 * <p><b>Layout</b>: the bilinear im2col and its scatter are Java loops that index {@code src}, the offsets and
 * the mask row-major, so a planned layer reorders those inputs to plain {@code nchw} when the layers before
 * chose a blocked layout (the offset convolution's output usually is {@code nChw16c}), writes its output plain,
 * and writes each input gradient plain, reordered into that input's layout when it differs. The op owns its
 * column matrix and GEMM workspaces (created once with the plan); steps allocate nothing.
 *
 * @param params filters, extent, stride, padding, dilation, groups, offset groups, bias and v1/v2
 *
 * <p>Immutable: a layer description, safe to share between networks and threads; each plan gets its own op
 * objects.
 */
public record DeformConvLayer(DeformConv2d.Params params) implements Layer {

    public DeformConvLayer {
        if (params == null) {
            throw new IllegalArgumentException("deformable convolution needs its parameters, got null");
        }
    }

    @Override
    public String kind() {
        return "deform";
    }

    @Override
    public String settings() {
        return params.toString();
    }

    /** src and offset, plus the mask for v2. */
    @Override
    public int arity() {
        return params.modulated() ? 3 : 2;
    }

    private DeformGeometry geometry(String name, List<Shape> in) {
        Shape s = in.getFirst();
        if (s.rank() != 3) {
            throw new IllegalArgumentException(name + ": deformable convolution expects a C x H x W input, got " + s);
        }
        return DeformGeometry.of(name, s.withBatch(1), params);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        DeformGeometry g = geometry(name, in);
        expect(name, "offset", 1, in.get(1), Shape.ofBatched(g.offset()), "2*G_off*KH*KW x H2 x W2 = 2*"
                + g.offsetGroups() + "*" + g.kh() + "*" + g.kw() + " x " + g.h2() + " x " + g.w2());
        if (params.modulated()) {
            expect(name, "mask", 2, in.get(2), Shape.ofBatched(g.mask()), "G_off*KH*KW x H2 x W2 = "
                    + g.offsetGroups() + "*" + g.kh() + "*" + g.kw() + " x " + g.h2() + " x " + g.w2());
        }
        return Shape.ofBatched(g.dst());
    }

    private static void expect(String name, String what, int index, Shape got, Shape want, String formula) {
        if (!got.equals(want)) {
            throw new IllegalArgumentException(name + ": input " + index + " (" + what + ") must be " + formula + " = "
                    + want + ", got " + got);
        }
    }

    @Override
    public List<Param> params(List<Shape> in) {
        DeformGeometry g = geometry("deform", in);
        long kk = (long) g.kh() * g.kw();
        long fanIn = g.c() / g.groups() * kk;
        long fanOut = g.k() / g.groups() * kk;
        List<Param> out = new ArrayList<>();
        out.add(Param.learned("weight", g.weights(), Param.Init.HE_NORMAL, fanIn, fanOut));
        if (params.bias()) {
            out.add(Param.learned("bias", g.biasDims(), Param.Init.ZEROS, fanIn, 1));
        }
        return out;
    }

    /** The regular grid the offsets move: the window of a convolution with the same extent, stride and dilation. */
    @Override
    public Window window(List<Shape> in) {
        DeformGeometry g = geometry("deform", in);
        return Window.of(new long[] {g.kh(), g.kw()}, new long[] {g.sh(), g.sw()}, new long[] {g.dh(), g.dw()});
    }

    /**
     * The GEMM's {@code 2 K C/G KH KW H2 W2}, plus the bilinear sampling: four taps (a multiply-add each) per
     * column entry, {@code 8 C KH KW H2 W2}, and one multiply more per entry for the v2 mask.
     */
    @Override
    public long flops(List<Shape> in, Shape out) {
        DeformGeometry g = geometry("deform", in);
        long entries = g.columnRows() * g.outputPixels();
        return g.forwardFlops() + entries * (params.modulated() ? 9 : 8);
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        List<Runnable> forward = new ArrayList<>();
        List<String> reordered = new ArrayList<>();
        Tensor src = Layouts.plainInput(ctx, ctx.inputs().get(0), forward, "src", reordered);
        Tensor offset = Layouts.plainInput(ctx, ctx.inputs().get(1), forward, "offset", reordered);
        Tensor mask = params.modulated() ? Layouts.plainInput(ctx, ctx.inputs().get(2), forward, "mask", reordered) : null;
        DeformConv2d op = DeformConv2d.create(ctx.scope(), ctx.name(), src.dims(), params);
        Tensor dst = ctx.output(ctx.plain(op.geometry().dst()));
        Tensor weight = ctx.tensor("weight");
        Tensor bias = params.bias() ? ctx.tensor("bias") : null;
        Stream stream = ctx.stream();
        forward.add(() -> {
            ctx.await(); // the Java im2col reads what oneDNN primitives wrote
            op.forward(stream, src, offset, mask, weight, bias, dst);
        });
        String text = "deformable conv " + (params.modulated() ? "v2" : "v1") + " (Java bilinear im2col + oneDNN matmul, "
                + op.imagesPerChunk() + " image(s) per chunk), plain dst" + Layouts.reorderText(reordered);
        return new MultiOp(dst, forward, text) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                List<Runnable> after = new ArrayList<>();
                Tensor dSrc = Layouts.plainTarget(ctx, diffInputs.get(0), src.desc(), after, "diff_src");
                Tensor dOffset = Layouts.plainTarget(ctx, diffInputs.get(1), offset.desc(), after, "diff_offset");
                Tensor dMask = params.modulated()
                        ? Layouts.plainTarget(ctx, diffInputs.get(2), mask.desc(), after, "diff_mask") : null;
                boolean trains = ctx.trainsParameters();
                Tensor dWeight = trains ? ctx.grad("weight") : null;
                Tensor dBias = trains && bias != null ? ctx.grad("bias") : null;
                if (dSrc == null && dOffset == null && dMask == null && dWeight == null) {
                    return;
                }
                Tensor dDst = ctx.inLayout(diffOutput, dst.desc(), steps, "diff_dst_plain");
                steps.add(() -> {
                    ctx.await();
                    op.backward(stream, src, offset, mask, weight, dDst, dSrc, dOffset, dMask, dWeight, dBias);
                });
                steps.addAll(after);
            }
        };
    }

    @Override
    public String toString() {
        return "DeformConvLayer(" + params + ")";
    }
}
