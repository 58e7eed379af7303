package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * A created oneDNN primitive with everything it needs to run: its descriptor and the layouts it expects.
 * Execution takes a prebuilt {@link ExecArgs} (which owns the scratchpad), so running a primitive allocates
 * nothing.
 *
 * <p>Thread-safe: several threads may execute it at once, each with its own {@link ExecArgs} and {@link Stream}
 * (oneDNN primitives are, when every execution has its own scratchpad). Closing it while an execution runs is
 * refused with an {@link IllegalStateException}.
 */
public final class Primitive extends NativeResource {

    private final String name;
    private final String executeOperation;
    private final Scope own;
    private final PrimitiveDesc pd;
    private final NativeHandle handle;
    /** The scratchpad layout oneDNN asks for, or null when it needs none; every {@link ExecArgs} allocates one. */
    private final MemoryDesc scratchpadDesc;
    private final Map<Integer, MemoryDesc> argDescs = new HashMap<>();

    private Primitive(Scope scope, String name, PrimitiveDesc pd, Scope own, MemorySegment h, MemoryDesc scratchpadDesc) {
        super(scope);
        this.name = name;
        this.executeOperation = "execute " + name; // built once: execution must not allocate
        this.own = own;
        this.pd = pd;
        this.handle = new NativeHandle(HandleKind.PRIMITIVE, h);
        this.scratchpadDesc = scratchpadDesc;
        own.ownedBy(this);
        register();
    }

    /**
     * Creates a primitive from a descriptor made by {@code creator}; the primitive owns the descriptor. Each
     * {@link ExecArgs} built for it gets a scratchpad of the size oneDNN asks for (attributes must use user
     * scratchpad mode, as {@link PrimitiveAttr#create} does).
     */
    public static Primitive create(Scope scope, String name, PrimitiveDesc.Creator creator) {
        Scope own = Scope.open(name);
        try {
            PrimitiveDesc pd = PrimitiveDesc.create(own, name, creator);
            MemorySegment h;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ValueLayout.ADDRESS);
                Dnnl.check(dnnl_h.dnnl_primitive_create(out, pd.handle()), "create " + name + " primitive");
                h = out.get(ValueLayout.ADDRESS, 0);
            }
            MemoryDesc sd = pd.argDesc(own, Arg.SCRATCHPAD);
            return new Primitive(scope, name, pd, own, h, sd != null && sd.byteSize() > 0 ? sd : null);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /** The layout this primitive expects for {@code arg}, or {@code null} if it takes no such argument. */
    public MemoryDesc argDesc(int arg) {
        ensureOpen();
        synchronized (argDescs) {
            if (!argDescs.containsKey(arg)) {
                argDescs.put(arg, pd.argDesc(own, arg));
            }
            return argDescs.get(arg);
        }
    }

    /** Like {@link #argDesc} but fails with a clear message when the primitive has no such argument. */
    public MemoryDesc requireArgDesc(int arg) {
        MemoryDesc d = argDesc(arg);
        if (d == null) {
            throw new IllegalArgumentException(name + " takes no " + Arg.name(arg));
        }
        return d;
    }

    /** Starts binding tensors to this primitive's arguments. */
    public ExecArgs.Builder args() {
        ensureOpen();
        return new ExecArgs.Builder(this);
    }

    /** Runs the primitive on {@code stream} with arguments bound by {@link #args()}; does not wait. */
    public void execute(Stream stream, ExecArgs args) {
        args.execute(this, handle.get(), stream, executeOperation);
    }

    /** The implementation oneDNN chose, e.g. {@code brg_conv_fwd:avx512_core}. */
    public String implementation() {
        ensureOpen();
        return pd.implementation();
    }

    public String name() {
        return name;
    }

    /** The scratchpad layout an execution needs, or {@code null} if none. */
    MemoryDesc scratchpadDesc() {
        ensureOpen();
        return scratchpadDesc;
    }

    /** The {@code dnnl_primitive_desc_t} (a backward primitive's creator needs its forward's as a hint); borrowed. */
    public MemorySegment descHandle() {
        ensureOpen();
        return pd.handle();
    }

    /** The {@code dnnl_primitive_t}; borrowed. */
    public MemorySegment handle() {
        ensureOpen();
        return handle.get();
    }

    @Override
    public String describe() {
        return "Primitive " + name;
    }

    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        try {
            handle.destroy();
        } finally {
            own.close();
        }
    }
}
