package dev.stride.bindings.dnnl;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The generated bindings against the real libdnnl that stride-native loads. */
class DnnlBindingsTest {

    @Test
    void versionStructMatchesTheHeaderMacros() {
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.sizeof());
        assertEquals(dnnl_h.DNNL_VERSION_MAJOR(), dnnl_version_t.major(v));
        assertEquals(dnnl_h.DNNL_VERSION_MINOR(), dnnl_version_t.minor(v));
        assertEquals(dnnl_h.DNNL_VERSION_PATCH(), dnnl_version_t.patch(v));
        assertEquals(32, dnnl_version_t.sizeof());
        assertEquals(16, dnnl_exec_arg_t.sizeof());
        assertEquals(8, dnnl_exec_arg_t.memory$offset());
    }

    @Test
    void macrosAndEnumsHaveTheHeaderValues() {
        assertEquals(1, dnnl_h.DNNL_ARG_SRC());
        assertEquals(17, dnnl_h.DNNL_ARG_DST());
        assertEquals(33, dnnl_h.DNNL_ARG_WEIGHTS());
        assertEquals(41, dnnl_h.DNNL_ARG_BIAS());
        assertEquals(80, dnnl_h.DNNL_ARG_SCRATCHPAD());
        assertEquals(Long.MIN_VALUE, dnnl_h.DNNL_RUNTIME_DIM_VAL());
        assertEquals(Integer.MIN_VALUE, dnnl_h.DNNL_RUNTIME_S32_VAL());
        assertEquals(12, dnnl_h.DNNL_MAX_NDIMS());
        assertEquals(-1L, dnnl_h.DNNL_MEMORY_ALLOCATE().address());
        assertEquals("f32", dnnl_h.dnnl_dt2str(dnnl_h.dnnl_f32()).getString(0));
        assertEquals("invalid_arguments", dnnl_h.dnnl_status2str(dnnl_h.dnnl_invalid_arguments()).getString(0));
        assertEquals("abcd", dnnl_h.dnnl_fmt_tag2str(dnnl_h.dnnl_nchw()).getString(0)); // nchw is an alias of abcd
    }

    @Test
    void engineAndMemoryDescriptorThroughOutPointers() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment engine = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(dnnl_h.dnnl_success(), dnnl_h.dnnl_engine_create(engine, dnnl_h.dnnl_cpu(), 0));
            assertNotEquals(MemorySegment.NULL, engine.get(ValueLayout.ADDRESS, 0));
            MemorySegment md = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, 2, 3, 4, 5);
            assertEquals(dnnl_h.dnnl_success(),
                    dnnl_h.dnnl_memory_desc_create_with_tag(md, 4, dims, dnnl_h.dnnl_f32(), dnnl_h.dnnl_nchw()));
            assertEquals(2L * 3 * 4 * 5 * 4, dnnl_h.dnnl_memory_desc_get_size(md.get(ValueLayout.ADDRESS, 0)));
            assertEquals(dnnl_h.dnnl_success(), dnnl_h.dnnl_memory_desc_destroy(md.get(ValueLayout.ADDRESS, 0)));
            assertEquals(dnnl_h.dnnl_success(), dnnl_h.dnnl_engine_destroy(engine.get(ValueLayout.ADDRESS, 0)));
        }
    }
}
