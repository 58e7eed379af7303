package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A oneDNN primitive descriptor: the implementation oneDNN picked and the layouts it wants.
 *
 * <p>Thread-safe for its queries once created (oneDNN's primitive descriptors are read-only).
 */
public final class PrimitiveDesc extends NativeResource {

    /** Calls a {@code dnnl_*_primitive_desc_create} function with the out-pointer to fill. */
    @FunctionalInterface
    public interface Creator {
        int create(MemorySegment out);
    }

    private final NativeHandle handle;
    private final String what;

    private PrimitiveDesc(Scope scope, String what, MemorySegment h) {
        super(scope);
        this.what = what;
        this.handle = new NativeHandle(HandleKind.PRIMITIVE_DESC, h);
        register();
    }

    /**
     * Creates a primitive descriptor. {@code what} names it in errors: "create {@code what} primitive
     * descriptor" is the operation a {@link DnnlException} reports.
     */
    public static PrimitiveDesc create(Scope scope, String what, Creator creator) {
        Dnnl.init();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(creator.create(out), "create " + what + " primitive descriptor");
            return new PrimitiveDesc(scope, what, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /**
     * The layout this primitive expects for an execution argument ({@link Arg}), as an owned copy, or
     * {@code null} when the primitive takes no such argument.
     */
    public MemoryDesc argDesc(Scope scope, int arg) {
        MemorySegment md = dnnl_h.dnnl_primitive_desc_query_md(handle(), dnnl_h.dnnl_query_exec_arg_md(), arg);
        if (md.equals(MemorySegment.NULL)) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nd = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(md, dnnl_h.dnnl_query_ndims_s32(), nd), "query ndims");
            if (nd.get(ValueLayout.JAVA_INT, 0) == 0) {
                return null;
            }
        }
        return MemoryDesc.copyOf(scope, md);
    }

    /** The implementation name oneDNN chose, e.g. {@code brg_conv_fwd:avx512_core}. */
    public String implementation() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_primitive_desc_query(handle(), dnnl_h.dnnl_query_impl_info_str(), 0, out),
                    "query implementation name");
            return out.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    /** The {@code dnnl_primitive_desc_t}; borrowed. */
    public MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    public String what() {
        return what;
    }

    @Override
    public String describe() {
        return "PrimitiveDesc " + what;
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
