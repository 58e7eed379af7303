package dev.stride.tensor;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.PostOps;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntSupplier;

/**
 * Element-wise binary operations with broadcasting (oneDNN's binary primitive):
 * {@code dst[i] = src0[i] op src1[b(i)]}, where {@code b} maps every index of a size-1 dimension of
 * {@code src1} to 0 (NumPy broadcasting of the second operand).
 *
 * <p><b>Shape</b>: src0 and dst {@code d_0 x ... x d_k}; src1 the same rank with each dimension equal to
 * {@code d_i} or 1: {@code [1, C, 1, 1]} is a per-channel operand, {@code [1, 1, 1, 1]} a scalar. Only the
 * second operand broadcasts (the result has {@code src0}'s shape); put the smaller operand second.
 *
 * <p><b>Gradients</b> ({@link Backward}, for {@code add}, {@code sub} and {@code mul}), with {@code R} the
 * sum over the dims where {@code src1} broadcasts (oneDNN's reduction primitive, {@link Reduction}):
 * <ul>
 *   <li>add: {@code diff_src0 = dy}, {@code diff_src1 = R(dy)}</li>
 *   <li>sub: {@code diff_src0 = dy}, {@code diff_src1 = -R(dy)}</li>
 *   <li>mul: {@code diff_src0 = dy * src1} (src1 broadcast again), {@code diff_src1 = R(dy * src0)}</li>
 * </ul>
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Binary {
    private Binary() {}

    /** The operator. */
    public enum Algorithm {
        ADD("add", dnnl_h::dnnl_binary_add),
        SUB("sub", dnnl_h::dnnl_binary_sub),
        MUL("mul", dnnl_h::dnnl_binary_mul),
        DIV("div", dnnl_h::dnnl_binary_div),
        MAX("max", dnnl_h::dnnl_binary_max),
        MIN("min", dnnl_h::dnnl_binary_min);

        private final String label;
        private final IntSupplier value;

        Algorithm(String label, IntSupplier value) {
            this.label = label;
            this.value = value;
        }

        public String label() {
            return label;
        }

        public int value() {
            return value.getAsInt();
        }

        /** Whether {@link Backward} provides this operator's gradient. */
        public boolean hasBackward() {
            return this == ADD || this == SUB || this == MUL;
        }
    }

    /**
     * The result dims of {@code src0 op src1}, which are {@code src0}'s; throws unless {@code src1}
     * broadcasts onto {@code src0}, e.g. {@code add1: binary add: cannot broadcast [2, 3, 4] with [2, 5, 4]:
     * dimension 1 is 3 vs 5}.
     */
    public static long[] broadcastDims(String name, Algorithm alg, long[] src0, long[] src1) {
        String what = name + ": binary " + alg.label() + ": ";
        Dims.require(name, "src0", src0);
        Dims.require(name, "src1", src1);
        if (src0.length != src1.length) {
            throw new IllegalArgumentException(what + "cannot broadcast " + Arrays.toString(src0) + " with "
                    + Arrays.toString(src1) + ": ranks differ (" + src0.length + "D vs " + src1.length
                    + "D); give src1 the same rank with size-1 dims where it broadcasts");
        }
        for (int i = 0; i < src0.length; i++) {
            if (src1[i] != src0[i] && src1[i] != 1) {
                throw new IllegalArgumentException(what + "cannot broadcast " + Arrays.toString(src0) + " with "
                        + Arrays.toString(src1) + ": dimension " + i + " is " + src0[i] + " vs " + src1[i]
                        + (src0[i] == 1 ? " (only src1 broadcasts: put the larger operand first)" : ""));
            }
        }
        return src0.clone();
    }

    /** Indices of the dimensions where {@code src1} (size 1) is broadcast over a larger {@code dst}. */
    public static int[] broadcastAxes(long[] dst, long[] src1) {
        return java.util.stream.IntStream.range(0, dst.length).filter(i -> src1[i] == 1 && dst[i] > 1).toArray();
    }

    /** The forward primitive for given operand layouts. */
    public static final class Forward extends PrimitiveOp {
        private final Algorithm alg;
        private final long[] src0Dims;
        private final long[] src1Dims;

        private Forward(Scope scope, String name, Algorithm alg, long[] src0Dims, long[] src1Dims, Primitive primitive) {
            this.alg = alg;
            this.src0Dims = src0Dims;
            this.src1Dims = src1Dims;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = src0 op src1}. {@code src0} must be a concrete layout (the activation's);
         * {@code src1} may be concrete or {@code any}; the destination takes {@code src0}'s layout.
         * {@code postOps} may be null. Shapes are checked before any native call.
         */
        public static Forward create(Scope scope, String name, Algorithm alg, MemoryDesc src0, MemoryDesc src1, PostOps postOps) {
            long[] d0 = src0.dims();
            long[] d1 = src1.dims();
            long[] dst = broadcastDims(name, alg, d0, d1);
            if (src0.isAny()) {
                throw new IllegalArgumentException(name + ": binary " + alg.label()
                        + " needs a concrete src0 layout, not 'any'");
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                if (postOps != null) {
                    attr.postOps(postOps);
                }
                MemoryDesc dstDesc = MemoryDesc.any(tmp, dst);
                Primitive p = Primitive.create(scope, name + " (binary " + alg.label() + ")",
                        out -> dnnl_h.dnnl_binary_primitive_desc_create(out, e.handle(), alg.value(), src0.handle(),
                                src1.handle(), dstDesc.handle(), attr.handle()));
                return new Forward(scope, name, alg, d0, d1, p);
            }
        }

        /** Plain row-major operands, no post-ops. */
        public static Forward create(Scope scope, String name, Algorithm alg, long[] src0Dims, long[] src1Dims) {
            broadcastDims(name, alg, src0Dims, src1Dims);
            try (Scope tmp = Scope.open(name + ".descs")) {
                return create(scope, name, alg, MemoryDesc.plain(tmp, src0Dims), MemoryDesc.plain(tmp, src1Dims), null);
            }
        }

        public Algorithm alg() {
            return alg;
        }

        /** Dims where src1 is broadcast. */
        public int[] broadcastAxes() {
            return Binary.broadcastAxes(src0Dims, src1Dims);
        }

        public MemoryDesc src0Desc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc src1Desc() {
            return argDesc(Arg.SRC_1);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds the operands once; {@code dst} may be {@code src0} itself (in place). */
        public ExecArgs bind(Scope scope, Tensor src0, Tensor src1, Tensor dst) {
            return primitive.args().add(Arg.SRC, src0).add(Arg.SRC_1, src1).add(Arg.DST, dst).build(scope);
        }

        /** One-off convenience: binds, runs and waits (allocates the argument array). */
        public void executeOnce(Stream stream, Tensor src0, Tensor src1, Tensor dst) {
            try (Scope tmp = Scope.open(name + ".once")) {
                execute(stream, bind(tmp, src0, src1, dst));
                stream.await();
            }
        }

        @Override
        public String describe() {
            return "Binary.Forward " + name + " " + alg.label() + " " + Arrays.toString(src0Dims) + " with "
                    + Arrays.toString(src1Dims);
        }
    }

    /**
     * The gradients of {@code add}, {@code sub} and {@code mul} (formulas in the class comment), made of
     * oneDNN primitives created once: binary for the products, reduction for the sums over broadcast dims,
     * reorder for the plain copies. {@link #bind} returns {@link Steps} that run them without allocating.
     *
     * <p>Layouts: {@code diffDst} and {@code diffSrc0} in the forward's destination layout; {@code diffSrc1}
     * in the forward's {@code src1} layout when it broadcasts, otherwise in the destination layout.
     */
    public static final class Backward extends NativeResource {

        /** Tensors one pass works on; a stage builds its arguments from them. */
        /** One binding's tensors; {@code product} is its own {@code dy * src0} buffer (mul with broadcast). */
        private record Io(Tensor src0, Tensor src1, Tensor diffDst, Tensor diffSrc0, Tensor diffSrc1, Tensor product) {}

        private record Stage(Primitive primitive, Function<Io, ExecArgs.Builder> args) {}

        private final String name;
        private final Algorithm alg;
        private final Scope own;
        private final MemoryDesc diffDstDesc;
        private final MemoryDesc diffSrc0Desc;
        private final MemoryDesc diffSrc1Desc;
        private final List<Stage> toDiffSrc0 = new ArrayList<>();
        private final List<Stage> toDiffSrc1 = new ArrayList<>();
        /** Mul with broadcast sums {@code dy * src0} into diff_src1 through a buffer, one per binding. */
        private final boolean productBuffer;

        private Backward(Scope scope, String name, Forward fwd) {
            super(scope);
            this.name = name;
            this.productBuffer = fwd.alg() == Algorithm.MUL && !Arrays.equals(fwd.src0Dims, fwd.src1Dims);
            this.alg = fwd.alg();
            this.own = scope.child(name);
            try {
                long[] dst = fwd.src0Dims;
                long[] s1 = fwd.src1Dims;
                boolean broadcast = !Arrays.equals(dst, s1);
                MemoryDesc dy = fwd.dstDesc().copy(own);
                MemoryDesc s0Desc = fwd.src0Desc().copy(own);
                MemoryDesc s1Desc = fwd.src1Desc().copy(own);
                this.diffDstDesc = dy;
                this.diffSrc0Desc = dy;
                this.diffSrc1Desc = broadcast ? s1Desc : dy;

                // diff_src0
                if (alg == Algorithm.MUL) {
                    Forward m = Forward.create(own, name + ".dy*src1", Algorithm.MUL, dy, s1Desc, null);
                    toDiffSrc0.add(new Stage(m.primitive(), io -> m.primitive().args().add(Arg.SRC, io.diffDst())
                            .add(Arg.SRC_1, need(io.src1(), "src1")).add(Arg.DST, io.diffSrc0())));
                } else {
                    // d(src0 +- src1)/d(src0) = 1: a copy (skip it by passing diffSrc0 = null and using diffDst).
                    Reorder r = Reorder.create(own, dy, dy);
                    toDiffSrc0.add(new Stage(r.primitive(), io -> r.primitive().args().add(Arg.FROM, io.diffDst())
                            .add(Arg.TO, io.diffSrc0())));
                }

                // diff_src1: the per-element contribution g, then summed over the broadcast dims.
                Function<Io, Tensor> g;
                if (alg == Algorithm.MUL) {
                    Forward m = Forward.create(own, name + ".dy*src0", Algorithm.MUL, dy, s0Desc, null);
                    toDiffSrc1.add(new Stage(m.primitive(), io -> m.primitive().args().add(Arg.SRC, io.diffDst())
                            .add(Arg.SRC_1, need(io.src0(), "src0")).add(Arg.DST, broadcast ? io.product() : io.diffSrc1())));
                    g = Io::product;
                } else {
                    g = Io::diffDst;
                }
                float scale = alg == Algorithm.SUB ? -1f : 1f;
                if (broadcast) {
                    try (Scope tmp = Scope.open(name + ".postops")) {
                        PostOps ops = scale == 1f ? null
                                : PostOps.create(tmp).eltwise(Eltwise.Algorithm.LINEAR, scale, 0f);
                        Reduction.Forward red = Reduction.Forward.create(own, name + ".sum-over-broadcast",
                                Reduction.Algorithm.SUM, dy, s1Desc, ops);
                        toDiffSrc1.add(new Stage(red.primitive(), io -> red.primitive().args().add(Arg.SRC, g.apply(io))
                                .add(Arg.DST, io.diffSrc1())));
                    }
                } else if (alg == Algorithm.ADD) {
                    Reorder r = Reorder.create(own, dy, dy);
                    toDiffSrc1.add(new Stage(r.primitive(), io -> r.primitive().args().add(Arg.FROM, io.diffDst())
                            .add(Arg.TO, io.diffSrc1())));
                } else if (alg == Algorithm.SUB) {
                    Eltwise.Forward neg = Eltwise.Forward.create(own,
                            name + ".negate", dy, Eltwise.Algorithm.LINEAR, -1f, 0f, PropKind.INFERENCE);
                    toDiffSrc1.add(new Stage(neg.primitive(), io -> neg.primitive().args().add(Arg.SRC, io.diffDst())
                            .add(Arg.DST, io.diffSrc1())));
                }
            } catch (RuntimeException e) {
                own.close();
                throw e;
            }
            register();
        }

        /**
         * Creates the backward of {@code fwd}. Throws for operators without a gradient here ({@code div},
         * {@code max}, {@code min}) before any native call.
         */
        public static Backward create(Scope scope, String name, Forward fwd) {
            if (!fwd.alg().hasBackward()) {
                throw new IllegalArgumentException(name + ": binary " + fwd.alg().label()
                        + " has no backward here (gradients are provided for add, sub and mul)");
            }
            return new Backward(scope, name, fwd);
        }

        private Tensor need(Tensor t, String what) {
            if (t == null) {
                throw new IllegalArgumentException(name + ": the gradient of binary " + alg.label() + " needs " + what);
            }
            return t;
        }

        public MemoryDesc diffDstDesc() {
            return diffDstDesc;
        }

        public MemoryDesc diffSrc0Desc() {
            return diffSrc0Desc;
        }

        public MemoryDesc diffSrc1Desc() {
            return diffSrc1Desc;
        }

        /**
         * Binds one pass. {@code src0}/{@code src1} are the forward's operands (only {@code mul} reads them;
         * may be null otherwise); a null {@code diffSrc0} or {@code diffSrc1} skips that gradient.
         */
        public Steps bind(Scope scope, Tensor src0, Tensor src1, Tensor diffDst, Tensor diffSrc0, Tensor diffSrc1) {
            ensureOpen();
            if (diffDst == null) {
                throw new IllegalArgumentException(name + ": no diff_dst tensor given (every gradient of binary "
                        + alg.label() + " reads it)");
            }
            Steps steps = Steps.open(scope, name + ".steps");
            try {
                Tensor product = productBuffer && diffSrc1 != null
                        ? Tensor.allocate(steps.own(), name + ".dy*src0", diffDstDesc) : null;
                Io io = new Io(src0, src1, diffDst, diffSrc0, diffSrc1, product);
                if (diffSrc0 != null) {
                    for (Stage s : toDiffSrc0) {
                        steps.add(s.primitive(), s.args().apply(io).build(steps.own()));
                    }
                }
                if (diffSrc1 != null) {
                    for (Stage s : toDiffSrc1) {
                        steps.add(s.primitive(), s.args().apply(io).build(steps.own()));
                    }
                }
            } catch (RuntimeException e) {
                steps.close();
                throw e;
            }
            return steps;
        }

        public void execute(Stream stream, Steps steps) {
            ensureOpen();
            steps.execute(stream);
        }

        @Override
        public String describe() {
            return "Binary.Backward " + name + " " + alg.label();
        }

        @Override
        public long nativeBytes() {
            return 0;
        }

        @Override
        protected void release() {
            own.close();
        }
    }
}
