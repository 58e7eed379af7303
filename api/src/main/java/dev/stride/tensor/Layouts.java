package dev.stride.tensor;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.DataType;
import dev.stride.core.Dnnl;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Memory descriptors that the plain tags of {@link dev.stride.core.FormatTag} cannot express: explicit
 * strides (a transposed matrix is a row-major one read with swapped strides) and sub-memories (a window of a
 * larger tensor, e.g. one input's channels inside a concatenation). Each is built natively, copied into an
 * owned {@link MemoryDesc} and the temporary freed at once, so the caller owns exactly one handle.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class Layouts {
    private Layouts() {}

    /** An f32 descriptor with explicit element strides ({@code strides[i]} elements between neighbours in dim i). */
    public static MemoryDesc strided(Scope scope, long[] dims, long[] strides) {
        if (dims.length != strides.length) {
            throw new IllegalArgumentException("strides " + Arrays.toString(strides) + " do not match dims "
                    + Arrays.toString(dims));
        }
        Dnnl.init();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_desc_create_with_strides(out, dims.length,
                    a.allocateFrom(ValueLayout.JAVA_LONG, dims), DataType.F32.value(),
                    a.allocateFrom(ValueLayout.JAVA_LONG, strides)),
                    "create memory descriptor " + Arrays.toString(dims) + " strides " + Arrays.toString(strides));
            return adopt(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** Row-major strides of {@code dims}: the last dimension is contiguous. */
    public static long[] rowMajorStrides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /**
     * The window {@code dims} at {@code offsets} of {@code parent}: a descriptor over the parent's bytes that
     * a primitive (a reorder, typically) reads or writes in place. In a blocked layout an offset along a
     * blocked dimension must be a multiple of the block (oneDNN's rule; see {@link #blockOf}).
     */
    public static MemoryDesc submemory(Scope scope, MemoryDesc parent, long[] dims, long[] offsets) {
        long[] pd = parent.dims();
        if (dims.length != pd.length || offsets.length != pd.length) {
            throw new IllegalArgumentException("sub-memory " + Arrays.toString(dims) + " at " + Arrays.toString(offsets)
                    + " does not match the rank of " + parent.shapeString());
        }
        for (int i = 0; i < pd.length; i++) {
            if (offsets[i] < 0 || dims[i] < 1 || offsets[i] + dims[i] > pd[i]) {
                throw new IllegalArgumentException("sub-memory " + Arrays.toString(dims) + " at "
                        + Arrays.toString(offsets) + " does not fit in " + parent.shapeString() + " (dimension " + i
                        + ": " + offsets[i] + " + " + dims[i] + " > " + pd[i] + ")");
            }
            long block = blockOf(parent, i);
            if (block > 1 && (offsets[i] % block != 0 || (dims[i] % block != 0 && offsets[i] + dims[i] != pd[i]))) {
                throw new IllegalArgumentException("sub-memory " + Arrays.toString(dims) + " at "
                        + Arrays.toString(offsets) + " of " + parent.shapeString() + ": dimension " + i
                        + " is blocked by " + block + ", so the window must start and end on a block boundary");
            }
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_desc_create_submemory(out, parent.handle(),
                    a.allocateFrom(ValueLayout.JAVA_LONG, dims), a.allocateFrom(ValueLayout.JAVA_LONG, offsets)),
                    "create sub-memory " + Arrays.toString(dims) + " at " + Arrays.toString(offsets) + " of "
                            + parent.shapeString());
            return adopt(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** A tensor over {@code parent}'s bytes described by {@code view} (a sub-memory of its layout); no copy. */
    public static Tensor view(Scope scope, String name, Tensor parent, MemoryDesc view) {
        return Tensor.wrap(scope, name, view, parent.segment());
    }

    /**
     * The inner block size of dimension {@code dim} in {@code md}'s layout: 16 for the channels of
     * {@code nChw16c}, 1 for a plain layout (products of nested blocks, e.g. {@code 4c} inside {@code 16c}).
     */
    public static long blockOf(MemoryDesc md, int dim) {
        if (md.isAny()) {
            return 1;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kind = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(md.handle(), dnnl_h.dnnl_query_format_kind(), kind),
                    "query format kind");
            if (kind.get(ValueLayout.JAVA_INT, 0) != dnnl_h.dnnl_blocked()) {
                return 1;
            }
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(md.handle(), dnnl_h.dnnl_query_inner_nblks_s32(), n),
                    "query inner blocks");
            int nblks = n.get(ValueLayout.JAVA_INT, 0);
            if (nblks == 0) {
                return 1;
            }
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(md.handle(), dnnl_h.dnnl_query_inner_blks(), p), "query blocks");
            MemorySegment blks = p.get(ValueLayout.ADDRESS, 0).reinterpret((long) MemoryDesc.MAX_NDIMS * Long.BYTES);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(md.handle(), dnnl_h.dnnl_query_inner_idxs(), p), "query block dims");
            MemorySegment idxs = p.get(ValueLayout.ADDRESS, 0).reinterpret((long) MemoryDesc.MAX_NDIMS * Long.BYTES);
            long block = 1;
            for (int b = 0; b < nblks; b++) {
                if (idxs.getAtIndex(ValueLayout.JAVA_LONG, b) == dim) {
                    block *= blks.getAtIndex(ValueLayout.JAVA_LONG, b);
                }
            }
            return block;
        }
    }

    /** Takes ownership of a freshly created native descriptor: an owned copy replaces it. */
    private static MemoryDesc adopt(Scope scope, MemorySegment raw) {
        try {
            return MemoryDesc.copyOf(scope, raw);
        } finally {
            Dnnl.check(dnnl_h.dnnl_memory_desc_destroy(raw), "destroy memory descriptor");
        }
    }
}
