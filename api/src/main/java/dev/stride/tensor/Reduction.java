package dev.stride.tensor;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PostOps;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.Arrays;
import java.util.function.IntSupplier;

/**
 * Reduction over the dimensions where the destination has extent 1 (oneDNN's reduction primitive):
 * {@code dst[j] = op_{i reduced onto j} src[i]}.
 *
 * <p>This is also the gradient of a broadcast: when {@code y = f(x)} repeats {@code x} along some dims, the
 * gradient of {@code x} sums the upstream gradient over exactly those dims.
 *
 * <p><b>Shape</b>: src {@code d_0 x ... x d_k}; dst the same rank with each {@code dst_i} equal to
 * {@code d_i} or 1, and at least one dimension reduced.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Reduction {
    private Reduction() {}

    /** The reduction operator. */
    public enum Algorithm {
        SUM("sum", dnnl_h::dnnl_reduction_sum),
        MEAN("mean", dnnl_h::dnnl_reduction_mean),
        MAX("max", dnnl_h::dnnl_reduction_max),
        MIN("min", dnnl_h::dnnl_reduction_min),
        MUL("mul", dnnl_h::dnnl_reduction_mul);

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
    }

    /**
     * Checks that {@code dst} is {@code src} with some dims reduced to 1 (at least one); returns the reduced
     * dimension indices.
     */
    public static int[] reducedDims(String name, long[] src, long[] dst) {
        Dims.require(name, "src", src);
        Dims.require(name, "dst", dst);
        if (src.length != dst.length) {
            throw new IllegalArgumentException(name + ": reduction from " + Arrays.toString(src) + " to "
                    + Arrays.toString(dst) + ": ranks differ (" + src.length + "D vs " + dst.length + "D)");
        }
        int[] reduced = new int[src.length];
        int n = 0;
        for (int i = 0; i < src.length; i++) {
            if (dst[i] == src[i]) {
                continue;
            }
            if (dst[i] != 1) {
                throw new IllegalArgumentException(name + ": reduction from " + Arrays.toString(src) + " to "
                        + Arrays.toString(dst) + ": dimension " + i + " is " + dst[i] + ", must be " + src[i] + " or 1");
            }
            reduced[n++] = i;
        }
        if (n == 0) {
            throw new IllegalArgumentException(name + ": reduction from " + Arrays.toString(src) + " to "
                    + Arrays.toString(dst) + " reduces no dimension");
        }
        return Arrays.copyOf(reduced, n);
    }

    /** The forward primitive for one source layout. */
    public static final class Forward extends PrimitiveOp {
        private final Algorithm alg;
        private final int[] reduced;

        private Forward(Scope scope, String name, Algorithm alg, int[] reduced, Primitive primitive) {
            this.alg = alg;
            this.reduced = reduced;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = alg over the reduced dims of src}; {@code src} is a concrete layout, {@code dst}
         * may be {@code any} (oneDNN then picks one like the source's). {@code postOps} may be null.
         */
        public static Forward create(Scope scope, String name, Algorithm alg, MemoryDesc src, MemoryDesc dst, PostOps postOps) {
            int[] reduced = Reduction.reducedDims(name, src.dims(), dst.dims());
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": reduction needs a concrete source layout, not 'any'");
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                if (postOps != null) {
                    attr.postOps(postOps);
                }
                Primitive p = Primitive.create(scope, name + " (reduction " + alg.label() + ")",
                        out -> dnnl_h.dnnl_reduction_primitive_desc_create(out, e.handle(), alg.value(), src.handle(),
                                dst.handle(), 0f, 0f, attr.handle()));
                return new Forward(scope, name, alg, reduced, p);
            }
        }

        /** Plain row-major source and destination. */
        public static Forward create(Scope scope, String name, Algorithm alg, long[] srcDims, long[] dstDims) {
            Reduction.reducedDims(name, srcDims, dstDims);
            try (Scope tmp = Scope.open(name + ".descs")) {
                return create(scope, name, alg, MemoryDesc.plain(tmp, srcDims), MemoryDesc.plain(tmp, dstDims), null);
            }
        }

        public Algorithm alg() {
            return alg;
        }

        /** Indices of the dims reduced to 1. */
        public int[] reducedDims() {
            return reduced.clone();
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        public ExecArgs bind(Scope scope, Tensor src, Tensor dst) {
            return primitive.args().add(Arg.SRC, src).add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "Reduction.Forward " + name + " " + alg.label() + " over dims " + Arrays.toString(reduced);
        }
    }
}
