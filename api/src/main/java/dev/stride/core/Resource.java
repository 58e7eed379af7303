package dev.stride.core;

/**
 * Something that owns native memory or a native handle. Closing is idempotent; using a closed resource throws
 * {@link IllegalStateException} naming it.
 *
 * <p>Implementations state their own thread contract; in every {@link NativeResource}, {@link #close()} and {@link
 * #isClosed()} are thread-safe and a close during a running call is refused.
 */
public interface Resource extends AutoCloseable {

    /** A one-line description for errors and leak reports: kind, name, shape, size. */
    String describe();

    /** Native bytes this resource holds (0 for handles whose size oneDNN does not report). */
    long nativeBytes();

    boolean isClosed();

    @Override
    void close();
}
