package dev.stride.core;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Lets one thread at a time into an object that is not thread-safe (a plan, a custom op, an argument binding):
 * a second thread that calls in while the first is inside gets an {@link IllegalStateException} naming both
 * threads, instead of a silently wrong result. Handing the object to another thread between calls is fine.
 *
 * <pre>{@code
 * boolean entered = confinement.enter(what);
 * try {
 *     ... // the call
 * } finally {
 *     confinement.exit(entered);
 * }
 * }</pre>
 *
 * <p>Entering costs one compare-and-set and allocates nothing (the message is built only on failure). A nested
 * call on the thread already inside passes through ({@link #enter} returns false, and that call's
 * {@link #exit} leaves the object held). Thread-safe.
 */
public final class Confinement {

    private final AtomicReference<Thread> user = new AtomicReference<>();

    /**
     * Claims the object for the calling thread. Returns true when this call claimed it (release it with
     * {@code exit(true)}), false when the calling thread already held it (a nested call).
     *
     * @param what the object, named in the error by its {@link Resource#describe()} or {@code toString()} (only
     *             on failure, so passing {@code this} costs nothing)
     * @throws IllegalStateException when another thread is inside
     */
    public boolean enter(Object what) {
        Thread me = Thread.currentThread();
        if (user.compareAndSet(null, me)) {
            return true;
        }
        Thread other = user.get();
        if (other == me) {
            return false;
        }
        if (other == null && user.compareAndSet(null, me)) {
            return true; // the other thread left between the two reads
        }
        String name = what instanceof Resource r ? r.describe() : String.valueOf(what);
        throw new IllegalStateException(name + " is in use by thread " + label(other) + "; thread " + label(me)
                + " called it at the same time. It is not thread-safe: give each thread its own (a plan per thread,"
                + " or dev.stride.nn.PlanPool to serve one network), or hand it over between calls");
    }

    /** Releases the object after a call that {@link #enter} claimed; does nothing for a nested call. */
    public void exit(boolean entered) {
        if (entered) {
            user.set(null);
        }
    }

    /**
     * Waits until no other thread is inside, then claims the object for the calling thread (for close: it waits
     * for a running call to finish instead of freeing memory under it). Returns what {@link #enter} returns.
     */
    public boolean enterWaiting() {
        Thread me = Thread.currentThread();
        for (long pause = 1_000; ; pause = Math.min(pause * 2, 1_000_000)) {
            Thread other = user.get();
            if (other == me) {
                return false;
            }
            if (other == null && user.compareAndSet(null, me)) {
                return true;
            }
            LockSupport.parkNanos(pause); // calls last micro- to milliseconds: a short backoff is enough
        }
    }

    /** The thread inside now, or null. */
    public Thread user() {
        return user.get();
    }

    /** {@code 'name' (id 42)}: names can repeat, ids cannot. */
    static String label(Thread t) {
        return t == null ? "(none)" : "'" + t.getName() + "' (id " + t.threadId() + ")";
    }
}
