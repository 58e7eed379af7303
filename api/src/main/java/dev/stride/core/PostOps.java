package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.eltwise.Eltwise;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Operations oneDNN fuses onto the end of a primitive (conv + bias + ReLU in one pass): element-wise
 * functions and a sum with the existing destination. Build it, then hand it to {@link PrimitiveAttr}.
 *
 * <p>Not thread-safe: build it on one thread (it is a builder); once attached to a primitive it is no longer read.
 */
public final class PostOps extends NativeResource {

    private final NativeHandle handle;
    private final List<String> steps = new ArrayList<>();

    private PostOps(Scope scope, MemorySegment h) {
        super(scope);
        this.handle = new NativeHandle(HandleKind.POST_OPS, h);
        register();
    }

    public static PostOps create(Scope scope) {
        Dnnl.init();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_post_ops_create(out), "create post-ops");
            return new PostOps(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** Appends {@code dst = alg(dst; alpha, beta)}. */
    public PostOps eltwise(Eltwise.Algorithm alg, float alpha, float beta) {
        ensureOpen();
        Dnnl.check(dnnl_h.dnnl_post_ops_append_eltwise(handle.get(), alg.value(), alpha, beta),
                "append eltwise post-op " + alg);
        steps.add(alg.label());
        return this;
    }

    /** Appends {@code dst = scale * dst_before + dst} (accumulate onto what the destination held). */
    public PostOps sum(float scale) {
        ensureOpen();
        Dnnl.check(dnnl_h.dnnl_post_ops_append_sum(handle.get(), scale, 0, dnnl_h.dnnl_data_type_undef()),
                "append sum post-op");
        steps.add("sum");
        return this;
    }

    public int length() {
        return steps.size();
    }

    MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    @Override
    public String describe() {
        return "PostOps " + steps;
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
