package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/** Concatenates inputs along the channels (DenseNet's "each layer sees all earlier maps"). */
public record Concat(int inputs) implements Layer {

    public Concat {
        if (inputs < 2) {
            throw new IllegalArgumentException("concat needs at least 2 inputs, got " + inputs);
        }
    }

    @Override
    public String kind() {
        return "concat";
    }

    @Override
    public String settings() {
        return inputs + " inputs";
    }

    @Override
    public int arity() {
        return inputs;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        Shape first = in.getFirst();
        long channels = 0;
        for (int i = 0; i < in.size(); i++) {
            Shape s = in.get(i);
            if (s.rank() != first.rank()) {
                throw new IllegalArgumentException(name + ": concat inputs must have one rank, got " + first + " and "
                        + s + " (input " + i + ")");
            }
            for (int d = 1; d < s.rank(); d++) {
                if (s.dim(d) != first.dim(d)) {
                    throw new IllegalArgumentException(name + ": concat along channels needs equal spatial dims, got "
                            + first + " and " + s + " (input " + i + ")");
                }
            }
            channels += s.channels();
        }
        long[] out = first.dims();
        out[0] = channels;
        return Shape.of(out);
    }
}
