package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import dev.stride.pool.Pooling;
import java.util.List;

/** Pooling layer: max, average, L2 or global; see {@link Pooling}. No parameters. */
public record Pool(Pooling.Params params) implements Layer {

    private Pooling.Geometry geometry(String name, List<Shape> in) {
        Shape s = in.getFirst();
        if (s.rank() != 3 && s.rank() != 4) {
            throw new IllegalArgumentException(name + ": expected a C x H x W or C x D x H x W input (got " + s + ")");
        }
        return Pooling.Geometry.of(name, s.withBatch(1), params);
    }

    @Override
    public String kind() {
        String alg = switch (params.algorithm()) {
            case MAX -> "max";
            case AVG_INCLUDE_PADDING, AVG_EXCLUDE_PADDING -> "avg";
            case L2 -> "l2";
        };
        return (params.global() ? "global" : "") + alg + "pool";
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
    public Window window(List<Shape> in) {
        Pooling.Geometry g = geometry("pool", in);
        if (g.global()) {
            return Window.global(g.extent());
        }
        long[] ones = new long[g.extent().length];
        java.util.Arrays.fill(ones, 1);
        return Window.of(g.extent(), g.strides(), ones);
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return out.elements() * geometry("pool", in).windowSize();
    }
}
