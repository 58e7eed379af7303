package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A oneDNN memory descriptor: logical dimensions (always in {@code N, C, [D,] H, W} order, whatever the
 * layout), element type and layout (a plain tag, a blocked layout a primitive chose, or {@code any}).
 *
 * <p>Immutable once created: safe to read and to use for binding from any thread; closing follows {@link
 * NativeResource}.
 */
public final class MemoryDesc extends NativeResource {

    /** oneDNN's limit on the number of dimensions. */
    public static final int MAX_NDIMS = 12;

    /**
     * Largest extent of one dimension: {@code 2^31 - 1}. oneDNN's CPU kernels keep dimensions and loop counts
     * in 32-bit integers in places: a softmax axis of {@code 2^31} makes every later JIT primitive of the
     * process fail to create, so no dimension may leave the {@code int} range.
     */
    public static final long MAX_DIM = Integer.MAX_VALUE;

    /**
     * Most logical elements one descriptor may hold: {@code 2^31 - 1} (8 GiB of f32). oneDNN refuses plain
     * descriptors of about {@code 2^32} elements and more (e.g. {@code [2^30, 4]}, while {@code [4, 2^30]}
     * passes), and its kernels index with 32-bit integers in places; one limit for every shape keeps the
     * rule predictable.
     */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE;

    /**
     * Most bytes a buffer for one descriptor may span: {@code 2^47} (128 TiB), the user half of x86-64's
     * 48-bit virtual address space. No process can map more, so a larger span (a strided layout with a huge
     * stride, say) is a mistake, never a buffer.
     */
    public static final long MAX_BYTES = 1L << 47;

    private final NativeHandle handle;
    private final long[] dims;
    private final DataType dataType;
    private final long byteSize;
    private final long offset;
    private final boolean dense;
    private final String layout;
    /** Per dimension, the product of its inner blocks (16 for the channels of nChw16c, 1 when not blocked). */
    private final long[] blocks;

    private MemoryDesc(Scope scope, MemorySegment h) {
        super(scope);
        this.handle = new NativeHandle(HandleKind.MEMORY_DESC, h);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment i = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_ndims_s32(), i), "query ndims");
            int nd = i.get(ValueLayout.JAVA_INT, 0);
            this.dims = queryDims(a, h, dnnl_h.dnnl_query_dims(), nd);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_data_type(), i), "query data type");
            this.dataType = DataType.fromValue(i.get(ValueLayout.JAVA_INT, 0));
            Blocking b = Blocking.query(a, h, nd);
            this.layout = b == null ? anyOrOpaque(a, h) : b.label();
            this.blocks = b == null ? ones(nd) : b.perDim();
            Extent e = b == null ? new Extent(0, 0, false) : extent(a, h, b, dataType, dims);
            this.offset = e.offset();
            this.dense = e.dense();
            // oneDNN's own size leaves out a sub-memory's offset (and undercounts some strided layouts);
            // a buffer must reach the last byte any element can touch.
            this.byteSize = Math.max(dnnl_h.dnnl_memory_desc_get_size(h), e.bytes());
        } catch (RuntimeException e) {
            handle.destroy();
            throw e;
        }
        if (byteSize > MAX_BYTES) {
            handle.destroy();
            throw new IllegalArgumentException("memory descriptor " + dataType.label() + " " + Arrays.toString(dims)
                    + " " + layout + " spans " + byteSize + " bytes; at most " + MAX_BYTES
                    + " (MemoryDesc.MAX_BYTES, the x86-64 address space) can be addressed");
        }
        register();
    }

    /** Where a blocked layout's elements lie: the first one's offset, the bytes up to the last one, density. */
    private record Extent(long offset, long bytes, boolean dense) {}

    /**
     * A blocked layout as oneDNN describes it: the outer strides and the inner blocks (sizes and the dims they
     * block), queried once for both the size arithmetic and the layout's name.
     */
    private record Blocking(long[] strides, long[] blks, long[] idxs) {

        /** The blocking of {@code h}, or null when its format is not blocked ({@code any}, opaque). */
        static Blocking query(Arena a, MemorySegment h, int nd) {
            MemorySegment i = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_format_kind(), i), "query format kind");
            if (i.get(ValueLayout.JAVA_INT, 0) != dnnl_h.dnnl_blocked()) {
                return null;
            }
            long[] strides = queryDims(a, h, dnnl_h.dnnl_query_strides(), nd);
            Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_inner_nblks_s32(), i), "query inner blocks");
            int nblks = i.get(ValueLayout.JAVA_INT, 0);
            return new Blocking(strides, queryDims(a, h, dnnl_h.dnnl_query_inner_blks(), nblks),
                    queryDims(a, h, dnnl_h.dnnl_query_inner_idxs(), nblks));
        }

        /** Per dimension, the product of its inner blocks (nested blocks multiply: 4c inside 16c). */
        long[] perDim() {
            long[] per = ones(strides.length);
            for (int b = 0; b < blks.length; b++) {
                per[(int) idxs[b]] *= blks[b];
            }
            return per;
        }

        /** oneDNN's own spelling of the layout: {@code abcd} for nchw, {@code aBcd16b} for nChw16c. */
        String label() {
            int nd = strides.length;
            Integer[] order = new Integer[nd];
            for (int d = 0; d < nd; d++) {
                order[d] = d;
            }
            // Outer dims from largest stride to smallest; ties keep logical order, as oneDNN's tags do.
            Arrays.sort(order, (x, y) -> Long.compare(strides[y], strides[x]));
            boolean[] blocked = new boolean[nd];
            for (long idx : idxs) {
                blocked[(int) idx] = true;
            }
            StringBuilder sb = new StringBuilder();
            for (int d : order) {
                char c = (char) ('a' + d);
                sb.append(blocked[d] ? Character.toUpperCase(c) : c);
            }
            for (int b = 0; b < blks.length; b++) {
                sb.append(blks[b]).append((char) ('a' + idxs[b]));
            }
            return sb.toString();
        }
    }

    private static long[] ones(int n) {
        long[] v = new long[n];
        Arrays.fill(v, 1);
        return v;
    }

    private static Extent extent(Arena a, MemorySegment h, Blocking blocking, DataType type, long[] dims) {
        int nd = dims.length;
        MemorySegment i = a.allocate(ValueLayout.JAVA_LONG);
        Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_submemory_offset_s64(), i), "query offset");
        long offset0 = i.get(ValueLayout.JAVA_LONG, 0);
        long[] strides = blocking.strides();
        long[] padded = queryDims(a, h, dnnl_h.dnnl_query_padded_dims(), nd);
        int nblks = blocking.blks().length;
        long[] blockOf = blocking.perDim();
        long inner = 1;
        for (long blk : blocking.blks()) {
            inner *= blk;
        }
        try {
            // The last element sits at offset0 + sum((outer_d - 1) * stride_d) + (inner block - 1).
            long last = Math.addExact(offset0, inner - 1);
            for (int d = 0; d < nd; d++) {
                last = Math.addExact(last, Math.multiplyExact(padded[d] / blockOf[d] - 1, strides[d]));
            }
            long bytes = Math.multiplyExact(Math.addExact(last, 1), type.bytes());
            long[] rowMajor = rowMajor(dims);
            boolean dense = nblks == 0 && offset0 == 0 && Arrays.equals(padded, dims);
            for (int d = 0; d < nd && dense; d++) {
                dense = dims[d] == 1 || strides[d] == rowMajor[d];
            }
            return new Extent(offset0, bytes, dense);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("memory descriptor " + type.label() + " " + Arrays.toString(dims)
                    + " strides " + Arrays.toString(strides) + ": its byte span overflows 64 bits");
        }
    }

    private static long[] rowMajor(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= dims[d];
        }
        return s;
    }

    /** A descriptor with a plain layout tag (or {@link FormatTag#ANY}). */
    public static MemoryDesc of(Scope scope, DataType dataType, FormatTag tag, long... dims) {
        checkDims(dims);
        if (tag != FormatTag.ANY && tag.ndims() != dims.length) {
            throw new IllegalArgumentException("format " + tag.label() + " describes " + tag.ndims()
                    + "D data but dims " + Arrays.toString(dims) + " are " + dims.length + "D");
        }
        Dnnl.init();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_desc_create_with_tag(out, dims.length, a.allocateFrom(ValueLayout.JAVA_LONG, dims),
                    dataType.value(), tag.value()), "create memory descriptor " + Arrays.toString(dims) + " " + tag.label());
            return new MemoryDesc(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** An f32 descriptor in the plain row-major layout ({@code nchw} for 4D). */
    public static MemoryDesc plain(Scope scope, long... dims) {
        return of(scope, DataType.F32, FormatTag.plain(dims.length), dims);
    }

    /** An f32 descriptor that lets the primitive pick the layout. */
    public static MemoryDesc any(Scope scope, long... dims) {
        return of(scope, DataType.F32, FormatTag.ANY, dims);
    }

    /** An owned copy of a descriptor oneDNN lent us (e.g. from a primitive descriptor query). */
    public static MemoryDesc copyOf(Scope scope, MemorySegment borrowed) {
        if (borrowed == null || borrowed.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("no memory descriptor to copy (oneDNN returned null)");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_desc_clone(out, borrowed), "clone memory descriptor");
            return new MemoryDesc(scope, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** A copy of this descriptor owned by another scope. */
    public MemoryDesc copy(Scope scope) {
        return copyOf(scope, handle());
    }

    /** The same dims and type in the plain row-major layout. */
    public MemoryDesc plainLike(Scope scope) {
        return of(scope, dataType, FormatTag.plain(dims.length), dims);
    }

    /**
     * Checks dims the way every factory does before its native call: 1..{@link #MAX_NDIMS} of them, each
     * in {@code 1..}{@link #MAX_DIM}, at most {@link #MAX_ELEMENTS} elements in all; returns the element count.
     * An {@link IllegalArgumentException} names the dims, the offending value and the limit.
     */
    public static long checkDims(long[] dims) {
        if (dims == null || dims.length == 0 || dims.length > MAX_NDIMS) {
            throw new IllegalArgumentException("a tensor needs 1.." + MAX_NDIMS + " dimensions, got "
                    + (dims == null ? "null" : Arrays.toString(dims)));
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException("dimension " + i + " of " + Arrays.toString(dims) + " is "
                        + dims[i] + "; every dimension must be positive");
            }
            if (dims[i] > MAX_DIM) {
                throw new IllegalArgumentException("dimension " + i + " of " + Arrays.toString(dims) + " is "
                        + dims[i] + "; oneDNN's kernels take at most " + MAX_DIM + " (MemoryDesc.MAX_DIM)");
            }
        }
        long n = 1;
        for (long d : dims) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                n = Long.MAX_VALUE;
            }
        }
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " hold "
                    + (n == Long.MAX_VALUE ? "more than 2^63" : Long.toString(n)) + " elements; at most "
                    + MAX_ELEMENTS + " (MemoryDesc.MAX_ELEMENTS) fit one tensor");
        }
        return n;
    }

    private static long[] queryDims(Arena a, MemorySegment h, int what, int nd) {
        MemorySegment p = a.allocate(ValueLayout.ADDRESS);
        Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, what, p), "query memory descriptor");
        MemorySegment arr = p.get(ValueLayout.ADDRESS, 0).reinterpret((long) MAX_NDIMS * Long.BYTES);
        long[] out = new long[nd];
        for (int d = 0; d < nd; d++) {
            out[d] = arr.getAtIndex(ValueLayout.JAVA_LONG, d);
        }
        return out;
    }

    /** The name of a layout that is not blocked: {@code any} or {@code opaque}. */
    private static String anyOrOpaque(Arena a, MemorySegment h) {
        MemorySegment i = a.allocate(ValueLayout.JAVA_INT);
        Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_format_kind(), i), "query format kind");
        return i.get(ValueLayout.JAVA_INT, 0) == dnnl_h.dnnl_format_kind_any() ? "any" : "opaque";
    }

    /** The {@code dnnl_memory_desc_t}; borrowed. */
    public MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    public int ndims() {
        return dims.length;
    }

    /** Logical dimensions, {@code N, C, [D,] H, W} order for activations. */
    public long[] dims() {
        return dims.clone();
    }

    public long dim(int i) {
        return dims[i];
    }

    /**
     * The inner block size of dimension {@code dim} in this layout: 16 for the channels of {@code nChw16c}, 1 for
     * a plain layout, {@code any} or opaque (nested blocks multiply, e.g. {@code 4c} inside {@code 16c}). In a
     * blocked layout a window along a blocked dimension must start and end on a block boundary.
     */
    public long blockOf(int dim) {
        return blocks[dim];
    }

    /** Number of logical elements (padding of blocked layouts not counted). */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d; // cannot overflow: every factory checked the dims against MAX_ELEMENTS
        }
        return n;
    }

    public DataType dataType() {
        return dataType;
    }

    /**
     * Bytes a buffer for this layout needs, counted from the buffer's start (0 for {@code any}): blocked
     * layouts may pad, and a sub-memory reaches from its parent's start to the window's last element.
     */
    public long byteSize() {
        return byteSize;
    }

    /** Elements from the buffer's start to the first element: non-zero for a window ({@code Layouts.submemory}). */
    public long offset() {
        return offset;
    }

    /** oneDNN's spelling of the layout: {@code abcd}, {@code aBcd16b}, {@code any}. */
    public String layout() {
        return layout;
    }

    /**
     * True only for the dense row-major layout ({@code a}, {@code ab}, {@code abcd}, ...) starting at the
     * buffer's first byte: element {@code i} in row-major order is the {@code i}-th value of the buffer. A
     * window, a padded or a strided layout is not plain, even where oneDNN spells it {@code ab}.
     */
    public boolean isPlain() {
        return dense && byteSize == elements() * dataType.bytes();
    }

    public boolean isAny() {
        return layout.equals("any");
    }

    /** Same dims, type and layout as oneDNN sees it ({@code dnnl_memory_desc_equal}). */
    public boolean sameAs(MemoryDesc other) {
        return dnnl_h.dnnl_memory_desc_equal(handle(), other.handle()) != 0;
    }

    /** Human form: {@code f32 [8, 64, 56, 56] aBcd16b}, with {@code +offset 51} for a window. */
    public String shapeString() {
        return dataType.label() + " " + Arrays.toString(dims) + " " + layout + (offset != 0 ? " +offset " + offset : "");
    }

    @Override
    public String describe() {
        return "MemoryDesc " + shapeString();
    }

    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        handle.destroy();
    }

    @Override
    public String toString() {
        return describe();
    }
}
