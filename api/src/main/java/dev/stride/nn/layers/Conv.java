package dev.stride.nn.layers;

import dev.stride.conv.Convolution;
import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import java.util.ArrayList;
import java.util.List;

/** Convolution layer (2D or 3D by its input): {@code K} filters of extent {@code F}; see {@link Convolution}. */
public record Conv(Convolution.Params params) implements Layer {

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
}
