package dev.stride.softmax;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.Arrays;
import java.util.function.IntSupplier;

/**
 * Softmax and log-softmax along one axis, oneDNN's softmax primitive.
 *
 * <p>{@code ACCURATE}: {@code dst_i = exp(src_i - max_j src_j) / sum_j exp(src_j - max_j src_j)};
 * {@code LOG}: {@code dst_i = src_i - max_j src_j - log(sum_j exp(src_j - max_j src_j))}, the log of the same
 * without ever forming the (possibly underflowing) probabilities. Sums run over the {@code axis} dimension.
 * Backward: {@code diff_src_i = dst_i (diff_dst_i - sum_j diff_dst_j dst_j)} for softmax,
 * {@code diff_src_i = diff_dst_i - exp(dst_i) sum_j diff_dst_j} for log-softmax.
 *
 * <p><b>Shape</b>: any rank; {@code axis} in {@code [-rank, rank)}, negative counting from the end as in
 * PyTorch; dst and the gradients have the source's dims and layout.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Softmax {
    private Softmax() {}

    /**
     * Most bytes between neighbours along a softmax axis that is not the innermost: {@code 2^30}. oneDNN's
     * strided softmax kernel fails to generate code for larger steps ({@code [2, 2^29]} over axis 0, a step of
     * 2 GiB, fails with {@code runtime_error}), and after that failure every later JIT primitive of the
     * process fails too; {@code [2, 3 * 2^27]} (1.5 GiB) still works. Checked before any native call.
     */
    public static final long MAX_AXIS_STEP_BYTES = 1L << 30;

    /** Which function: probabilities or their logarithm. */
    public enum Algorithm {
        ACCURATE("softmax", dnnl_h::dnnl_softmax_accurate),
        LOG("log-softmax", dnnl_h::dnnl_softmax_log);

        private final String label;
        // Read lazily: the bindings class must not load before the native library has been located.
        private final IntSupplier value;

        Algorithm(String label, IntSupplier value) {
            this.label = label;
            this.value = value;
        }

        public String label() {
            return label;
        }

        /** The {@code dnnl_alg_kind_t} value. */
        public int value() {
            return value.getAsInt();
        }
    }

    /**
     * The axis in oneDNN's convention ({@code 0..rank-1}) for PyTorch's {@code dim} (negative counts from the
     * end), or an {@link IllegalArgumentException} naming the layer and the dims.
     */
    public static int normalizeAxis(String name, long[] dims, int axis) {
        int rank = dims.length;
        if (axis < -rank || axis >= rank) {
            throw new IllegalArgumentException(name + ": axis " + axis + " is out of range for a " + rank + "D input "
                    + Arrays.toString(dims) + " (expected " + -rank + ".." + (rank - 1) + ")");
        }
        return axis < 0 ? axis + rank : axis;
    }

    /**
     * Refuses a layout whose step along {@code axis} (bounded by the elements after the axis times the
     * layout's inner blocks) exceeds {@link #MAX_AXIS_STEP_BYTES}: such a softmax would poison oneDNN.
     */
    static void checkAxisStep(String name, MemoryDesc src, int axis) {
        long[] dims = src.dims();
        long step = src.dataType().bytes();
        for (int d = axis + 1; d < dims.length; d++) {
            step *= dims[d]; // at most MAX_ELEMENTS * 8 * blocks: no overflow
        }
        for (int d = 0; d < dims.length; d++) {
            step *= src.blockOf(d);
        }
        if (axis < dims.length - 1 && step > MAX_AXIS_STEP_BYTES) {
            throw new IllegalArgumentException(name + ": softmax over axis " + axis + " of " + src.shapeString()
                    + " steps " + step + " bytes between neighbours along the axis; oneDNN handles at most "
                    + MAX_AXIS_STEP_BYTES + " (Softmax.MAX_AXIS_STEP_BYTES): move the axis last or make the "
                    + "dims after it smaller");
        }
    }

    /** The forward primitive for one source layout and axis. */
    public static final class Forward extends PrimitiveOp {
        private final Algorithm alg;
        private final int axis;
        private final PropKind mode;

        private Forward(Scope scope, String name, Algorithm alg, int axis, PropKind mode, Primitive primitive) {
            this.alg = alg;
            this.axis = axis;
            this.mode = mode;
            super(scope, name, primitive);
        }

        /**
         * Creates softmax or log-softmax over {@code axis} of sources laid out as {@code src} (a concrete
         * layout: a network keeps the one its previous layer chose); dst takes the same layout.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, Algorithm alg, int axis, PropKind mode) {
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": " + alg.label() + " needs a concrete source layout, not 'any'");
            }
            int ax = normalizeAxis(name, src.dims(), axis);
            checkAxisStep(name, src, ax);
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                int prop = mode.value();
                Primitive p = Primitive.create(scope, name + " (" + alg.label() + " axis " + ax + ")",
                        out -> dnnl_h.dnnl_softmax_forward_primitive_desc_create(out, e.handle(), prop, alg.value(),
                                src.handle(), src.handle(), ax, attr.handle()));
                return new Forward(scope, name, alg, ax, mode, p);
            }
        }

        public Algorithm algorithm() {
            return alg;
        }

        /** The axis, normalised to {@code 0..rank-1}. */
        public int axis() {
            return axis;
        }

        public PropKind mode() {
            return mode;
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds source and destination (the same tensor for in-place) once for repeated execution. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor dst) {
            return primitive.args().add(Arg.SRC, src).add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "Softmax.Forward " + name + " (" + alg.label() + ", axis " + axis + ")";
        }
    }

    /** The backward pass; it reads the forward's {@code dst} (probabilities or log-probabilities), not its source. */
    public static final class Backward extends PrimitiveOp {
        private final Forward forward;

        private Backward(Scope scope, String name, Forward forward, Primitive primitive) {
            this.forward = forward;
            super(scope, name, primitive);
        }

        /** Creates the backward pass of {@code forward} (a {@code TRAINING} forward); gradients take its layout. */
        public static Backward create(Scope scope, String name, Forward forward) {
            if (forward.mode() != PropKind.TRAINING) {
                throw new IllegalArgumentException(name + ": a backward pass needs a forward created for TRAINING, '"
                        + forward.name() + "' was created for " + forward.mode());
            }
            MemoryDesc dst = forward.dstDesc();
            int alg = forward.algorithm().value();
            int axis = forward.axis();
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Primitive p = Primitive.create(scope, name + " (" + forward.algorithm().label() + " backward axis " + axis + ")",
                        out -> dnnl_h.dnnl_softmax_backward_primitive_desc_create(out, e.handle(), alg, dst.handle(),
                                dst.handle(), dst.handle(), axis, forward.primitive().descHandle(), attr.handle()));
                return new Backward(scope, name, forward, p);
            }
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        public MemoryDesc diffSrcDesc() {
            return argDesc(Arg.DIFF_SRC);
        }

        /** Binds the forward's {@code dst}, the upstream gradient and the output gradient once. */
        public ExecArgs bind(Scope scope, Tensor dst, Tensor diffDst, Tensor diffSrc) {
            return primitive.args().add(Arg.DST, dst).add(Arg.DIFF_DST, diffDst).add(Arg.DIFF_SRC, diffSrc).build(scope);
        }

        @Override
        public String describe() {
            return "Softmax.Backward " + name + " (" + forward.algorithm().label() + ", axis " + forward.axis() + ")";
        }
    }
}
