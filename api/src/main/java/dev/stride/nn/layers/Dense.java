package dev.stride.nn.layers;

import dev.stride.linear.InnerProduct;
import dev.stride.nn.Layer;
import dev.stride.nn.Param;
import dev.stride.nn.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Fully connected layer over the flattened sample: {@code y = W x + b}; see {@link InnerProduct}. Weights are
 * held with the input's trailing dims ({@code OUT x C x H x W}), which is PyTorch's {@code OUT x C*H*W}
 * matrix byte for byte.
 */
public record Dense(long outFeatures, boolean bias) implements Layer {

    @Override
    public String kind() {
        return "fc";
    }

    @Override
    public String settings() {
        return outFeatures + (bias ? "" : ", bias=false");
    }

    private InnerProduct.Geometry geometry(String name, List<Shape> in) {
        return InnerProduct.Geometry.of(name, in.getFirst().withBatch(1), outFeatures, bias);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return Shape.of(geometry(name, in).outFeatures());
    }

    @Override
    public List<Param> params(List<Shape> in) {
        InnerProduct.Geometry g = geometry("fc", in);
        List<Param> out = new ArrayList<>();
        out.add(Param.learned("weight", g.weights(), Param.Init.HE_NORMAL, g.inFeatures(), outFeatures));
        if (bias) {
            out.add(Param.learned("bias", g.bias(), Param.Init.ZEROS, g.inFeatures(), 1));
        }
        return out;
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return geometry("fc", in).forwardFlops();
    }
}
