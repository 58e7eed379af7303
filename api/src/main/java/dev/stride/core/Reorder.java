package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;

/**
 * Copies values between two layouts of the same logical tensor (oneDNN reorder).
 *
 * <p>Thread-safe like every {@link PrimitiveOp}: one binding and one stream per executing thread.
 */
public final class Reorder extends PrimitiveOp {

    private Reorder(Scope scope, Primitive primitive) {
        super(scope, primitive.name(), primitive);
    }

    /**
     * A reorder from {@code src}'s layout to {@code dst}'s: same dims, both concrete (a reorder moves bytes
     * between two known layouts; {@code any} on either side is refused here, before oneDNN sees it).
     */
    public static Reorder create(Scope scope, MemoryDesc src, MemoryDesc dst) {
        if (src.isAny() || dst.isAny()) {
            throw new IllegalArgumentException("reorder from " + src.shapeString() + " to " + dst.shapeString()
                    + ": the " + (src.isAny() ? "source" : "destination") + " layout is 'any'; a reorder needs "
                    + "concrete layouts on both sides");
        }
        if (!java.util.Arrays.equals(src.dims(), dst.dims())) {
            throw new IllegalArgumentException("reorder from " + src.shapeString() + " to " + dst.shapeString()
                    + ": dims differ");
        }
        Engine e = Engine.cpu();
        try (Scope tmp = Scope.open("reorder-attr")) {
            PrimitiveAttr attr = PrimitiveAttr.create(tmp);
            Primitive p = Primitive.create(scope, "reorder " + src.layout() + "->" + dst.layout(),
                    out -> dnnl_h.dnnl_reorder_primitive_desc_create(out, src.handle(), e.handle(), dst.handle(),
                            e.handle(), attr.handle()));
            return new Reorder(scope, p);
        }
    }

    /** Binds source and destination once for repeated execution. */
    public ExecArgs bind(Scope scope, Tensor src, Tensor dst) {
        return primitive.args().add(Arg.FROM, src).add(Arg.TO, dst).build(scope);
    }

    /** One-off execution (binds, runs, unbinds). */
    public void execute(Stream stream, Tensor src, Tensor dst) {
        try (Scope tmp = Scope.open("reorder-args")) {
            primitive.execute(stream, bind(tmp, src, dst));
        }
    }

    @Override
    public String describe() {
        return "Reorder " + primitive.name();
    }
}
