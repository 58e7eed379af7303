package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/** Flattens a sample to a feature vector ({@code C x H x W -> C*H*W}); a view, no computation. */
public record Flatten() implements Layer {

    @Override
    public String kind() {
        return "flatten";
    }

    @Override
    public String settings() {
        return "";
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return Shape.of(in.getFirst().elements());
    }
}
