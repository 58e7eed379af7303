package dev.stride.nn;

import java.util.Arrays;
import java.util.List;

/**
 * One layer placed in a network: its name, its inputs, and what the builder inferred when it was added (output
 * shape, owned tensors, receptive field). Immutable.
 *
 * @param receptiveField the input pixels one output position sees, per spatial dim of the network input;
 *                       {@code null} once every output sees the whole input (after flatten, FC, global pooling)
 * @param jump           the distance, in input pixels, between adjacent output positions
 */
public record Node(int index, String name, Layer layer, List<Node> inputs, Shape shape, List<Param> params,
        boolean frozen, long[] receptiveField, long[] jump) {

    /** Learnable parameters (saved state such as running statistics not counted). */
    public long parameterCount() {
        long n = 0;
        for (Param p : params) {
            if (!p.state()) {
                n += p.elements();
            }
        }
        return n;
    }

    /** FLOPs of this layer for one sample. */
    public long flops() {
        return layer == null ? 0 : layer.flops(inputShapes(), shape);
    }

    public List<Shape> inputShapes() {
        return inputs.stream().map(Node::shape).toList();
    }

    public boolean isInput() {
        return layer == null;
    }

    Node withName(String newName) {
        return new Node(index, newName, layer, inputs, shape, params, frozen, receptiveField, jump);
    }

    Node withFrozen(boolean f) {
        return new Node(index, name, layer, inputs, shape, params, f, receptiveField, jump);
    }

    /** {@code 5x5 / 2} (size / jump), or {@code all}. */
    public String receptiveFieldText() {
        if (receptiveField == null) {
            return "all";
        }
        boolean evenJump = Arrays.stream(jump).allMatch(x -> x == jump[0]);
        return Shape.of(receptiveField) + " / " + (evenJump ? String.valueOf(jump[0]) : Shape.of(jump).toString());
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return name + " " + (layer == null ? "input" : layer.kind()) + " -> " + shape;
    }
}
