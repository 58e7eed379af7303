package dev.stride.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated network description: layers in topological order (each after its inputs), every shape
 * inferred, every owned tensor named ({@code conv1.weight}, {@code bn1.running_mean}). Immutable; planning it
 * for a batch size is what turns it into primitives and buffers.
 */
public final class NetworkSpec {

    private final List<Node> nodes;
    private final Node output;

    NetworkSpec(List<Node> nodes, Node output) {
        this.nodes = List.copyOf(nodes);
        this.output = output;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public Node input() {
        return nodes.getFirst();
    }

    public Node output() {
        return output;
    }

    public Node node(String name) {
        for (Node n : nodes) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        throw new IllegalArgumentException("no layer named '" + name + "'; layers: "
                + nodes.stream().map(Node::name).toList());
    }

    /** Every owned tensor by qualified name, in layer order. */
    public Map<String, Param> tensors() {
        Map<String, Param> out = new LinkedHashMap<>();
        for (Node n : nodes) {
            for (Param p : n.params()) {
                out.put(n.name() + "." + p.name(), p);
            }
        }
        return out;
    }

    /** Qualified names of the learnable parameters that are not frozen. */
    public List<String> trainableParameters() {
        List<String> out = new ArrayList<>();
        for (Node n : nodes) {
            if (n.frozen()) {
                continue;
            }
            for (Param p : n.params()) {
                if (!p.state()) {
                    out.add(n.name() + "." + p.name());
                }
            }
        }
        return out;
    }

    public long parameterCount() {
        return nodes.stream().mapToLong(Node::parameterCount).sum();
    }

    public long flops() {
        return nodes.stream().mapToLong(Node::flops).sum();
    }

    public Summary summary() {
        return new Summary(this);
    }

    @Override
    public String toString() {
        return summary().toString();
    }
}
