package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_exec_arg_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The argument array of one primitive execution, built once and reused every step. Binding checks each
 * tensor's layout against what the primitive expects; execution checks that no bound tensor was closed.
 */
public final class ExecArgs extends NativeResource {

    private final Primitive primitive;
    private final int[] kinds;
    private final Tensor[] tensors;
    private final Arena arena;
    private final MemorySegment array;

    private ExecArgs(Scope scope, Primitive primitive, int[] kinds, Tensor[] tensors) {
        super(scope);
        this.primitive = primitive;
        this.kinds = kinds;
        this.tensors = tensors;
        this.arena = Arena.ofShared();
        this.array = dnnl_exec_arg_t.allocateArray(kinds.length, arena);
        for (int i = 0; i < kinds.length; i++) {
            MemorySegment slot = dnnl_exec_arg_t.asSlice(array, i);
            dnnl_exec_arg_t.arg(slot, kinds[i]);
            dnnl_exec_arg_t.memory(slot, tensors[i].memory());
        }
        register();
    }

    /** Collects (argument, tensor) pairs for one primitive. */
    public static final class Builder {
        private final Primitive primitive;
        private final List<Integer> kinds = new ArrayList<>();
        private final List<Tensor> tensors = new ArrayList<>();

        Builder(Primitive primitive) {
            this.primitive = primitive;
        }

        /** Binds {@code t} to argument {@code arg}; its layout must be the one the primitive expects. */
        public Builder add(int arg, Tensor t) {
            if (t == null) {
                throw new IllegalArgumentException(primitive.name() + ": no tensor given for " + Arg.name(arg));
            }
            if (t.isClosed()) {
                throw new IllegalStateException(primitive.name() + ": " + t.describe() + " passed as "
                        + Arg.name(arg) + " is closed");
            }
            MemoryDesc expected = primitive.requireArgDesc(arg);
            if (!expected.sameAs(t.desc())) {
                throw new IllegalArgumentException(primitive.name() + ": " + Arg.name(arg) + " expects "
                        + expected.shapeString() + ", got tensor '" + t.name() + "' " + t.desc().shapeString()
                        + (java.util.Arrays.equals(expected.dims(), t.dims()) ? " (reorder it to the expected layout)" : ""));
            }
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

        /** The finished argument array, owned by {@code scope}; the primitive's scratchpad is added. */
        public ExecArgs build(Scope scope) {
            Tensor scratch = primitive.scratchpad();
            if (scratch != null && !kinds.contains(Arg.SCRATCHPAD)) {
                kinds.add(Arg.SCRATCHPAD);
                tensors.add(scratch);
            }
            int[] k = new int[kinds.size()];
            for (int i = 0; i < k.length; i++) {
                k[i] = kinds.get(i);
            }
            return new ExecArgs(scope, primitive, k, tensors.toArray(Tensor[]::new));
        }
    }

    void checkFor(Primitive p) {
        ensureOpen();
        if (p != primitive) {
            throw new IllegalArgumentException("arguments were bound for " + primitive.name() + ", not " + p.name());
        }
        for (int i = 0; i < tensors.length; i++) {
            if (tensors[i].isClosed() || !tensors[i].segment().scope().isAlive()) {
                tensors[i].ensureUsable(p.name() + " (" + Arg.name(kinds[i]) + ")");
            }
        }
    }

    int count() {
        return kinds.length;
    }

    MemorySegment array() {
        return array;
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

    @Override
    public long nativeBytes() {
        return array.byteSize();
    }

    @Override
    protected void release() {
        arena.close();
    }
}
