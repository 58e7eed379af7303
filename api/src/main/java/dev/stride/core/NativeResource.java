package dev.stride.core;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Base of every owned native resource: registers with its {@link Scope} when created, unregisters when
 * closed, and turns use-after-close into an {@link IllegalStateException} instead of a crash.
 *
 * <p>Every live resource is also in one process-wide set, so a {@linkplain Scope#leakChecked leak-checked}
 * scope can see leaks wherever they happen, inside the library's own temporary scopes included.
 */
public abstract class NativeResource implements Resource {

    private static final Set<NativeResource> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicLong SEQUENCE = new AtomicLong();
    /** Open leak-checked scopes; while there are any, creation sites are recorded for the report. */
    static final AtomicInteger TRACING = new AtomicInteger();

    private final Scope scope;
    private final long sequence;
    private final Throwable createdAt;
    private volatile boolean closed;

    protected NativeResource(Scope scope) {
        if (scope == null) {
            throw new IllegalArgumentException("scope must not be null: every native resource needs an owner");
        }
        this.scope = scope;
        this.sequence = SEQUENCE.incrementAndGet();
        this.createdAt = TRACING.get() > 0 ? new Throwable("created here") : null;
    }

    /** Call at the end of the subclass constructor, once the resource is fully built. */
    protected final void register() {
        scope.register(this);
        LIVE.add(this);
    }

    /** The scope that owns this resource. */
    public final Scope scope() {
        return scope;
    }

    @Override
    public final boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} naming this resource when it is closed. */
    protected final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(describe() + " is closed");
        }
    }

    @Override
    public final void close() {
        if (closed) {
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            release();
        } finally {
            LIVE.remove(this);
            scope.unregister(this);
        }
    }

    /** Frees the native side exactly once. */
    protected abstract void release();

    static long currentSequence() {
        return SEQUENCE.get();
    }

    /** Resources created after {@code sequence} that are still open, oldest first. */
    static List<NativeResource> liveSince(long sequence) {
        return LIVE.stream().filter(r -> r.sequence > sequence)
                .sorted((a, b) -> Long.compare(a.sequence, b.sequence)).toList();
    }

    /** Number of native resources open in this process. */
    public static int liveCount() {
        return LIVE.size();
    }

    /** Native bytes held by open resources in this process. */
    public static long liveBytes() {
        long sum = 0;
        for (NativeResource r : LIVE) {
            sum += r.nativeBytes();
        }
        return sum;
    }

    /** Where this resource was created, when a leak-checked scope was open at the time. */
    String origin() {
        if (createdAt == null) {
            return "";
        }
        for (StackTraceElement el : createdAt.getStackTrace()) {
            String cls = el.getClassName();
            if (!cls.startsWith("dev.stride.core.") || cls.endsWith("Test")) {
                return ", created at " + el;
            }
        }
        return "";
    }
}
