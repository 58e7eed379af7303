package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import java.util.ArrayList;
import java.util.List;

/** Layer normalization over the last dimension, with learned {@code weight} and {@code bias}. */
public record LayerNorm(dev.stride.norm.LayerNorm.Params params) implements Layer {

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
        dev.stride.norm.LayerNorm.Geometry.of(name, in.getFirst().withBatch(1));
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
}
