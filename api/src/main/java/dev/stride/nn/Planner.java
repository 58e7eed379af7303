package dev.stride.nn;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.layers.ActivationLayer;
import dev.stride.nn.layers.BatchNormLayer;
import dev.stride.nn.layers.ConvLayer;
import dev.stride.tensor.Sum;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a network into a {@link Plan} for one batch size and mode: decides the fusions, creates every layer's
 * primitives in execution order, and assigns activation and gradient buffers (sharing memory between buffers
 * whose lifetimes do not overlap).
 */
final class Planner {

    final Network network;
    final int batch;
    final Mode mode;
    final PlanOptions options;
    final Scope scope;
    final Stream stream;
    int reorders;

    /** A primary layer, the layers fused into it, and its op. */
    record Group(Node primary, Node tail, LayerOp op, String fusion) {}

    private final Map<Node, Node> absorbedInto = new IdentityHashMap<>();
    private final Map<Node, ActivationLayer> fusedActivation = new IdentityHashMap<>();
    private final Map<Node, Node> foldedBatchNorm = new IdentityHashMap<>();
    private final Map<Node, Node> tail = new IdentityHashMap<>();
    private final Map<Node, List<Node>> consumers = new IdentityHashMap<>();
    private final Map<Node, Tensor> outputs = new IdentityHashMap<>();
    private final Pool activationPool;
    private final Pool gradientPool;

    Planner(Network network, int batch, Mode mode, PlanOptions options) {
        this.network = network;
        this.batch = batch;
        this.mode = mode;
        this.options = options;
        this.scope = Scope.open("plan(batch=" + batch + ", " + mode.name().toLowerCase(java.util.Locale.ROOT) + ")");
        this.stream = Stream.create(scope);
        boolean reuse = options.reuseBuffers();
        this.activationPool = new Pool("activation", reuse && mode == Mode.INFERENCE);
        this.gradientPool = new Pool("gradient", reuse);
    }

    Plan plan() {
        try {
            return build();
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    private Plan build() {
        NetworkSpec spec = network.spec();
        for (Node n : spec.nodes()) {
            consumers.put(n, new ArrayList<>());
        }
        for (Node n : spec.nodes()) {
            for (Node in : n.inputs()) {
                consumers.get(in).add(n);
            }
        }
        decideFusions(spec);

        Node inputNode = spec.input();
        Tensor input = Tensor.allocate(scope, "input", MemoryDesc.plain(scope, batched(inputNode.shape())));
        outputs.put(inputNode, input);

        List<Group> groups = new ArrayList<>();
        Map<Node, Integer> pendingUses = new IdentityHashMap<>();
        for (Node n : spec.nodes()) {
            pendingUses.put(n, consumers.get(n).size());
        }
        for (Node n : spec.nodes()) {
            if (n.isInput() || absorbedInto.containsKey(n)) {
                continue;
            }
            List<Tensor> ins = n.inputs().stream().map(outputs::get).toList();
            PlanContext ctx = new PlanContext(this, n, ins, fusedActivation.get(n), foldedBatchNorm.get(n));
            LayerOp op = n.layer().plan(ctx);
            Node t = tail.getOrDefault(n, n);
            for (Node x = n; ; x = consumers.get(x).getFirst()) {
                outputs.put(x, op.output());
                if (x == t) {
                    break;
                }
            }
            groups.add(new Group(n, t, op, fusionText(n)));
            activationPool.sharedWith(op.output(), ins);
            for (Node in : new java.util.LinkedHashSet<>(n.inputs())) {
                int left = pendingUses.merge(in, -Collections.frequency(n.inputs(), in), Integer::sum);
                if (left == 0 && in != spec.output()) {
                    activationPool.release(outputs.get(in));
                }
            }
        }

        Node out = spec.output();
        Tensor result = outputs.get(out);
        Tensor plainOut = result;
        List<Runnable> finish = new ArrayList<>();
        if (!result.desc().isPlain()) {
            plainOut = Tensor.allocate(scope, "output", result.desc().plainLike(scope));
            finish.add(reorderStep(result, plainOut));
        }

        Plan.Backward backward = mode == Mode.TRAINING ? planBackward(groups, input, result) : null;
        return new Plan(network, scope, stream, batch, mode, options, input, plainOut, groups, finish, backward,
                reorders);
    }

    /** Which layers are fused into the layer before them (post-ops, fused flags, folded batch norms). */
    private void decideFusions(NetworkSpec spec) {
        for (Node n : spec.nodes()) {
            if (n.isInput() || absorbedInto.containsKey(n)) {
                continue;
            }
            Node cur = n;
            if (mode == Mode.INFERENCE && options.foldBatchNorm() && n.layer() instanceof ConvLayer) {
                Node next = soleConsumer(spec, cur);
                if (next != null && next.layer() instanceof BatchNormLayer) {
                    foldedBatchNorm.put(n, next);
                    absorbedInto.put(next, n);
                    cur = next;
                }
            }
            if (options.fuse()) {
                Node next = soleConsumer(spec, cur);
                if (next != null && next.layer() instanceof ActivationLayer a && n.layer().fuses(a, mode)) {
                    fusedActivation.put(n, a);
                    absorbedInto.put(next, n);
                    cur = next;
                }
            }
            tail.put(n, cur);
        }
    }

    /** The only consumer of {@code n}, when {@code n} is not itself a visible output. */
    private Node soleConsumer(NetworkSpec spec, Node n) {
        List<Node> c = consumers.get(n);
        return c.size() == 1 && n != spec.output() ? c.getFirst() : null;
    }

    private String fusionText(Node n) {
        StringBuilder s = new StringBuilder();
        if (foldedBatchNorm.containsKey(n)) {
            s.append(" + folded ").append(foldedBatchNorm.get(n).name());
        }
        if (fusedActivation.containsKey(n)) {
            s.append(" + fused ").append(tail.get(n).name());
        }
        return s.toString();
    }

    /** Output buffer for {@code node}: pooled in inference plans with reuse, its own buffer otherwise. */
    Tensor activation(Node node, MemoryDesc desc) {
        return activationPool.take(node.name() + ".out", desc);
    }

    private Runnable reorderStep(Tensor src, Tensor dst) {
        Reorder r = Reorder.create(scope, src.desc(), dst.desc());
        reorders++;
        ExecArgs args = r.bind(scope, src, dst);
        return () -> r.execute(stream, args);
    }

    /**
     * The backward pass, in reverse execution order. Each layer output that needs a gradient gets one buffer;
     * a tensor read by several layers gets one buffer per extra reader, summed into the first before its
     * producer's backward runs.
     */
    private Plan.Backward planBackward(List<Group> groups, Tensor input, Tensor result) {
        NetworkSpec spec = network.spec();
        Map<Node, Boolean> needsGrad = new IdentityHashMap<>();
        needsGrad.put(spec.input(), options.inputGradient());
        for (Group g : groups) {
            boolean trains = trains(g);
            boolean any = trains || g.primary().inputs().stream().anyMatch(needsGrad::get);
            for (Node x = g.primary(); ; x = consumers.get(x).getFirst()) {
                needsGrad.put(x, any);
                if (x == g.tail()) {
                    break;
                }
            }
        }
        Map<Node, Tensor> diff = new IdentityHashMap<>();
        Map<Node, List<Tensor>> extra = new IdentityHashMap<>();
        Tensor outputGrad = Tensor.allocate(scope, "output.grad", result.desc().plainLike(scope));
        List<Runnable> start = new ArrayList<>();
        Tensor diffOut = outputGrad;
        if (!result.desc().isPlain()) {
            diffOut = Tensor.allocate(scope, spec.output().name() + ".grad", result.desc());
            start.add(reorderStep(outputGrad, diffOut));
        }
        diff.put(spec.output(), diffOut);

        List<Plan.BackwardStep> steps = new ArrayList<>();
        for (Group g : groups.reversed()) {
            Tensor dOut = diff.get(g.tail());
            List<Node> ins = g.primary().inputs();
            boolean inputsNeedGrad = ins.stream().anyMatch(needsGrad::get);
            if (dOut == null || !(trains(g) || inputsNeedGrad)) {
                continue; // nothing downstream depends on it, or nothing to compute
            }
            Runnable accumulate = null;
            List<Tensor> more = extra.getOrDefault(g.tail(), List.of());
            if (!more.isEmpty()) {
                accumulate = sumInto(g.tail().name(), dOut, more);
            }
            List<Tensor> dIns = new ArrayList<>();
            for (Node in : ins) {
                if (!needsGrad.get(in)) {
                    dIns.add(null);
                    continue;
                }
                MemoryDesc d = outputs.get(in).desc();
                Tensor buf = gradientPool.take(in.name() + ".grad", d);
                if (diff.containsKey(in)) {
                    extra.computeIfAbsent(in, k -> new ArrayList<>()).add(buf);
                } else {
                    diff.put(in, buf);
                }
                dIns.add(buf);
            }
            g.op().planBackward(dOut, dIns);
            steps.add(new Plan.BackwardStep(accumulate, g.op()));
            if (dOut != diffOut) {
                gradientPool.release(dOut);
            }
            more.forEach(gradientPool::release);
        }
        Tensor inputGrad = null;
        List<Runnable> end = new ArrayList<>();
        if (options.inputGradient()) {
            Tensor d = diff.get(spec.input());
            inputGrad = d;
            List<Tensor> more = extra.getOrDefault(spec.input(), List.of());
            if (d != null && !more.isEmpty()) {
                end.add(sumInto("input", d, more));
            }
            if (d == null) {
                inputGrad = Tensor.allocate(scope, "input.grad", input.desc());
            }
        }
        return new Plan.Backward(outputGrad, start, steps, end, inputGrad);
    }

    private boolean trains(Group g) {
        return !network.isFrozen(g.primary()) && g.primary().parameterCount() > 0;
    }

    private Runnable sumInto(String name, Tensor dst, List<Tensor> more) {
        Tensor[] srcs = new Tensor[more.size() + 1];
        srcs[0] = dst;
        for (int i = 0; i < more.size(); i++) {
            srcs[i + 1] = more.get(i);
        }
        MemoryDesc[] descs = Arrays.stream(srcs).map(Tensor::desc).toArray(MemoryDesc[]::new);
        float[] ones = new float[srcs.length];
        Arrays.fill(ones, 1f);
        Sum.Forward sum = Sum.Forward.create(scope, name + ".grad_sum", ones, descs);
        ExecArgs args = sum.bind(scope, dst, srcs);
        return () -> sum.execute(stream, args);
    }

    long[] batched(Shape s) {
        long[] d = new long[s.rank() + 1];
        d[0] = batch;
        for (int i = 0; i < s.rank(); i++) {
            d[i + 1] = s.dim(i);
        }
        return d;
    }

    /**
     * Buffers handed out in execution order; a buffer released once its last reader has been planned can be
     * handed out again to a later one (the plan runs in the order it was planned). Views of a pooled buffer
     * keep it alive.
     */
    private final class Pool {
        private final String kind;
        private final boolean reuse;
        private final List<Slab> free = new ArrayList<>();
        private final Map<Long, Slab> byAddress = new HashMap<>();

        private final class Slab {
            final MemorySegment memory;
            int users;

            Slab(MemorySegment memory) {
                this.memory = memory;
            }
        }

        Pool(String kind, boolean reuse) {
            this.kind = kind;
            this.reuse = reuse;
        }

        Tensor take(String name, MemoryDesc desc) {
            if (!reuse) {
                return Tensor.allocate(scope, name, desc);
            }
            long bytes = desc.byteSize();
            Slab best = null;
            for (Slab s : free) {
                if (s.memory.byteSize() >= bytes && (best == null || s.memory.byteSize() < best.memory.byteSize())) {
                    best = s;
                }
            }
            if (best == null) {
                long floats = (bytes + Float.BYTES - 1) / Float.BYTES;
                Tensor backing = Tensor.allocate(scope, kind + "-buffer", MemoryDesc.plain(scope, Math.max(1, floats)));
                best = new Slab(backing.segment());
                byAddress.put(best.memory.address(), best);
            } else {
                free.remove(best);
            }
            best.users = 1;
            return Tensor.wrap(scope, name, desc, best.memory);
        }

        /** {@code out} may be a view of one of {@code ins} (flatten, identity): then it keeps that buffer alive. */
        void sharedWith(Tensor out, List<Tensor> ins) {
            Slab s = byAddress.get(out.segment().address());
            if (s != null && ins.stream().anyMatch(t -> t.segment().address() == out.segment().address())) {
                s.users++;
            }
        }

        void release(Tensor t) {
            if (!reuse || t == null) {
                return;
            }
            Slab s = byAddress.get(t.segment().address());
            if (s != null && --s.users == 0) {
                free.add(s);
            }
        }
    }
}
