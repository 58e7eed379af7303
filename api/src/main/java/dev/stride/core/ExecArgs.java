package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_exec_arg_t;
import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The argument array of one primitive execution, built once and reused every step. Binding checks each
 * tensor's layout against what the primitive expects; execution checks that no bound tensor was closed.
 *
 * <p>Each binding owns its own scratchpad (allocated when it is built, freed with it), so one {@link Primitive}
 * can run on several threads at once, each with its own {@code ExecArgs} and {@link Stream}, as oneDNN allows.
 * While it executes, the binding marks the primitive, the stream and every bound tensor {@linkplain
 * NativeResource#beginUse in use}, so none of them can be closed under it.
 *
 * <p>Not thread-safe; confined to one thread at a time: a second thread that executes it while the first is
 * inside gets an {@link IllegalStateException} naming both threads.
 */
public final class ExecArgs extends NativeResource {

    private final Primitive primitive;
    private final int[] kinds;
    private final Tensor[] tensors;
    private final Scope own;
    private final Arena arena;
    private final MemorySegment array;
    /** What an execution marks in use: the primitive, this binding, then the tensors in argument order. */
    private final NativeResource[] used;
    /** Each one's name in errors, built once: execution must not allocate. */
    private final String[] uses;
    private final Confinement confinement = new Confinement();

    private ExecArgs(Scope scope, Primitive primitive, int[] kinds, Tensor[] tensors, Scope own) {
        super(scope);
        this.primitive = primitive;
        this.kinds = kinds;
        this.tensors = tensors;
        this.own = own;
        this.arena = Arena.ofShared();
        this.array = dnnl_exec_arg_t.allocateArray(kinds.length, arena);
        for (int i = 0; i < kinds.length; i++) {
            MemorySegment slot = dnnl_exec_arg_t.asSlice(array, i);
            dnnl_exec_arg_t.arg(slot, kinds[i]);
            dnnl_exec_arg_t.memory(slot, tensors[i].memory());
        }
        this.used = new NativeResource[kinds.length + 2];
        this.uses = new String[used.length];
        used[0] = primitive;
        used[1] = this;
        uses[0] = uses[1] = "execute " + primitive.name();
        for (int i = 0; i < kinds.length; i++) {
            used[i + 2] = tensors[i];
            uses[i + 2] = primitive.name() + " (" + Arg.name(kinds[i]) + ")";
        }
        own.ownedBy(this);
        register();
    }

    /**
     * The check binding makes of one argument, for ops that bind a caller's tensor to primitives of their own
     * (so the error names the caller's argument): {@code t} is given, open and in layout {@code want}, otherwise
     * an {@link IllegalArgumentException} (an {@link IllegalStateException} when closed) naming {@code owner} and
     * {@code what}.
     */
    public static void requireBindable(String owner, String what, Tensor t, MemoryDesc want) {
        if (t == null) {
            throw new IllegalArgumentException(owner + ": no tensor given for " + what);
        }
        if (t.isClosed()) {
            throw new IllegalStateException(owner + ": " + t.describe() + " passed as " + what + " is closed");
        }
        if (!want.sameAs(t.desc())) {
            throw new IllegalArgumentException(owner + ": " + what + " expects " + want.shapeString() + ", got tensor '"
                    + t.name() + "' " + t.desc().shapeString()
                    + (java.util.Arrays.equals(want.dims(), t.dims()) ? " (reorder it to the expected layout)" : ""));
        }
    }

    /** Collects (argument, tensor) pairs for one primitive. Not thread-safe: one thread builds it. */
    public static final class Builder {
        private final Primitive primitive;
        private final List<Integer> kinds = new ArrayList<>();
        private final List<Tensor> tensors = new ArrayList<>();

        Builder(Primitive primitive) {
            this.primitive = primitive;
        }

        /** Binds {@code t} to argument {@code arg}; its layout must be the one the primitive expects. */
        public Builder add(int arg, Tensor t) {
            // Null and closed are refused before asking the primitive for the layout, as before.
            requireBindable(primitive.name(), Arg.name(arg), t, t == null || t.isClosed() ? null
                    : primitive.requireArgDesc(arg));
            if (kinds.contains(arg)) {
                throw new IllegalArgumentException(primitive.name() + ": " + Arg.name(arg) + " bound twice");
            }
            kinds.add(arg);
            tensors.add(t);
            return this;
        }

        /** Binds {@code t} when it is not null (optional arguments such as bias). */
        public Builder addIfPresent(int arg, Tensor t) {
            if (t == null && primitive.argDesc(arg) != null) {
                // Left out, oneDNN would read or write through a null pointer.
                throw new IllegalArgumentException(primitive.name() + ": no tensor given for " + Arg.name(arg)
                        + ", which this primitive takes");
            }
            return t == null ? this : add(arg, t);
        }

        /**
         * The finished argument array, owned by {@code scope}. When the primitive needs a scratchpad and none was
         * bound, the array gets its own, allocated now and freed with it.
         */
        public ExecArgs build(Scope scope) {
            Scope own = Scope.open(primitive.name() + ".args");
            try {
                List<Integer> k = new ArrayList<>(kinds);
                List<Tensor> t = new ArrayList<>(tensors);
                MemoryDesc sd = primitive.scratchpadDesc();
                if (sd != null && !k.contains(Arg.SCRATCHPAD)) {
                    k.add(Arg.SCRATCHPAD);
                    t.add(Tensor.allocate(own, primitive.name() + ".scratchpad", sd));
                }
                int[] ks = k.stream().mapToInt(Integer::intValue).toArray();
                return new ExecArgs(scope, primitive, ks, t.toArray(Tensor[]::new), own);
            } catch (RuntimeException e) {
                own.close();
                throw e;
            }
        }
    }

    /**
     * Runs {@code p} (whose handle is {@code handle}) on {@code stream} with these arguments, everything involved
     * marked in use meanwhile. Allocates nothing.
     */
    void execute(Primitive p, MemorySegment handle, Stream stream, String operation) {
        boolean entered = confinement.enter(this);
        try {
            if (p != primitive) {
                ensureOpen();
                throw new IllegalArgumentException("arguments were bound for " + primitive.name() + ", not " + p.name());
            }
            boolean streamEntered = stream.enter();
            try {
                stream.beginUse(operation);
                int begun = 0;
                try {
                    for (; begun < used.length; begun++) {
                        used[begun].beginUse(uses[begun]);
                    }
                    for (int i = 0; i < tensors.length; i++) {
                        if (!tensors[i].segment().scope().isAlive()) {
                            tensors[i].ensureUsable(uses[i + 2]);
                        }
                    }
                    Dnnl.check(dnnl_h.dnnl_primitive_execute(handle, stream.handle(), kinds.length, array), operation);
                } finally {
                    while (begun > 0) {
                        used[--begun].endUse();
                    }
                    stream.endUse();
                }
            } finally {
                stream.exit(streamEntered);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /** The tensor bound to {@code arg}, or null. */
    public Tensor tensor(int arg) {
        for (int i = 0; i < kinds.length; i++) {
            if (kinds[i] == arg) {
                return tensors[i];
            }
        }
        return null;
    }

    @Override
    public String describe() {
        return "ExecArgs for " + primitive.name() + " (" + kinds.length + " arguments)";
    }

    /** The array and, when it owns one, the scratchpad. */
    @Override
    public long nativeBytes() {
        return array.byteSize() + own.liveBytes();
    }

    @Override
    protected void release() {
        try {
            arena.close(); // first: the one step that can be refused, before anything is freed
        } catch (IllegalStateException e) {
            throw new StillInUse("a native call holds its argument array: " + e.getMessage(), e);
        }
        own.close();
    }
}
