package dev.stride.core;

import java.util.Arrays;

/**
 * Base of a primitive family's direction that wraps exactly one {@link Primitive} ({@code Convolution.Forward},
 * {@code Eltwise.Backward}, ...): holds the layer's name and the primitive, runs prebuilt {@link ExecArgs}, and
 * closes the primitive when closed. Subclasses add their own accessors, {@code bind} and {@link #describe()}.
 *
 * <p>Subclasses assign their own fields before calling {@code super(...)} (a flexible constructor body), so the
 * object is fully built when this constructor registers it with its scope.
 *
 * <p>Thread-safe, like its {@link Primitive}: several threads may execute it at once, each with its own {@link
 * ExecArgs} and {@link Stream}; an {@code ExecArgs} is confined to one thread at a time.
 */
public abstract class PrimitiveOp extends NativeResource {

    /** The layer's name, used in errors. */
    protected final String name;
    protected final Primitive primitive;

    /**
     * Takes ownership of {@code primitive} and registers with {@code scope}: call it last, after the subclass's
     * own fields are assigned (which is why registering here does not let a half-built object escape).
     */
    @SuppressWarnings("this-escape")
    protected PrimitiveOp(Scope scope, String name, Primitive primitive) {
        super(scope);
        this.name = name;
        this.primitive = primitive;
        register();
    }

    /** The layer's name, as given at creation. */
    public String name() {
        return name;
    }

    public Primitive primitive() {
        return primitive;
    }

    /** Runs the primitive with arguments bound once by the subclass's {@code bind}; does not wait. */
    public void execute(Stream stream, ExecArgs args) {
        primitive.execute(stream, args);
    }

    /** The layout the primitive expects for {@code arg}; fails naming the primitive when it takes no such argument. */
    protected MemoryDesc argDesc(int arg) {
        return primitive.requireArgDesc(arg);
    }

    /** 0: the {@link Primitive} counts its own scratchpad. */
    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        primitive.close();
    }

    // One-off conveniences (executePlain and the like): reorder user tensors into the primitive's layouts.

    /** {@code t} itself when it has {@code want}'s layout, otherwise a reordered copy in {@code tmp}. */
    protected Tensor matching(Scope tmp, Tensor t, MemoryDesc want, Stream stream, String what) {
        Tensor v = withDims(tmp, t, want, what);
        return v.desc().sameAs(want) ? v : v.reorder(tmp, want, stream);
    }

    /**
     * Where the primitive writes the output {@code t}: {@code t} itself when it has {@code want}'s layout,
     * otherwise a fresh tensor in {@code tmp} that {@link Output#finish} reorders back into {@code t}.
     */
    protected Output output(Scope tmp, Tensor t, MemoryDesc want, String what) {
        Tensor v = withDims(tmp, t, want, what);
        if (v.desc().sameAs(want)) {
            return new Output(v, null);
        }
        return new Output(Tensor.allocate(tmp, name + "." + what, want), v);
    }

    /**
     * An output the primitive also reads (e.g. a sum post-op accumulates onto it): {@code t} itself when it has
     * {@code want}'s layout, otherwise a reordered copy that {@link Output#finish} reorders back into {@code t}.
     */
    protected Output inOut(Scope tmp, Tensor t, MemoryDesc want, Stream stream, String what) {
        Tensor v = withDims(tmp, t, want, what);
        if (v.desc().sameAs(want)) {
            return new Output(v, null);
        }
        return new Output(v.reorder(tmp, want, stream), v);
    }

    /**
     * {@code t} with {@code want}'s dims (any layout), or an {@link IllegalArgumentException} naming the layer;
     * a subclass may accept other dims it can view as {@code want}'s.
     */
    protected Tensor withDims(Scope tmp, Tensor t, MemoryDesc want, String what) {
        if (want == null) {
            throw new IllegalArgumentException(name + ": tensor '" + (t == null ? "null" : t.name()) + "' given for "
                    + what + ", which this layer does not take");
        }
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor given for " + what);
        }
        if (!Arrays.equals(t.dims(), want.dims())) {
            throw new IllegalArgumentException(name + ": " + what + " must have dims " + Arrays.toString(want.dims())
                    + ", got tensor '" + t.name() + "' " + t.desc().shapeString());
        }
        return t;
    }

    /** Where a primitive writes an output ({@code exec}), and what to reorder that into afterwards (or null). */
    protected record Output(Tensor exec, Tensor copyTo) {
        /** Reorders {@code exec} into the caller's tensor when they differ; call after the stream is done. */
        public void finish(Stream stream) {
            if (copyTo != null) {
                exec.reorderInto(copyTo, stream);
            }
        }
    }
}
