package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A oneDNN execution stream on the CPU engine.
 *
 * <p>Not thread-safe; confined to one thread at a time (one stream per thread that executes): a second thread that
 * executes on it or waits on it while the first is inside gets an {@link IllegalStateException} naming both.
 */
public final class Stream extends NativeResource {

    private final NativeHandle handle;
    private final Confinement confinement = new Confinement();

    private Stream(Scope scope, MemorySegment h) {
        super(scope);
        this.handle = new NativeHandle(HandleKind.STREAM, h);
        register();
    }

    /** A stream on {@link Engine#cpu()} owned by {@code scope}. */
    public static Stream create(Scope scope) {
        Engine engine = Engine.cpu();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_stream_create(out, engine.handle(), dnnl_h.dnnl_stream_default_flags()),
                    "create stream");
            return new Stream(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** Blocks until everything submitted to this stream has finished. */
    public void await() {
        boolean entered = enter();
        try {
            beginUse("wait for stream");
            try {
                Dnnl.check(dnnl_h.dnnl_stream_wait(handle.get()), "wait for stream");
            } finally {
                endUse();
            }
        } finally {
            exit(entered);
        }
    }

    /** Claims the stream for the calling thread (see {@link Confinement#enter}). */
    boolean enter() {
        return confinement.enter(this);
    }

    void exit(boolean entered) {
        confinement.exit(entered);
    }

    /** The {@code dnnl_stream_t}; borrowed. */
    public MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    @Override
    public String describe() {
        return "Stream";
    }

    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        handle.destroy();
    }
}
