package dev.stride.nn.layers;

import dev.stride.core.Algorithm;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/** An element-wise activation, {@code y = f(x; alpha, beta)}; see {@link dev.stride.eltwise.Eltwise}. */
public record Activation(Algorithm.Eltwise algorithm, float alpha, float beta) implements Layer {

    public static Activation relu() {
        return new Activation(Algorithm.Eltwise.RELU, 0, 0);
    }

    @Override
    public String kind() {
        return algorithm == Algorithm.Eltwise.RELU && alpha != 0 ? "leakyrelu" : algorithm.label();
    }

    @Override
    public String settings() {
        return alpha == 0 && beta == 0 ? "" : "alpha=" + alpha + (beta == 0 ? "" : ", beta=" + beta);
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return in.getFirst();
    }

    @Override
    public long flops(List<Shape> in, Shape out) {
        return out.elements();
    }
}
