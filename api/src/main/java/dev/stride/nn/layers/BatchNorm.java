package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Batch normalization over the channels of its input: learned {@code weight} (gamma, ones) and {@code bias}
 * (beta, zeros), and saved state {@code running_mean} (zeros) and {@code running_var} (ones) that never
 * receive gradients; see {@link dev.stride.norm.BatchNorm}.
 */
public record BatchNorm(dev.stride.norm.BatchNorm.Params params) implements Layer {

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
        dev.stride.norm.BatchNorm.Geometry.of(name, in.getFirst().withBatch(2), dev.stride.core.PropKind.INFERENCE);
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
}
