package dev.stride.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 *
 * <p>A computation running on a resource marks it {@linkplain #beginUse in use} (a primitive execution marks
 * the primitive, the stream, the argument binding and every bound tensor; the custom ops mark their tensors).
 * {@link #close()} of a resource in use refuses with an {@link IllegalStateException} naming the thread using
 * it and leaves the resource open and usable, so no thread ever frees memory that native code or a kernel on
 * another thread is reading. Close it again once that call has returned.
 *
 * <p>Thread-safe: {@link #close()}, {@link #isClosed()}, {@link #beginUse}/{@link #endUse} may be called from any
 * thread; what a subclass does with its contents is documented by the subclass.
 */
public abstract class NativeResource implements Resource {

    private static final Set<NativeResource> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicLong SEQUENCE = new AtomicLong();
    /** Open leak-checked scopes; while there are any, creation sites are recorded for the report. */
    static final AtomicInteger TRACING = new AtomicInteger();

    private final Scope scope;
    private final long sequence;
    private final Throwable createdAt;
    /** {@link #CLOSED}, or the number of computations using this resource right now (0: open and idle). */
    private volatile int users;
    /** The thread that last began using it, for the message when close is refused. */
    private volatile Thread lastUser;

    private static final int CLOSED = -1;
    private static final VarHandle USERS;

    static {
        try {
            USERS = MethodHandles.lookup().findVarHandle(NativeResource.class, "users", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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
        return users == CLOSED;
    }

    /** Throws {@link IllegalStateException} naming this resource when it is closed. */
    protected final void ensureOpen() {
        if (users == CLOSED) {
            throw new IllegalStateException(describe() + " is closed");
        }
    }

    /**
     * Marks this resource used by a computation that starts now on the calling thread; until the matching
     * {@link #endUse()}, {@link #close()} refuses instead of freeing it. For code that hands the resource's memory
     * or handle to native code or to kernels (the custom ops); always pair it with {@code endUse()} in a
     * {@code finally}. Allocates nothing.
     *
     * @param user names the computation in the error, e.g. {@code "execute conv1"}
     * @throws IllegalStateException when the resource is closed (nothing is marked then)
     */
    public final void beginUse(String user) {
        for (;;) {
            int u = users;
            if (u == CLOSED) {
                throw new IllegalStateException(user + ": " + describe() + " is closed");
            }
            if (USERS.compareAndSet(this, u, u + 1)) {
                lastUser = Thread.currentThread();
                return;
            }
        }
    }

    /** Ends a use begun by {@link #beginUse}. */
    public final void endUse() {
        for (;;) {
            int u = users;
            if (u <= 0) {
                throw new IllegalStateException(describe() + ": endUse() without a matching beginUse()");
            }
            if (USERS.compareAndSet(this, u, u - 1)) {
                return;
            }
        }
    }

    /**
     * {@link #beginUse} on every resource given that is not null, for a call that works on several (a custom op's
     * tensors); when one is closed, ends the uses already begun and throws.
     */
    public static void beginUseAll(String user, NativeResource... resources) {
        int i = 0;
        try {
            for (; i < resources.length; i++) {
                if (resources[i] != null) {
                    resources[i].beginUse(user);
                }
            }
        } catch (RuntimeException e) {
            while (i > 0) {
                NativeResource r = resources[--i];
                if (r != null) {
                    r.endUse();
                }
            }
            throw e;
        }
    }

    /** {@link #endUse} on every resource given that is not null: the end of {@link #beginUseAll}. */
    public static void endUseAll(NativeResource... resources) {
        for (NativeResource r : resources) {
            if (r != null) {
                r.endUse();
            }
        }
    }

    /**
     * Frees the resource; does nothing when it is already closed. Refuses with an {@link IllegalStateException}
     * naming the thread when a computation is using it right now (see {@link #beginUse}): the resource then stays
     * open and usable.
     */
    @Override
    public final void close() {
        for (;;) {
            int u = users;
            if (u == CLOSED) {
                return;
            }
            if (u > 0) {
                throw inUse(u);
            }
            if (USERS.compareAndSet(this, 0, CLOSED)) {
                break;
            }
        }
        try {
            release();
        } catch (StillInUse e) {
            users = 0; // release() undid nothing yet: the resource is whole and stays open
            throw new IllegalStateException(describe() + " is in use by another thread (" + e.getMessage()
                    + "): it was not closed and stays usable; close it once that call has returned", e);
        } catch (RuntimeException | Error e) {
            forget();
            throw e;
        }
        forget();
    }

    private void forget() {
        LIVE.remove(this);
        scope.unregister(this);
    }

    private IllegalStateException inUse(int count) {
        return new IllegalStateException(describe() + " is in use by thread " + Confinement.label(lastUser)
                + (count > 1 ? " and " + (count - 1) + " other running call(s)" : "") + "; thread "
                + Confinement.label(Thread.currentThread()) + " cannot close it now. It was not closed and stays"
                + " usable; close it once that call has returned");
    }

    /**
     * Thrown by {@link #release()} before it has freed anything, when the memory turns out to be in use after
     * all (a shared arena that a kernel on another thread is reading): {@link #close()} then reopens the resource.
     */
    static final class StillInUse extends RuntimeException {
        StillInUse(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Frees the native side exactly once. It may throw {@code StillInUse} only before it has freed anything;
     * after that it must finish.
     */
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
