package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/** Softmax over the features of a sample (class scores to probabilities); see {@link dev.stride.softmax.Softmax}. */
public record Softmax() implements Layer {

    @Override
    public String kind() {
        return "softmax";
    }

    @Override
    public String settings() {
        return "";
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        if (in.getFirst().rank() != 1) {
            throw new IllegalArgumentException(name + ": softmax expects a feature vector (got " + in.getFirst()
                    + "); flatten or pool first");
        }
        return in.getFirst();
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return 3 * out.elements();
    }
}
