package dev.stride.norm;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Dnnl;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Shapes;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * Layer normalization over the last dimension, oneDNN's layer normalization primitive.
 *
 * <p>{@code y = gamma * (x - E[x]) / sqrt(Var[x] + eps) + beta}, with the mean and the biased variance taken
 * over the last dimension {@code C} of each row; {@code gamma}/{@code beta} are per element of {@code C}.
 * There are no running statistics: training and inference normalise the same way; training also writes the
 * per-row mean and variance, which the backward needs.
 *
 * <p><b>Shape</b>: src and dst {@code (*, C)} with 2 to 5 dims, e.g. {@code (6272, 256)} or
 * {@code (N, T, C)}, dst in src's layout; gamma and beta {@code C}; mean and variance {@code (*)} (src's dims
 * without the last).
 *
 * <p>Parameters: {@link Params}: {@code eps = 1e-5}, {@code affine = true} (PyTorch's
 * {@code elementwise_affine}). Ba, Kiros and Hinton, <a href="https://arxiv.org/abs/1607.06450">Layer
 * Normalization</a> (2016).
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class LayerNorm {
    private LayerNorm() {}

    /**
     * Most bytes of one normalised row (the last dimension {@code C} times the element size): {@code 2^30}.
     * oneDNN's layer-norm kernel generates code whose size grows with {@code C}: {@code C = 2^29} f32 fails
     * with {@code runtime_error} after which every later JIT primitive of the process fails too, and
     * {@code C = 2^31 - 1} crashed the JVM (in Xbyak) or ran for minutes while the primitive was created; {@code C = 2^28} works. Checked
     * before any native call.
     */
    public static final long MAX_ROW_BYTES = 1L << 30;

    public static final double DEFAULT_EPSILON = 1e-5;

    /** Settings; immutable. */
    public record Params(double epsilon, boolean affine) {

        /** {@code eps = 1e-5} with learned gamma/beta. */
        public static Params defaults() {
            return new Params(DEFAULT_EPSILON, true);
        }

        public Params epsilon(double e) {
            return new Params(e, affine);
        }

        public Params affine(boolean a) {
            return new Params(epsilon, a);
        }

        void validate(String layer) {
            if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
                throw new IllegalArgumentException(layer + ": eps must be a finite number > 0, got " + epsilon);
            }
            // oneDNN takes eps as f32: below ~1.4e-45 it becomes 0 (NaN for a constant channel), above 3.4e38 inf.
            float f = (float) epsilon;
            if (!(f > 0) || Float.isInfinite(f)) {
                throw new IllegalArgumentException(layer + ": eps " + epsilon + " is outside f32's range (it becomes " + f
                        + "); use a value between " + Float.MIN_NORMAL + " and " + Float.MAX_VALUE);
            }
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            if (epsilon != DEFAULT_EPSILON) sb.append(", eps=").append(epsilon);
            if (!affine) sb.append(", affine=false");
            return sb.isEmpty() ? "" : sb.substring(2);
        }
    }

    /**
     * Shapes validated in Java: {@code src} {@code (*, C)}, statistics {@code (*)}, {@code C} normalised
     * values per row.
     */
    public record Geometry(long[] src, long[] stats, long normalized) {

        public static Geometry of(String layer, long[] srcDims) {
            Shapes.requireRank(layer, srcDims, 2, 3, 4, 5);
            for (long d : srcDims) {
                if (d <= 0) {
                    throw new IllegalArgumentException(layer + ": input dims " + Arrays.toString(srcDims) + " must be positive");
                }
            }
            return new Geometry(srcDims.clone(), Arrays.copyOf(srcDims, srcDims.length - 1), srcDims[srcDims.length - 1]);
        }

        /** Dims of gamma and beta: {@code [C]}. */
        public long[] channelDims() {
            return new long[] {normalized};
        }

        /** Number of rows normalised independently. */
        public long rows() {
            long r = 1;
            for (long d : stats) {
                r *= d;
            }
            return r;
        }
    }

    private static int flags(Params p) {
        int f = dnnl_h.dnnl_normalization_flags_none();
        if (p.affine()) f |= dnnl_h.dnnl_use_scale() | dnnl_h.dnnl_use_shift();
        return f;
    }

    /** The forward primitive for one source layout. */
    public static final class Forward extends PrimitiveOp {
        private final Geometry geometry;
        private final Params params;
        private final PropKind mode;

        private Forward(Scope scope, String name, Geometry geometry, Params params, PropKind mode, Primitive primitive) {
            this.geometry = geometry;
            this.params = params;
            this.mode = mode;
            super(scope, name, primitive);
        }

        /** Creates the primitive for sources laid out as {@code src} (concrete, not {@code any}); dst takes the same layout. */
        public static Forward create(Scope scope, String name, MemoryDesc src, Params params, PropKind mode) {
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": layer normalization needs a concrete source layout, not 'any'");
            }
            params.validate(name);
            Geometry g = Geometry.of(name, src.dims());
            return make(scope, name, src, g, params, mode);
        }

        /** Creates the primitive for plain row-major f32 sources; everything is checked before any native call. */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params, PropKind mode) {
            params.validate(name);
            Geometry g = Geometry.of(name, srcDims);
            try (Scope tmp = Scope.open(name + ".desc")) {
                return make(scope, name, MemoryDesc.plain(tmp, srcDims), g, params, mode);
            }
        }

        private static Forward make(Scope scope, String name, MemoryDesc src, Geometry g, Params params, PropKind mode) {
            long rowBytes = g.normalized() * src.dataType().bytes();
            if (rowBytes > MAX_ROW_BYTES) {
                throw new IllegalArgumentException(name + ": layer normalization over C = " + g.normalized() + " ("
                        + src.shapeString() + ") normalises rows of " + rowBytes + " bytes; oneDNN handles at most "
                        + MAX_ROW_BYTES + " (LayerNorm.MAX_ROW_BYTES)");
            }
            Dnnl.init();
            int flags = flags(params);
            float eps = (float) params.epsilon();
            try (Scope tmp = Scope.open(name + ".create")) {
                // Statistics plain row-major over the leading dims, so that users can read them directly.
                MemoryDesc stat = MemoryDesc.plain(tmp, g.stats());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Engine e = Engine.cpu();
                int prop = mode.value();
                Primitive p = Primitive.create(scope, name + " (layer normalization forward " + mode.name().toLowerCase(Locale.ROOT) + ")",
                        out -> dnnl_h.dnnl_layer_normalization_forward_primitive_desc_create(out, e.handle(), prop,
                                src.handle(), src.handle(), stat.handle(), eps, flags, attr.handle()));
                return new Forward(scope, name, g, params, mode, p);
            }
        }

        public Geometry geometry() {
            return geometry;
        }

        public Params params() {
            return params;
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

        /** Layout of the per-row mean and variance (training only; plain {@code (*)}). */
        public MemoryDesc statsDesc() {
            return argDesc(Arg.MEAN);
        }

        /**
         * Binds once for repeated {@link #execute}: {@code scale}/{@code shift} ({@code [C]}; null without
         * affine), {@code mean}/{@code variance} ({@code (*)}) written in training and null in inference (the
         * primitive computes them internally and keeps nothing), {@code dst} may be {@code src}.
         */
        public ExecArgs bind(Scope scope, Tensor src, Tensor scale, Tensor shift, Tensor mean, Tensor variance, Tensor dst) {
            BatchNorm.checkAffine(name, params.affine(), scale, shift, geometry.channelDims());
            if (mode == PropKind.TRAINING) {
                requireStats(name, "mean", mean, geometry.stats());
                requireStats(name, "variance", variance, geometry.stats());
            } else if (mean != null || variance != null) {
                throw new IllegalArgumentException(name + ": inference-mode layer norm computes its statistics internally: pass null for mean and variance");
            }
            return primitive.args().add(Arg.SRC, src).addIfPresent(Arg.SCALE, scale).addIfPresent(Arg.SHIFT, shift)
                    .addIfPresent(Arg.MEAN, mean).addIfPresent(Arg.VARIANCE, variance).add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "LayerNorm.Forward " + name + " " + Arrays.toString(geometry.src()) + " "
                    + mode.name().toLowerCase(Locale.ROOT) + (params.toString().isEmpty() ? "" : " (" + params + ")");
        }
    }

    static void requireStats(String layer, String what, Tensor t, long[] dims) {
        if (t == null) {
            throw new IllegalArgumentException(layer + ": no tensor given for " + what);
        }
        if (!Arrays.equals(t.dims(), dims)) {
            throw new IllegalArgumentException(layer + ": " + what + " must have dims " + Arrays.toString(dims)
                    + " (one value per row: the input's dims without the last), got tensor '" + t.name() + "' "
                    + Arrays.toString(t.dims()));
        }
    }

    /**
     * The backward primitive of a training-mode forward: {@code diff_src}, and with affine {@code diff_scale}
     * ({@code dgamma[c] = sum_rows dy * xhat}) and {@code diff_shift} ({@code dbeta[c] = sum_rows dy}). Per
     * row, with {@code g = gamma * dy}: {@code dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)}.
     */
    public static final class Backward extends PrimitiveOp {
        private final Forward forward;

        private Backward(Scope scope, String name, Forward forward, Primitive primitive) {
            this.forward = forward;
            super(scope, name, primitive);
        }

        public static Backward create(Scope scope, String name, Forward forward) {
            if (forward.mode() != PropKind.TRAINING) {
                throw new IllegalArgumentException(name + ": the backward pass needs a training-mode forward (it reads the statistics), got "
                        + forward.mode().name().toLowerCase(Locale.ROOT));
            }
            Params params = forward.params();
            int flags = flags(params);
            float eps = (float) params.epsilon();
            int prop = params.affine() ? dnnl_h.dnnl_backward() : dnnl_h.dnnl_backward_data();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                MemoryDesc src = forward.srcDesc();
                MemoryDesc stat = forward.statsDesc();
                MemorySegment hint = forward.primitive().descHandle();
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (layer normalization backward)",
                        out -> dnnl_h.dnnl_layer_normalization_backward_primitive_desc_create(out, e.handle(), prop,
                                src.handle(), src.handle(), src.handle(), stat.handle(), eps, flags, hint, attr.handle()));
                return new Backward(scope, name, forward, p);
            }
        }

        public MemoryDesc diffSrcDesc() {
            return argDesc(Arg.DIFF_SRC);
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        /**
         * Binds once: the forward's {@code src}, {@code mean}, {@code variance} and {@code scale} (gamma), the
         * incoming {@code diffDst}, the outputs {@code diffSrc}, {@code diffScale}, {@code diffShift} (gamma and
         * its gradients null without affine).
         */
        public ExecArgs bind(Scope scope, Tensor src, Tensor mean, Tensor variance, Tensor scale, Tensor diffDst,
                Tensor diffSrc, Tensor diffScale, Tensor diffShift) {
            Geometry g = forward.geometry();
            BatchNorm.checkAffineBackward(name, forward.params().affine(), scale, diffScale, diffShift, g.channelDims());
            requireStats(name, "mean", mean, g.stats());
            requireStats(name, "variance", variance, g.stats());
            return primitive.args().add(Arg.SRC, src).add(Arg.MEAN, mean).add(Arg.VARIANCE, variance)
                    .addIfPresent(Arg.SCALE, scale).add(Arg.DIFF_DST, diffDst).add(Arg.DIFF_SRC, diffSrc)
                    .addIfPresent(Arg.DIFF_SCALE, diffScale).addIfPresent(Arg.DIFF_SHIFT, diffShift).build(scope);
        }

        @Override
        public String describe() {
            return "LayerNorm.Backward " + name;
        }
    }
}
