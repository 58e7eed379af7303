package dev.stride.nn;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.train.Parameter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A network's tensors: every parameter and saved statistic of a {@link NetworkSpec}, plain f32 and named
 * ({@code conv1.weight}, {@code bn1.running_mean}), plus a gradient for every learnable parameter. Plans for
 * a batch size and mode ({@link #plan}) run over these same tensors, so an optimizer step or a loaded
 * checkpoint is seen by every plan. Closing the network closes its plans and frees everything.
 *
 * <p>Thread-safe for serving: {@link #plan} may be called from any thread, and plans of one network may run at
 * the same time on different threads, one thread per plan (they only read the shared weights); a
 * {@link PlanPool} packages that. {@link #close()} waits for every plan's running call, then frees everything.
 * Not supported while other threads run its plans: changing the weights ({@link #load}, an optimizer step, a
 * checkpoint load) or {@link #setFrozen}; those readers would see a half-updated model. Training belongs on one
 * thread.
 *
 * <pre>{@code
 * try (Network net = Network.create(spec, 42)) {
 *     Plan train = net.plan(64, Mode.TRAINING);
 *     ...
 * }
 * }</pre>
 */
public final class Network implements AutoCloseable {

    private final NetworkSpec spec;
    private final Scope scope;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, Tensor> gradients = new LinkedHashMap<>();
    /** Concurrent: read while planning on any thread. */
    private final Set<String> frozen = ConcurrentHashMap.newKeySet();
    /** Guarded by itself; a plan removes itself when it closes. */
    private final List<Plan> plans = new ArrayList<>();
    /** Held while planning and while closing, so a plan is never created into a closing network. */
    private final Object lifecycle = new Object();
    private volatile boolean closed;

    private Network(NetworkSpec spec, Scope scope) {
        this.spec = spec;
        this.scope = scope;
    }

    /** Allocates and initialises every tensor of {@code spec}; the same seed gives the same initial values. */
    public static Network create(NetworkSpec spec, long seed) {
        Network net = new Network(spec, Scope.open("network"));
        try {
            SplittableRandom random = new SplittableRandom(seed);
            for (Node n : spec.nodes()) {
                if (n.frozen()) {
                    net.frozen.add(n.name());
                }
                for (Param p : n.params()) {
                    String q = n.name() + "." + p.name();
                    Tensor t = Tensor.of(net.scope, q, p.initialValues(random.split()), p.dims());
                    net.tensors.put(q, t);
                    if (!p.state()) {
                        net.gradients.put(q, Tensor.zeros(net.scope, q + ".grad", p.dims()));
                    }
                }
            }
            return net;
        } catch (RuntimeException e) {
            net.scope.close();
            throw e;
        }
    }

    public NetworkSpec spec() {
        return spec;
    }

    /** Every tensor by qualified name, in layer order (PyTorch's {@code state_dict()}). */
    public Map<String, Tensor> tensors() {
        ensureOpen();
        return Collections.unmodifiableMap(tensors);
    }

    /** Tensor {@code name} ({@code conv1.weight}); the error lists the names there are. */
    public Tensor tensor(String name) {
        ensureOpen();
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "'; the network has " + tensors.keySet());
        }
        return t;
    }

    /** The gradient of learnable parameter {@code name}, or null for saved state. */
    Tensor gradient(String name) {
        return gradients.get(name);
    }

    /**
     * The learnable parameters of layers that are not frozen, with their gradients, in layer order. A layer's
     * parameter names may themselves contain dots ({@code se1.fc1.weight}), so the owner is taken from the
     * layer, not parsed from the name.
     */
    public List<Parameter> parameters() {
        ensureOpen();
        List<Parameter> out = new ArrayList<>();
        for (Node n : spec.nodes()) {
            if (frozen.contains(n.name())) {
                continue;
            }
            for (Param p : n.params()) {
                String q = n.name() + "." + p.name();
                if (!p.state()) {
                    out.add(new Parameter(q, tensors.get(q), gradients.get(q)));
                }
            }
        }
        return out;
    }

    /**
     * Freezes (or unfreezes) layers by name: their parameters get no gradient and no update. Applies to plans
     * created afterwards; fine-tuning freezes the early layers, then plans.
     */
    public void setFrozen(boolean freeze, String... layers) {
        for (String l : layers) {
            spec.node(l); // names an existing layer, or throws listing them
            if (freeze) {
                frozen.add(l);
            } else {
                frozen.remove(l);
            }
        }
    }

    public boolean isFrozen(Node node) {
        return frozen.contains(node.name());
    }

    /**
     * Copies {@code values} (plain, row-major) into tensor {@code name}, checking the element count and dims.
     * Dims may differ only by how they are split ({@code 10 x 3136} into {@code 10 x 64 x 7 x 7}), as PyTorch's
     * linear weights after a flatten do.
     */
    public void load(String name, long[] dims, MemorySegment values) {
        Tensor t = tensor(name);
        long want = t.segment().byteSize() / Float.BYTES;
        long have = 1;
        for (long d : dims) {
            have *= d;
        }
        if (have != want) {
            throw new IllegalArgumentException("tensor '" + name + "': expected dims " + Arrays.toString(t.dims())
                    + " (" + want + " values), got " + Arrays.toString(dims) + " (" + have + " values)");
        }
        if (values.byteSize() != have * Float.BYTES) {
            throw new IllegalArgumentException("tensor '" + name + "': " + Arrays.toString(dims) + " needs "
                    + have * Float.BYTES + " bytes of f32, got " + values.byteSize());
        }
        MemorySegment.copy(values, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, t.segment(), ValueLayout.JAVA_FLOAT, 0, have);
    }

    /** Plans the network for {@code batch} samples in {@code mode} with every optimisation on. */
    public Plan plan(int batch, Mode mode) {
        return plan(batch, mode, PlanOptions.defaults());
    }

    /**
     * Plans the network: creates every primitive and buffer once; the plan belongs to this network. Safe to call
     * from several threads (plans are created one at a time).
     */
    public Plan plan(int batch, Mode mode, PlanOptions options) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
        }
        requireBatchFits(batch);
        synchronized (lifecycle) {
            ensureOpen();
            Plan p = new Planner(this, batch, mode, options).plan();
            synchronized (plans) {
                plans.add(p);
            }
            return p;
        }
    }

    /** Every layer's output for {@code batch} samples must fit one tensor ({@link MemoryDesc#MAX_ELEMENTS}). */
    private void requireBatchFits(int batch) {
        Node largest = spec.input();
        for (Node n : spec.nodes()) {
            if (n.shape().elements() > largest.shape().elements()) {
                largest = n;
            }
        }
        long perSample = largest.shape().elements(); // <= MAX_ELEMENTS: the builder checked every shape
        if (batch > MemoryDesc.MAX_ELEMENTS / perSample) {
            throw new IllegalArgumentException("batch " + batch + " is too large: " + largest.name() + "'s "
                    + largest.shape() + " per sample makes " + Math.multiplyExact(batch, perSample)
                    + " elements, more than one tensor may hold (" + MemoryDesc.MAX_ELEMENTS
                    + ", MemoryDesc.MAX_ELEMENTS); at most batch " + MemoryDesc.MAX_ELEMENTS / perSample);
        }
    }

    void forget(Plan p) {
        synchronized (plans) {
            plans.remove(p);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("network is closed");
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes every plan of this network (each waits for a call running on another thread to return), then frees
     * the network's tensors. Later calls on the network or its plans get an {@link IllegalStateException}.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            closed = true;
            List<Plan> open;
            synchronized (plans) {
                open = List.copyOf(plans);
            }
            RuntimeException failure = null;
            for (Plan p : open) {
                try {
                    p.close();
                } catch (RuntimeException e) { // close the rest; a plan that failed can be closed again
                    failure = failure == null ? e : failure;
                }
            }
            scope.close();
            if (failure != null) {
                throw failure;
            }
        }
    }
}
