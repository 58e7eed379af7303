package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.MemorySegment;
import java.util.function.ToIntFunction;

/**
 * The one table of native handle types and the function that destroys each (the Java form of oneDNN's
 * {@code handle_traits<T>}). Handles returned by queries are borrowed and never appear here.
 */
enum HandleKind {
    ENGINE("engine", dnnl_h::dnnl_engine_destroy),
    STREAM("stream", dnnl_h::dnnl_stream_destroy),
    MEMORY_DESC("memory descriptor", dnnl_h::dnnl_memory_desc_destroy),
    MEMORY("memory", dnnl_h::dnnl_memory_destroy),
    PRIMITIVE_DESC("primitive descriptor", dnnl_h::dnnl_primitive_desc_destroy),
    PRIMITIVE("primitive", dnnl_h::dnnl_primitive_destroy),
    PRIMITIVE_ATTR("primitive attributes", dnnl_h::dnnl_primitive_attr_destroy),
    POST_OPS("post-ops", dnnl_h::dnnl_post_ops_destroy);

    final String label;
    private final ToIntFunction<MemorySegment> destroy;

    HandleKind(String label, ToIntFunction<MemorySegment> destroy) {
        this.label = label;
        this.destroy = destroy;
    }

    void destroy(MemorySegment handle) {
        Dnnl.check(destroy.applyAsInt(handle), "destroy " + label);
    }
}
