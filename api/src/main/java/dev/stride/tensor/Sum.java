package dev.stride.tensor;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * Weighted sum of tensors of one shape (oneDNN's sum primitive): {@code dst = sum_i scale_i * src_i}.
 * Its gradient is {@code diff_src_i = scale_i * diff_dst}, which is this same primitive with one input.
 *
 * <p><b>Shape</b>: every src and dst {@code d_0 x ... x d_k}, identical dims (layouts may differ).
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Sum {
    private Sum() {}

    /** The primitive for given source layouts. */
    public static final class Forward extends PrimitiveOp {
        private final float[] scales;

        private Forward(Scope scope, String name, float[] scales, Primitive primitive) {
            this.scales = scales;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = sum_i scales[i] * srcs[i]}; sources are concrete layouts, the destination is
         * chosen by oneDNN ({@code any}). Dims are checked before any native call.
         */
        public static Forward create(Scope scope, String name, float[] scales, MemoryDesc... srcs) {
            requireScales(name, scales);
            if (srcs == null || srcs.length < 1) {
                throw new IllegalArgumentException(name + ": sum needs at least one source");
            }
            if (scales.length != srcs.length) {
                throw new IllegalArgumentException(name + ": sum of " + srcs.length + " sources needs "
                        + srcs.length + " scales, got " + scales.length);
            }
            for (int i = 0; i < srcs.length; i++) {
                if (srcs[i] == null) {
                    throw new IllegalArgumentException(name + ": sum source " + i + " is null (no memory descriptor)");
                }
            }
            long[] dims = srcs[0].dims();
            for (int i = 0; i < srcs.length; i++) {
                if (!Arrays.equals(dims, srcs[i].dims())) {
                    throw new IllegalArgumentException(name + ": sum needs sources of equal dims: source 0 is "
                            + Arrays.toString(dims) + ", source " + i + " is " + Arrays.toString(srcs[i].dims()));
                }
                if (srcs[i].isAny()) {
                    throw new IllegalArgumentException(name + ": sum needs concrete source layouts; source " + i + " is 'any'");
                }
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create"); Arena a = Arena.ofConfined()) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                MemoryDesc dst = MemoryDesc.any(tmp, dims);
                MemorySegment sc = a.allocateFrom(ValueLayout.JAVA_FLOAT, scales);
                MemorySegment mds = a.allocate(ValueLayout.ADDRESS, srcs.length);
                for (int i = 0; i < srcs.length; i++) {
                    mds.setAtIndex(ValueLayout.ADDRESS, i, srcs[i].handle());
                }
                Primitive p = Primitive.create(scope, name + " (sum of " + srcs.length + ")",
                        out -> dnnl_h.dnnl_sum_primitive_desc_create(out, e.handle(), dst.handle(), srcs.length, sc,
                                mds, attr.handle()));
                return new Forward(scope, name, scales.clone(), p);
            }
        }

        /** Plain row-major sources of {@code dims}. */
        public static Forward create(Scope scope, String name, float[] scales, long[] dims) {
            requireScales(name, scales);
            Dims.require(name, "src", dims);
            try (Scope tmp = Scope.open(name + ".descs")) {
                MemoryDesc[] srcs = new MemoryDesc[scales.length];
                for (int i = 0; i < srcs.length; i++) {
                    srcs[i] = MemoryDesc.plain(tmp, dims);
                }
                return create(scope, name, scales, srcs);
            }
        }

        private static void requireScales(String name, float[] scales) {
            if (scales == null) {
                throw new IllegalArgumentException(name + ": no scales given (one per source)");
            }
            for (int i = 0; i < scales.length; i++) {
                if (!Float.isFinite(scales[i])) {
                    throw new IllegalArgumentException(name + ": sum scale " + i + " is " + scales[i] + ", must be finite");
                }
            }
        }

        public int inputs() {
            return scales.length;
        }

        public float[] scales() {
            return scales.clone();
        }

        public MemoryDesc srcDesc(int i) {
            Objects.checkIndex(i, scales.length);
            return argDesc(Arg.MULTIPLE_SRC + i);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds the sources (in order) and the destination once; {@code dst} may be one of the sources. */
        public ExecArgs bind(Scope scope, Tensor dst, Tensor... srcs) {
            if (srcs == null) {
                throw new IllegalArgumentException(name + ": no source tensors given (srcs is null)");
            }
            if (srcs.length != scales.length) {
                throw new IllegalArgumentException(name + ": sum of " + scales.length + " sources, got "
                        + srcs.length + " tensors");
            }
            ExecArgs.Builder b = primitive.args();
            for (int i = 0; i < srcs.length; i++) {
                b.add(Arg.MULTIPLE_SRC + i, srcs[i]);
            }
            return b.add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "Sum.Forward " + name + " scales " + Arrays.toString(scales);
        }
    }
}
