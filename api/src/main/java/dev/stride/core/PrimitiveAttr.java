package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Primitive attributes. Stride always asks for a user-managed scratchpad, so that a primitive's temporary
 * memory is allocated once by its owner instead of by oneDNN on every execution.
 *
 * <p>Not thread-safe: build it on one thread (it is a builder); once a primitive is created it is no longer read.
 */
public final class PrimitiveAttr extends NativeResource {

    private final NativeHandle handle;
    private String postOps = "";

    private PrimitiveAttr(Scope scope, MemorySegment h) {
        super(scope);
        this.handle = new NativeHandle(HandleKind.PRIMITIVE_ATTR, h);
        register();
    }

    /** Attributes with a user-managed scratchpad. */
    public static PrimitiveAttr create(Scope scope) {
        Dnnl.init();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_primitive_attr_create(out), "create primitive attributes");
            PrimitiveAttr attr = new PrimitiveAttr(scope, out.get(ValueLayout.ADDRESS, 0));
            Dnnl.check(dnnl_h.dnnl_primitive_attr_set_scratchpad_mode(attr.handle.get(),
                    dnnl_h.dnnl_scratchpad_mode_user()), "set user scratchpad mode");
            return attr;
        }
    }

    /** Copies {@code ops} into these attributes (oneDNN clones them; {@code ops} may be closed after). */
    public PrimitiveAttr postOps(PostOps ops) {
        ensureOpen();
        Dnnl.check(dnnl_h.dnnl_primitive_attr_set_post_ops(handle.get(), ops.handle()), "set post-ops");
        postOps = ops.describe();
        return this;
    }

    /** The {@code dnnl_primitive_attr_t}; borrowed. */
    public MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    @Override
    public String describe() {
        return "PrimitiveAttr" + (postOps.isEmpty() ? "" : " with " + postOps);
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
