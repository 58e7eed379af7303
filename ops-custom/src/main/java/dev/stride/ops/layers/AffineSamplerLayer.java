package dev.stride.ops.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import dev.stride.nn.layers.MultiOp;
import dev.stride.ops.stn.AffineSampler;
import dev.stride.ops.stn.LocalizationHead;
import dev.stride.ops.stn.SamplerOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * The sampling half of a spatial transformer (Jaderberg et al., <a href="https://arxiv.org/abs/1506.02025">arXiv:1506.02025</a>)
 * as a two-input layer: {@code (src, theta) -> grid_sample(src, affine_grid(theta, [N, C, H2, W2]))}, PyTorch's
 * {@code affine_grid} and {@code grid_sample} (bilinear; {@link AffineSampler}), differentiable in both inputs.
 *
 * <p>{@code theta} comes from a localization network, any sub-network of the same network ending in a
 * fully connected layer of 6 outputs that starts as the identity transform:
 * {@link CustomLayers#spatialTransformer(dev.stride.nn.NetworkBuilder, java.util.function.UnaryOperator)} builds
 * the localization branch, its identity-initialised head and this layer in one call.
 *
 * <p><b>Shape</b>: inputs {@code src: C x H x W} and {@code theta: 6} (the {@code 2 x 3} affine matrix,
 * row-major {@code (t00, t01, t02, t10, t11, t12)}, mapping normalized output coordinates to input ones);
 * output {@code C x H2 x W2}, by default {@code H2 x W2 = H x W}. No parameters.
 *
 * <p><b>Layout</b>: the sampler gathers and scatters single pixels by row-major index, so a planned layer
 * reorders {@code src} (and {@code theta}, should the FC before have chosen another layout) to plain, writes
 * its output plain, and writes the input gradients plain, reordered into the inputs' layouts when they differ.
 * The sampler owns its grid and workspaces, created once with the plan; steps allocate nothing.
 *
 * @param height  output height {@code H2}, or 0 for the input's
 * @param width   output width {@code W2}, or 0 for the input's
 * @param options padding and {@code align_corners} ({@link SamplerOptions#DEFAULT}: zeros, {@code False}, as
 *                PyTorch), used by both the grid generator and the sampler
 *
 * <p>Immutable: a layer description, safe to share between networks and threads; each plan gets its own op
 * objects.
 */
public record AffineSamplerLayer(long height, long width, SamplerOptions options) implements Layer {

    public AffineSamplerLayer {
        if (height < 0 || width < 0 || (height == 0) != (width == 0)) {
            throw new IllegalArgumentException("spatial transformer output size must be two positive numbers "
                    + "(or both 0 for the input's size), got " + height + " x " + width);
        }
        if (options == null) {
            throw new IllegalArgumentException("spatial transformer options must not be null (SamplerOptions.DEFAULT)");
        }
    }

    /** The input's size, PyTorch's defaults. */
    public AffineSamplerLayer() {
        this(0, 0, SamplerOptions.DEFAULT);
    }

    @Override
    public String kind() {
        return "stn";
    }

    @Override
    public String settings() {
        String size = height == 0 ? "" : "size=" + height + "x" + width;
        String opts = options.toString();
        return size + (size.isEmpty() || opts.isEmpty() ? "" : ", ") + opts;
    }

    @Override
    public int arity() {
        return 2;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        Shape src = in.get(0);
        Shape theta = in.get(1);
        if (src.rank() != 3) {
            throw new IllegalArgumentException(name + ": the spatial transformer samples C x H x W images (input 0), got "
                    + src);
        }
        if (!theta.equals(Shape.of(LocalizationHead.THETA_FEATURES))) {
            throw new IllegalArgumentException(name + ": input 1 (theta) must be " + LocalizationHead.THETA_FEATURES
                    + " features (the 2 x 3 affine matrix, row-major), got " + theta
                    + "; end the localization network with fc(6)");
        }
        return height == 0 ? src : Shape.of(src.dim(0), height, width);
    }

    /** Every output pixel may sample anywhere in the input. */
    @Override
    public Window window(List<Shape> in) {
        return Window.global(new long[] {in.getFirst().dim(1), in.getFirst().dim(2)});
    }

    /** The grid ({@code 4} multiply-adds per point for {@code theta}) and four bilinear taps per output value. */
    @Override
    public long flops(List<Shape> in, Shape out) {
        long points = out.dim(1) * out.dim(2);
        return 8 * points + 8 * out.elements();
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        List<Runnable> forward = new ArrayList<>();
        List<String> reordered = new ArrayList<>();
        Tensor src = Layouts.plainInput(ctx, ctx.inputs().get(0), forward, "src", reordered);
        Tensor thetaFlat = Layouts.plainInput(ctx, ctx.inputs().get(1), forward, "theta", reordered);
        Tensor theta = LocalizationHead.thetaView(ctx.scope(), ctx.name() + ".theta", thetaFlat);
        long[] s = src.dims();
        long h2 = height == 0 ? s[2] : height;
        long w2 = width == 0 ? s[3] : width;
        AffineSampler sampler = AffineSampler.create(ctx.scope(), ctx.name(), s[0], s[1], s[2], s[3], h2, w2, options);
        Tensor dst = ctx.output(ctx.plain(s[0], s[1], h2, w2));
        forward.add(() -> {
            ctx.await(); // the sampler reads what oneDNN primitives wrote
            sampler.forward(theta, src, dst);
        });
        String text = "affine grid + bilinear sampler (Java), plain dst" + Layouts.reorderText(reordered);
        return new MultiOp(dst, forward, text) {
            @Override
            protected void planBackward(Tensor diffOutput, List<Tensor> diffInputs, List<Runnable> steps) {
                List<Runnable> after = new ArrayList<>();
                Tensor dSrc = Layouts.plainTarget(ctx, diffInputs.get(0), src.desc(), after, "diff_src");
                Tensor dThetaFlat = Layouts.plainTarget(ctx, diffInputs.get(1), thetaFlat.desc(), after, "diff_theta");
                if (dSrc == null && dThetaFlat == null) {
                    return;
                }
                Tensor dTheta = dThetaFlat == null ? null
                        : LocalizationHead.thetaView(ctx.scope(), ctx.name() + ".diff_theta", dThetaFlat);
                Tensor dDst = ctx.inLayout(diffOutput, dst.desc(), steps, "diff_dst_plain");
                steps.add(() -> {
                    ctx.await();
                    sampler.backward(theta, src, dDst, dSrc, dTheta);
                });
                steps.addAll(after);
            }
        };
    }
}
