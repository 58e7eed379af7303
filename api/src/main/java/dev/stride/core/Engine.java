package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A oneDNN CPU engine. Stride uses one per process, {@link #cpu()}, owned by the JVM for its whole life:
 * every primitive and memory object of a network refers to it, and it costs nothing to keep.
 *
 * <p>Thread-safe: one process-wide CPU engine, created once.
 */
public final class Engine {

    private static volatile Engine cpu;

    private final MemorySegment handle;

    private Engine(MemorySegment handle) {
        this.handle = handle;
    }

    /** The process-wide CPU engine, created on first use. */
    public static Engine cpu() {
        Engine e = cpu;
        if (e == null) {
            synchronized (Engine.class) {
                e = cpu;
                if (e == null) {
                    Dnnl.init();
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment out = a.allocate(ValueLayout.ADDRESS);
                        Dnnl.check(dnnl_h.dnnl_engine_create(out, dnnl_h.dnnl_cpu(), 0), "create CPU engine");
                        e = new Engine(out.get(ValueLayout.ADDRESS, 0));
                    }
                    cpu = e;
                }
            }
        }
        return e;
    }

    /** The {@code dnnl_engine_t}; borrowed, never destroy it. */
    public MemorySegment handle() {
        return handle;
    }

    @Override
    public String toString() {
        return "Engine[cpu]";
    }
}
