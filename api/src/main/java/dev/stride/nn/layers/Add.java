package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import java.util.List;

/** Element-wise sum of two or more inputs of the same shape (the residual connection). */
public record Add(int inputs) implements Layer {

    public Add {
        if (inputs < 2) {
            throw new IllegalArgumentException("add needs at least 2 inputs, got " + inputs);
        }
    }

    @Override
    public String kind() {
        return "add";
    }

    @Override
    public String settings() {
        return inputs == 2 ? "" : inputs + " inputs";
    }

    @Override
    public int arity() {
        return inputs;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        for (int i = 1; i < in.size(); i++) {
            if (!in.get(i).equals(in.getFirst())) {
                throw new IllegalArgumentException(name + ": add needs inputs of one shape, got " + in.getFirst()
                        + " and " + in.get(i) + " (input " + i + ")");
            }
        }
        return in.getFirst();
    }

    @Override
    public Window window(List<Shape> in) {
        return Window.pointwise(in.getFirst().spatialDims());
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return (in.size() - 1) * out.elements();
    }
}
