package dev.stride.nn;

import dev.stride.conv.Convolution;
import dev.stride.core.Shapes;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.layers.ActivationLayer;
import dev.stride.nn.layers.AddLayer;
import dev.stride.nn.layers.BatchNormLayer;
import dev.stride.nn.layers.ConcatLayer;
import dev.stride.nn.layers.ConvLayer;
import dev.stride.nn.layers.DenseLayer;
import dev.stride.nn.layers.DropoutLayer;
import dev.stride.nn.layers.FlattenLayer;
import dev.stride.nn.layers.LayerNormLayer;
import dev.stride.nn.layers.PoolLayer;
import dev.stride.nn.layers.SoftmaxLayer;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.LayerNorm;
import dev.stride.pool.Pooling;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fluent, shape-checked builder of directed acyclic networks. Starting from the input shape, every added layer's
 * output shape is inferred at once, so a mistake fails at the line that made it, naming the layer and showing
 * the arithmetic. Layers chain onto the {@linkplain #current() current} node; {@link #add(Node...)} and
 * {@link #concat(Node...)} join branches, {@link #from(Node)} starts a branch from an earlier node.
 *
 * {@snippet :
 * NetworkSpec net = NetworkBuilder.input(1, 28, 28)
 *         .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
 *         .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
 *         .flatten().fc(1024).relu().fc(10)
 *         .build();
 * }
 *
 * <p>Not thread-safe: build on one thread; the {@link NetworkSpec} it builds is immutable.
 */
public final class NetworkBuilder {

    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private Node current;

    private NetworkBuilder(Shape input) {
        Shapes.requireDims("input", "sample", input.dims(), sampleDimNames(input.rank()), null);
        int sp = input.spatialDims();
        long[] ones = new long[sp];
        Arrays.fill(ones, 1);
        current = new Node(0, "input", null, List.of(), input, List.of(), false, sp == 0 ? null : ones, ones.clone());
        nodes.add(current);
    }

    /** A builder for samples of {@code C x H x W} (or {@code C x D x H x W}, or {@code F}). */
    public static NetworkBuilder input(long... dims) {
        return new NetworkBuilder(Shape.of(dims));
    }

    /** The node the next layer attaches to. */
    public Node current() {
        return current;
    }

    /** Continues from {@code node} (an earlier node of this builder): starts a branch. */
    public NetworkBuilder from(Node node) {
        current = own(node);
        return this;
    }

    /** Adds {@code layer} fed by {@code inputs} (the current node when none are given); it becomes current. */
    public NetworkBuilder layer(Layer layer, Node... inputs) {
        return layer(null, layer, inputs);
    }

    /** Like {@link #layer(Layer, Node...)} with an explicit, unique name. */
    public NetworkBuilder layer(String name, Layer layer, Node... inputs) {
        List<Node> in = inputs.length == 0 ? List.of(current) : Arrays.stream(inputs).map(this::own).toList();
        String n = name != null ? name : nextName(layer.kind());
        if (nodes.stream().anyMatch(x -> x.name().equals(n))) {
            throw new IllegalArgumentException("a layer named '" + n + "' already exists");
        }
        if (in.size() != layer.arity()) {
            throw new IllegalArgumentException(n + ": " + layer.kind() + " takes " + layer.arity() + " input(s), got "
                    + in.size());
        }
        List<Shape> shapes = in.stream().map(Node::shape).toList();
        Shape out = layer.outputShape(n, shapes);
        List<Param> params = layer.params(shapes);
        requireSizes(n, layer, shapes, out, params);
        long[][] rf = receptiveField(layer, in, out);
        current = new Node(nodes.size(), n, layer, in, out, params, false, rf[0], rf[1]);
        nodes.add(current);
        return this;
    }

    /** Renames the current layer (default names are the kind and a counter: {@code conv1}, {@code relu2}). */
    public NetworkBuilder name(String name) {
        if (current.isInput()) {
            throw new IllegalStateException("name(...) renames the last added layer; none added yet");
        }
        if (nodes.stream().anyMatch(x -> x.name().equals(name))) {
            throw new IllegalArgumentException("a layer named '" + name + "' already exists");
        }
        replace(current.withName(name));
        return this;
    }

    /** Freezes the current layer: its parameters receive no updates (fine-tuning). */
    public NetworkBuilder freeze() {
        if (current.isInput()) {
            throw new IllegalStateException("freeze() applies to the last added layer; none added yet");
        }
        replace(current.withFrozen(true));
        return this;
    }

    public NetworkBuilder conv(Convolution.Params params) {
        return layer(new ConvLayer(params));
    }

    /** {@code K} filters of extent {@code F}, stride 1, "same" padding (the seed's default sizing). */
    public NetworkBuilder conv(int filters, int extent) {
        return conv(Convolution.Params.of(filters, extent).samePadding());
    }

    public NetworkBuilder relu() {
        return layer(ActivationLayer.relu());
    }

    public NetworkBuilder activation(Eltwise.Algorithm algorithm, float alpha, float beta) {
        return layer(new ActivationLayer(algorithm, alpha, beta));
    }

    public NetworkBuilder pool(Pooling.Params params) {
        return layer(new PoolLayer(params));
    }

    public NetworkBuilder maxPool(int extent, int stride) {
        return pool(Pooling.Params.max(extent).stride(stride));
    }

    public NetworkBuilder avgPool(int extent, int stride) {
        return pool(Pooling.Params.avg(extent).stride(stride));
    }

    public NetworkBuilder l2Pool(int extent, int stride) {
        return pool(Pooling.Params.l2(extent).stride(stride));
    }

    public NetworkBuilder globalAvgPool() {
        return pool(Pooling.Params.globalAvg());
    }

    public NetworkBuilder batchNorm() {
        return layer(new BatchNormLayer(BatchNorm.Params.defaults()));
    }

    public NetworkBuilder layerNorm() {
        return layer(new LayerNormLayer(LayerNorm.Params.defaults()));
    }

    /** Fully connected layer with {@code outFeatures} outputs and a bias. */
    public NetworkBuilder fc(long outFeatures) {
        return layer(new DenseLayer(outFeatures, true));
    }

    public NetworkBuilder dropout(double p) {
        return layer(new DropoutLayer(p));
    }

    public NetworkBuilder flatten() {
        return layer(new FlattenLayer());
    }

    public NetworkBuilder softmax() {
        return layer(new SoftmaxLayer());
    }

    /** Residual join: the current node plus {@code others} (same shapes). */
    public NetworkBuilder add(Node... others) {
        Node[] in = new Node[others.length + 1];
        in[0] = current;
        System.arraycopy(others, 0, in, 1, others.length);
        return layer(new AddLayer(in.length), in);
    }

    /** Channel concatenation of the current node and {@code others}. */
    public NetworkBuilder concat(Node... others) {
        Node[] in = new Node[others.length + 1];
        in[0] = current;
        System.arraycopy(others, 0, in, 1, others.length);
        return layer(new ConcatLayer(in.length), in);
    }

    /**
     * A DenseNet block: {@code layers} times BN-ReLU-[1x1 conv to 4k, BN-ReLU]-3x3 conv to {@code growth}
     * channels, each fed the concatenation of the block input and every earlier layer's maps.
     */
    public NetworkBuilder denseBlock(int layers, int growth, boolean bottleneck) {
        if (layers < 1 || growth < 1) {
            throw new IllegalArgumentException("dense block needs layers >= 1 and growth >= 1, got " + layers + ", " + growth);
        }
        List<Node> maps = new ArrayList<>();
        maps.add(current);
        for (int i = 0; i < layers; i++) {
            if (maps.size() > 1) {
                from(maps.getFirst()).concat(maps.subList(1, maps.size()).toArray(Node[]::new));
            } else {
                from(maps.getFirst());
            }
            batchNorm().relu();
            if (bottleneck) {
                conv(Convolution.Params.of(4 * growth, 1).bias(false)).batchNorm().relu();
            }
            conv(Convolution.Params.of(growth, 3).padding(1).bias(false));
            maps.add(current);
        }
        return from(maps.getFirst()).concat(maps.subList(1, maps.size()).toArray(Node[]::new));
    }

    /** DenseNet transition: BN-ReLU-1x1 conv to {@code compression * C} channels, 2x2/2 average pooling. */
    public NetworkBuilder transition(double compression) {
        if (!(compression > 0 && compression <= 1)) {
            throw new IllegalArgumentException("transition compression must be in (0, 1], got " + compression);
        }
        long c = Math.max(1, (long) Math.floor(current.shape().channels() * compression));
        return batchNorm().relu().conv(Convolution.Params.of((int) c, 1).bias(false)).avgPool(2, 2);
    }

    /**
     * A basic residual block: 3x3 conv (stride {@code stride}, "same" padding)-BN-ReLU-3x3 conv-BN, plus the
     * shortcut, then ReLU. When the shape changes the shortcut is 2x2/2 average pooling (if strided) and a 1x1
     * conv with BN: a strided 1x1 conv would skip three quarters of the input and, on even sizes, give a
     * non-integer {@code W2 = (W1 - 1)/2 + 1}.
     */
    public NetworkBuilder residualBlock(int filters, int stride) {
        if (stride != 1 && stride != 2) {
            throw new IllegalArgumentException("residual block stride must be 1 or 2, got " + stride);
        }
        Node in = current;
        conv(Convolution.Params.of(filters, 3).stride(stride).samePadding().bias(false)).batchNorm().relu();
        conv(Convolution.Params.of(filters, 3).padding(1).bias(false)).batchNorm();
        Node main = current;
        Node shortcut = in;
        if (stride != 1 || in.shape().channels() != filters) {
            from(in);
            if (stride == 2) {
                avgPool(2, 2);
            }
            conv(Convolution.Params.of(filters, 1).bias(false)).batchNorm();
            shortcut = current;
        }
        return from(main).add(shortcut).relu();
    }

    /**
     * The seed's pattern: {@code INPUT -> ((CONV -> RELU)*N -> POOL?)*M -> (FC -> RELU)*K -> FC}, with 3x3
     * "same" convolutions ({@code filters[m]} in stage {@code m}), optional 2x2/2 max pooling after each stage,
     * {@code fcWidths[k]} hidden units and {@code classes} outputs.
     */
    public static NetworkBuilder pattern(Shape input, int n, int m, int k, int[] filters, boolean pool,
            long[] fcWidths, long classes) {
        if (n < 0 || m < 0 || k < 0) {
            throw new IllegalArgumentException("pattern needs N, M, K >= 0, got " + n + ", " + m + ", " + k);
        }
        if (filters.length != m) {
            throw new IllegalArgumentException("pattern: " + m + " stages need " + m + " filter counts, got "
                    + Arrays.toString(filters));
        }
        if (fcWidths.length != k) {
            throw new IllegalArgumentException("pattern: K=" + k + " hidden FC layers need " + k + " widths, got "
                    + Arrays.toString(fcWidths));
        }
        NetworkBuilder b = new NetworkBuilder(input);
        for (int stage = 0; stage < m; stage++) {
            for (int i = 0; i < n; i++) {
                b.conv(filters[stage], 3).relu();
            }
            if (pool) {
                b.maxPool(2, 2);
            }
        }
        if (b.current.shape().rank() > 1) {
            b.flatten();
        }
        for (int i = 0; i < k; i++) {
            b.fc(fcWidths[i]).relu();
        }
        return b.fc(classes);
    }

    /** The finished network; its output is the current node. */
    public NetworkSpec build() {
        if (current.isInput()) {
            throw new IllegalStateException("a network needs at least one layer");
        }
        return new NetworkSpec(nodes, current);
    }

    /** The summary of what is built so far. */
    public Summary summary() {
        return new NetworkSpec(nodes, current).summary();
    }

    /** The builder's current record of {@code n} (renaming or freezing replaces a node's record). */
    private Node own(Node n) {
        if (n == null || n.index() >= nodes.size() || !nodes.get(n.index()).name().equals(n.name())) {
            throw new IllegalArgumentException("node " + n + " does not belong to this builder");
        }
        return nodes.get(n.index());
    }

    private void replace(Node updated) {
        for (Node x : nodes) {
            if (x.inputs().stream().anyMatch(in -> in.index() == updated.index())) {
                throw new IllegalStateException("cannot change " + nodes.get(updated.index()).name()
                        + ": layer " + x.name() + " already uses it");
            }
        }
        nodes.set(updated.index(), updated);
        current = updated;
    }

    private String nextName(String kind) {
        int n = counters.merge(kind, 1, Integer::sum);
        String name = kind + n;
        while (true) {
            String candidate = name;
            if (nodes.stream().noneMatch(x -> x.name().equals(candidate))) {
                return name;
            }
            n = counters.merge(kind, 1, Integer::sum);
            name = kind + n;
        }
    }

    /**
     * Checks a layer's per-sample output and its parameters against {@link dev.stride.core.MemoryDesc}'s limits,
     * naming the layer and its settings, before any tensor is made: the next layer, the planner (times the batch)
     * and {@link Param#initialValues} all multiply these dims.
     */
    private static void requireSizes(String n, Layer layer, List<Shape> in, Shape out, List<Param> params) {
        String causes = layer.kind() + "(" + layer.settings() + ") on its input " + in;
        Shapes.requireDims(n, "output", out.dims(), sampleDimNames(out.rank()), causes);
        for (Param p : params) {
            String[] names = new String[p.dims().length];
            Arrays.setAll(names, i -> "d" + i);
            Shapes.requireDims(n, "parameter " + p.name(), p.dims(), names, causes);
        }
    }

    /** The names of a sample's dims: {@code features}, {@code C, H, W} or {@code C, D, H, W}. */
    static String[] sampleDimNames(int rank) {
        String[] batched = Shapes.activationDimNames(rank + 1);
        String[] names = Arrays.copyOfRange(batched, 1, batched.length);
        if (rank == 1) {
            names[0] = "features";
        } else if (rank < 1 || rank > 4) {
            Arrays.setAll(names, i -> "d" + i);
        }
        return names;
    }

    /**
     * The seed's receptive-field arithmetic: {@code rf_out = rf_in + (span - 1) * jump_in},
     * {@code jump_out = jump_in * S}, with {@code span = D*(F-1)+1}. The window is over the first input (see
     * {@link Layer#window}); further inputs are read at the output's own positions (a residual add, a deformable
     * convolution's offsets), so they only widen the field to theirs: joins take the largest. Flatten, FC and
     * global pooling see everything.
     */
    private static long[][] receptiveField(Layer layer, List<Node> in, Shape out) {
        for (Node n : in) {
            if (n.receptiveField() == null) {
                return new long[][] {null, n.jump()};
            }
        }
        Node first = in.getFirst();
        long[] rf = first.receptiveField().clone();
        long[] jump = first.jump().clone();
        if (out.spatialDims() != rf.length) {
            return new long[][] {null, jump}; // flattened or reduced to features: every output sees all
        }
        Window w = layer.window(in.stream().map(Node::shape).toList());
        if (w.global()) {
            return new long[][] {null, jump};
        }
        for (int i = 0; i < rf.length; i++) {
            rf[i] = rf[i] + (w.span(i) - 1) * jump[i];
            jump[i] = jump[i] * w.stride()[i];
        }
        for (Node n : in.subList(1, in.size())) {
            for (int i = 0; i < rf.length; i++) {
                rf[i] = Math.max(rf[i], n.receptiveField()[i]);
                jump[i] = Math.max(jump[i], n.jump()[i]);
            }
        }
        return new long[][] {rf, jump};
    }
}
