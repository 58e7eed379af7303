package dev.stride.nn.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/** Dropout: in training, zeroes each value with probability {@code p} and scales the rest by {@code 1/(1-p)}. */
public record Dropout(double p) implements Layer {

    public Dropout {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
    }

    @Override
    public String kind() {
        return "dropout";
    }

    @Override
    public String settings() {
        return "p=" + p;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return in.getFirst();
    }
}
