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

    /**
     * An f32 descriptor with explicit element strides ({@code strides[i]} elements between neighbours in dim i).
     *
     * <p>Every element must have its own address: a stride must be positive on a dimension larger than 1
     * (zero there would make a broadcast view, and oneDNN crashes writing one), and the dimensions, taken
     * from the smallest stride up, must nest: each stride at least the previous stride times its dimension
     * (oneDNN's own rule; layouts that overlap or interleave are refused). A dimension of 1 takes any stride
     * {@code >= 0}, since it is never stepped.
     */
    public static MemoryDesc strided(Scope scope, long[] dims, long[] strides) {
        Dims.require("Layouts.strided", "layout", dims);
        MemoryDesc.checkDims(dims);
        if (strides == null || dims.length != strides.length) {
            throw new IllegalArgumentException("strides " + Arrays.toString(strides) + " do not match dims "
                    + Arrays.toString(dims));
        }
        checkStrides(dims, strides);
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

    private static void checkStrides(long[] dims, long[] strides) {
        String what = "strided layout dims " + Arrays.toString(dims) + " strides " + Arrays.toString(strides);
        for (int d = 0; d < dims.length; d++) {
            if (strides[d] < 0 || (strides[d] == 0 && dims[d] > 1)) {
                throw new IllegalArgumentException(what + ": dimension " + d + " (size " + dims[d] + ") has stride "
                        + strides[d] + "; a stride must be >= 1 (0 only on a dimension of size 1)");
            }
        }
        Integer[] order = new Integer[dims.length];
        for (int d = 0; d < dims.length; d++) {
            order[d] = d;
        }
        Arrays.sort(order, (x, y) -> strides[x] != strides[y] ? Long.compare(strides[x], strides[y])
                : Long.compare(dims[x], dims[y]));
        long minStride = 1;
        int previous = -1;
        long last = 0; // the largest element offset, summed exactly
        for (int d : order) {
            if (dims[d] == 1) {
                continue;
            }
            if (strides[d] < minStride) {
                throw new IllegalArgumentException(what + ": dimension " + d + " (stride " + strides[d]
                        + ") overlaps dimension " + previous + " (stride " + strides[previous] + " x size "
                        + dims[previous] + " = " + minStride + "); each stride must step over the smaller ones");
            }
            try {
                minStride = Math.multiplyExact(strides[d], dims[d]);
                last = Math.addExact(last, Math.multiplyExact(strides[d], dims[d] - 1));
            } catch (ArithmeticException e) {
                minStride = Long.MAX_VALUE;
                last = Long.MAX_VALUE;
            }
            previous = d;
        }
        if (last >= MemoryDesc.MAX_BYTES / DataType.F32.bytes()) {
            throw new IllegalArgumentException(what + " spans " + (last == Long.MAX_VALUE ? "more than 2^63" : last + 1)
                    + " elements; at most " + MemoryDesc.MAX_BYTES + " bytes (MemoryDesc.MAX_BYTES) can be addressed");
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
     * blocked dimension must be a multiple of the block (oneDNN's rule; see {@link MemoryDesc#blockOf}).
     */
    public static MemoryDesc submemory(Scope scope, MemoryDesc parent, long[] dims, long[] offsets) {
        long[] pd = parent.dims();
        if (parent.isAny()) {
            throw new IllegalArgumentException("sub-memory " + Arrays.toString(dims) + " of " + parent.shapeString()
                    + ": the parent needs a concrete layout, not 'any'");
        }
        if (dims == null || offsets == null || dims.length != pd.length || offsets.length != pd.length) {
            throw new IllegalArgumentException("sub-memory dims " + Arrays.toString(dims) + " at offsets "
                    + Arrays.toString(offsets) + " do not match the rank of " + parent.shapeString());
        }
        String window = "sub-memory dims " + Arrays.toString(dims) + " at offsets " + Arrays.toString(offsets);
        for (int i = 0; i < pd.length; i++) {
            // Offset first, then the extent against what is left after it: pd[i] - offsets[i] cannot overflow.
            if (offsets[i] < 0 || offsets[i] >= pd[i]) {
                throw new IllegalArgumentException(window + " does not fit in " + parent.shapeString() + " (dimension "
                        + i + ": offset " + offsets[i] + " must be in 0.." + (pd[i] - 1) + ")");
            }
            if (dims[i] < 1 || dims[i] > pd[i] - offsets[i]) {
                throw new IllegalArgumentException(window + " does not fit in " + parent.shapeString() + " (dimension "
                        + i + ": dim " + dims[i] + (dims[i] < 1 ? " must be >= 1)"
                        : " at offset " + offsets[i] + " must be at most " + (pd[i] - offsets[i]) + ")"));
            }
            long block = parent.blockOf(i);
            if (block > 1 && (offsets[i] % block != 0 || (dims[i] % block != 0 && offsets[i] + dims[i] != pd[i]))) {
                throw new IllegalArgumentException(window + " of " + parent.shapeString() + ": dimension " + i
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

    /**
     * A tensor over {@code parent}'s bytes described by {@code view} (a sub-memory of its layout); no copy.
     * {@link Tensor#wrap} checks that the window's last byte ({@link MemoryDesc#byteSize}) lies inside the parent.
     */
    public static Tensor view(Scope scope, String name, Tensor parent, MemoryDesc view) {
        return Tensor.wrap(scope, name, view, parent.segment());
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
