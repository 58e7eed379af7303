package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A memory descriptor paired with the off-heap bytes it describes, and the oneDNN memory object over them.
 *
 * <p>A tensor either owns its bytes ({@link #allocate}, {@link #of}) or wraps a segment someone else owns
 * ({@link #wrap}: a memory-mapped file, an Arrow buffer, a NumPy array) without copying. Either way the
 * tensor itself belongs to a {@link Scope}; closing it frees what it owns, and any later use throws.
 *
 * <p>Thread-safe for reading and for use by several primitive executions at once (shared weights); writes to its
 * bytes are the caller's to order. Closing it while an execution on another thread uses it is refused with an
 * {@link IllegalStateException} naming that thread (see {@link NativeResource}), and it stays usable.
 */
public final class Tensor extends NativeResource {

    /** Alignment of owned buffers: one AVX-512 register / cache line. */
    public static final long ALIGNMENT = 64;

    private final String name;
    private final MemoryDesc desc;
    private final Arena arena;
    private final MemorySegment data;
    private final NativeHandle memory;

    private Tensor(Scope scope, String name, MemoryDesc desc, Arena arena, MemorySegment data) {
        super(scope);
        this.name = name;
        this.desc = desc;
        this.arena = arena;
        this.data = data;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_h.dnnl_memory_create(out, desc.handle(), Engine.cpu().handle(), data),
                    "create memory object for " + name);
            this.memory = new NativeHandle(HandleKind.MEMORY, out.get(ValueLayout.ADDRESS, 0));
        } catch (RuntimeException e) {
            desc.close();
            if (arena != null) {
                arena.close();
            }
            throw e;
        }
        desc.scope().ownedBy(this);
        register();
    }

    private static Scope privateScope() {
        // The tensor's own descriptor is owned by the tensor, not by the caller's scope.
        return Scope.open("tensor-desc");
    }

    /**
     * A zero-filled tensor with the given layout. Touches every page now, so the first step is not slow.
     * A layout larger than this machine's memory (RAM and swap) fails with an {@link OutOfMemoryError} that
     * names the tensor, its dims and the bytes, before anything is allocated; nothing is left behind.
     */
    public static Tensor allocate(Scope scope, String name, MemoryDesc desc) {
        if (desc.isAny()) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot allocate a tensor with layout 'any'; "
                    + "use the layout a primitive descriptor chose");
        }
        long bytes = desc.byteSize();
        if (bytes > machineMemory()) {
            throw new OutOfMemoryError("tensor '" + name + "' " + desc.shapeString() + " needs " + bytes
                    + " bytes, more than this machine's " + machineMemory() + " bytes of memory and swap");
        }
        Dnnl.init();
        Scope own = privateScope();
        try {
            MemoryDesc copy = desc.copy(own);
            Arena arena = Arena.ofShared();
            MemorySegment seg;
            try {
                seg = arena.allocate(Math.max(bytes, 1), ALIGNMENT);
            } catch (OutOfMemoryError e) {
                arena.close();
                OutOfMemoryError clear = new OutOfMemoryError("tensor '" + name + "' " + desc.shapeString()
                        + ": cannot allocate " + bytes + " bytes (" + e.getMessage() + ")");
                clear.initCause(e);
                throw clear;
            }
            return new Tensor(scope, name, copy, arena, seg);
        } catch (RuntimeException | Error e) {
            own.close();
            throw e;
        }
    }

    private static volatile long machineMemory;

    /** RAM plus swap, as the JVM sees it (a container's limit where there is one); read once. */
    private static long machineMemory() {
        long m = machineMemory;
        if (m == 0) {
            m = Long.MAX_VALUE;
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.OperatingSystemMXBean os) {
                long total = os.getTotalMemorySize() + Math.max(0, os.getTotalSwapSpaceSize());
                m = total > 0 ? total : Long.MAX_VALUE;
            }
            machineMemory = m;
        }
        return m;
    }

    /** A zero-filled plain f32 tensor. */
    public static Tensor zeros(Scope scope, String name, long... dims) {
        try (Scope tmp = Scope.open("zeros")) {
            return allocate(scope, name, MemoryDesc.plain(tmp, dims));
        }
    }

    /** A plain f32 tensor holding a copy of {@code values} (row-major, {@code nchw} for 4D). */
    public static Tensor of(Scope scope, String name, float[] values, long... dims) {
        long n = MemoryDesc.checkDims(dims);
        if (values.length != n) {
            throw new IllegalArgumentException("tensor '" + name + "': " + values.length + " values do not fill dims "
                    + Arrays.toString(dims) + " (" + n + " elements)");
        }
        Tensor t = zeros(scope, name, dims);
        MemorySegment.copy(values, 0, t.data, ValueLayout.JAVA_FLOAT, 0, values.length);
        return t;
    }

    /**
     * Wraps memory someone else owns, without copying. The segment must be at least as large as the layout
     * needs ({@link MemoryDesc#byteSize}: for a window, from the segment's start to the window's last byte)
     * and aligned to the element size; the caller keeps it alive as long as the tensor is used.
     */
    public static Tensor wrap(Scope scope, String name, MemoryDesc desc, MemorySegment segment) {
        if (desc.isAny()) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot wrap memory with layout 'any'");
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException("tensor '" + name + "': oneDNN needs off-heap memory; got a heap segment");
        }
        if (segment.byteSize() < desc.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + desc.shapeString() + " needs "
                    + desc.byteSize() + " bytes but the segment has " + segment.byteSize());
        }
        if (segment.address() % desc.dataType().bytes() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': segment address 0x"
                    + Long.toHexString(segment.address()) + " is not aligned to " + desc.dataType().bytes()
                    + " bytes (" + desc.dataType().label() + ")");
        }
        Dnnl.init();
        Scope own = privateScope();
        try {
            return new Tensor(scope, name, desc.copy(own), null, segment.asSlice(0, desc.byteSize()));
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /** The name given at creation (appears in errors). */
    public String name() {
        return name;
    }

    /** This tensor's layout; owned by the tensor, valid while it is open. */
    public MemoryDesc desc() {
        ensureOpen();
        return desc;
    }

    public long[] dims() {
        return desc.dims();
    }

    /** The bytes, exactly {@code desc().byteSize()} long. */
    public MemorySegment segment() {
        ensureOpen();
        return data;
    }

    /** The {@code dnnl_memory_t} over this tensor's bytes; borrowed. */
    public MemorySegment memory() {
        ensureOpen();
        return memory.get();
    }

    /**
     * Throws unless this tensor is open and its bytes are still alive. A wrapped segment whose arena its owner
     * closed must never reach oneDNN: native code would read freed memory.
     */
    void ensureUsable(String use) {
        if (isClosed()) {
            throw new IllegalStateException(use + ": " + describe() + " is closed");
        }
        if (!data.scope().isAlive()) {
            throw new IllegalStateException(use + ": the memory wrapped by " + describe()
                    + " was freed by its owner (its arena is closed)");
        }
    }

    /** True when this tensor owns its bytes (false for {@link #wrap}). */
    public boolean ownsMemory() {
        return arena != null;
    }

    /** Copies the values out in plain row-major order, reordering from a blocked layout when needed. */
    public float[] toFloatArray() {
        ensureOpen();
        requireF32();
        if (desc.isPlain()) {
            try {
                return data.toArray(ValueLayout.JAVA_FLOAT);
            } catch (InternalError e) {
                throw faulted("reading", e);
            }
        }
        try (Scope tmp = Scope.open("toFloatArray"); Stream s = Stream.create(tmp)) {
            Tensor plain = reorder(tmp, desc.plainLike(tmp), s);
            return plain.data.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Copies {@code values} (plain row-major order) in, reordering into a blocked layout when needed. */
    public void copyFrom(float[] values) {
        ensureOpen();
        requireF32();
        if (values.length != desc.elements()) {
            throw new IllegalArgumentException("tensor '" + name + "' " + desc.shapeString() + " has "
                    + desc.elements() + " elements, got " + values.length + " values");
        }
        if (desc.isPlain()) {
            try {
                MemorySegment.copy(values, 0, data, ValueLayout.JAVA_FLOAT, 0, values.length);
            } catch (InternalError e) {
                throw faulted("writing", e);
            }
            return;
        }
        try (Scope tmp = Scope.open("copyFrom"); Stream s = Stream.create(tmp)) {
            Tensor plain = of(tmp, name + ".plain", values, desc.dims());
            plain.reorderInto(this, s);
        }
    }

    /** A new tensor with the same values in another layout (oneDNN reorder). */
    public Tensor reorder(Scope scope, MemoryDesc target, Stream stream) {
        if (target.isAny()) {
            throw new IllegalArgumentException("reorder of '" + name + "' " + desc().shapeString()
                    + ": the target layout is 'any'; pass a concrete layout (e.g. one a primitive chose)");
        }
        Tensor out = allocate(scope, name + "." + target.layout(), target);
        try {
            reorderInto(out, stream);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** This tensor's values in the plain layout ({@code nchw}/{@code ncdhw}) as a new tensor. */
    public Tensor toPlain(Scope scope, Stream stream) {
        try (Scope tmp = Scope.open("toPlain")) {
            return reorder(scope, desc().plainLike(tmp), stream);
        }
    }

    /** Reorders this tensor's values into {@code dst}'s layout; dims and type must match. */
    public void reorderInto(Tensor dst, Stream stream) {
        ensureOpen();
        if (!Arrays.equals(desc.dims(), dst.desc().dims())) {
            throw new IllegalArgumentException("reorder from '" + name + "' " + desc.shapeString() + " to '"
                    + dst.name + "' " + dst.desc.shapeString() + ": dims differ");
        }
        try (Scope tmp = Scope.open("reorder")) {
            Reorder r = Reorder.create(tmp, desc, dst.desc);
            r.execute(stream, this, dst);
            stream.await();
        }
    }

    /**
     * The JVM turns a fault in a Java access to memory (SIGBUS on a mapped file that shrank on disk) into an
     * InternalError; for wrapped memory that is the owner's file, not a JVM bug, so say so.
     */
    private RuntimeException faulted(String access, InternalError e) {
        if (arena != null) {
            throw e;
        }
        return new IllegalStateException(access + " " + describe() + " faulted (" + e.getMessage() + "): it wraps "
                + "memory it does not own, which has gone, e.g. a memory-mapped file truncated on disk after it was "
                + "mapped", e);
    }

    private void requireF32() {
        if (desc.dataType() != DataType.F32) {
            throw new IllegalStateException("tensor '" + name + "' holds " + desc.dataType().label() + ", not f32");
        }
    }

    @Override
    public String describe() {
        return "Tensor '" + name + "' " + desc.shapeString();
    }

    @Override
    public long nativeBytes() {
        return arena != null ? data.byteSize() : 0;
    }

    @Override
    protected void release() {
        if (arena != null) {
            try {
                arena.close(); // first: the one step that can be refused, before anything is freed
            } catch (IllegalStateException e) {
                throw new StillInUse("a native call or a kernel holds its memory: " + e.getMessage(), e);
            }
        }
        try {
            memory.destroy();
        } finally {
            desc.scope().close();
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
