package dev.stride.tensor;

import dev.stride.core.ExecArgs;
import dev.stride.core.NativeResource;
import dev.stride.core.Primitive;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A fixed sequence of primitive executions with their arguments bound once: what a pass made of several
 * oneDNN primitives (the gradient of a broadcast multiply, the slices of a concatenation's backward) returns
 * from {@code bind}. Executing it allocates nothing. It owns its argument arrays and any views it was given.
 *
 * <p>Not thread-safe; confined to one thread at a time like the {@link dev.stride.core.ExecArgs} it runs: a
 * concurrent caller gets IllegalStateException.
 */
public final class Steps extends NativeResource {

    private final String name;
    private final Scope own;
    private final List<Primitive> primitives = new ArrayList<>();
    private final List<ExecArgs> args = new ArrayList<>();
    private final List<Tensor> guarded = new ArrayList<>();

    private Steps(Scope scope, String name) {
        super(scope);
        this.name = name;
        this.own = scope.child(name);
        register();
    }

    /** An empty sequence owned by {@code scope}; fill it with {@link #add} before executing. */
    static Steps open(Scope scope, String name) {
        return new Steps(scope, name);
    }

    /** The scope that argument arrays and views of this sequence live in. */
    Scope own() {
        return own;
    }

    /** Appends one execution; {@code a} must have been built in {@link #own()} for {@code p}. */
    Steps add(Primitive p, ExecArgs a) {
        primitives.add(p);
        args.add(a);
        return this;
    }

    /**
     * Makes {@link #execute} refuse to run once {@code t} is closed: for a tensor that is reached only
     * through a view (a sub-memory of its bytes), which the argument check cannot see.
     */
    Steps guard(Tensor t) {
        guarded.add(t);
        return this;
    }

    /** Runs every step in order on {@code stream}; does not wait. */
    public void execute(Stream stream) {
        ensureOpen();
        for (Tensor t : guarded) {
            if (t.isClosed()) {
                throw new IllegalStateException(name + ": " + t.describe() + " is closed");
            }
        }
        for (int i = 0; i < primitives.size(); i++) {
            primitives.get(i).execute(stream, args.get(i));
        }
    }

    /** Number of primitive executions. */
    public int size() {
        return primitives.size();
    }

    @Override
    public String describe() {
        return "Steps " + name + " (" + primitives.size() + " executions)";
    }

    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        own.close();
    }
}
