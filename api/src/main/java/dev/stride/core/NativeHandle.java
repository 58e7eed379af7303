package dev.stride.core;

import java.lang.foreign.MemorySegment;

/** One owned oneDNN handle: destroyed exactly once with the function its {@link HandleKind} names. */
final class NativeHandle {
    private final HandleKind kind;
    private final MemorySegment handle;

    NativeHandle(HandleKind kind, MemorySegment handle) {
        if (handle.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("oneDNN returned a null " + kind.label);
        }
        this.kind = kind;
        this.handle = handle;
    }

    MemorySegment get() {
        return handle;
    }

    void destroy() {
        kind.destroy(handle);
    }
}
