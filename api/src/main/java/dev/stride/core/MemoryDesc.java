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

    private final NativeHandle handle;
    private final long[] dims;
    private final DataType dataType;
    private final long byteSize;
    private final String layout;

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
            this.byteSize = dnnl_h.dnnl_memory_desc_get_size(h);
            this.layout = describeLayout(a, h, nd);
        }
        register();
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

    static void checkDims(long[] dims) {
        if (dims == null || dims.length == 0 || dims.length > MAX_NDIMS) {
            throw new IllegalArgumentException("a tensor needs 1.." + MAX_NDIMS + " dimensions, got "
                    + (dims == null ? "null" : Arrays.toString(dims)));
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException("dimension " + i + " of " + Arrays.toString(dims) + " is "
                        + dims[i] + "; every dimension must be positive");
            }
        }
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

    /** oneDNN's own spelling of a blocked layout: {@code abcd} for nchw, {@code aBcd16b} for nChw16c. */
    private static String describeLayout(Arena a, MemorySegment h, int nd) {
        MemorySegment i = a.allocate(ValueLayout.JAVA_INT);
        Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_format_kind(), i), "query format kind");
        int kind = i.get(ValueLayout.JAVA_INT, 0);
        if (kind == dnnl_h.dnnl_format_kind_any()) {
            return "any";
        }
        if (kind != dnnl_h.dnnl_blocked()) {
            return "opaque";
        }
        long[] strides = queryDims(a, h, dnnl_h.dnnl_query_strides(), nd);
        Dnnl.check(dnnl_h.dnnl_memory_desc_query(h, dnnl_h.dnnl_query_inner_nblks_s32(), i), "query inner blocks");
        int nblks = i.get(ValueLayout.JAVA_INT, 0);
        long[] blks = queryDims(a, h, dnnl_h.dnnl_query_inner_blks(), nblks);
        long[] idxs = queryDims(a, h, dnnl_h.dnnl_query_inner_idxs(), nblks);
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
        for (int b = 0; b < nblks; b++) {
            sb.append(blks[b]).append((char) ('a' + idxs[b]));
        }
        return sb.toString();
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

    /** Number of logical elements (padding of blocked layouts not counted). */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public DataType dataType() {
        return dataType;
    }

    /** Bytes a buffer of this layout needs (0 for {@code any}); blocked layouts may pad. */
    public long byteSize() {
        return byteSize;
    }

    /** oneDNN's spelling of the layout: {@code abcd}, {@code aBcd16b}, {@code any}. */
    public String layout() {
        return layout;
    }

    /** True for the dense row-major layout ({@code a}, {@code ab}, {@code abcd}, ...). */
    public boolean isPlain() {
        return layout.equals(FormatTag.plain(dims.length).label()) && byteSize == elements() * dataType.bytes();
    }

    public boolean isAny() {
        return layout.equals("any");
    }

    /** Same dims, type and layout as oneDNN sees it ({@code dnnl_memory_desc_equal}). */
    public boolean sameAs(MemoryDesc other) {
        return dnnl_h.dnnl_memory_desc_equal(handle(), other.handle()) != 0;
    }

    /** Human form: {@code f32 [8, 64, 56, 56] aBcd16b}. */
    public String shapeString() {
        return dataType.label() + " " + Arrays.toString(dims) + " " + layout;
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
