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
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.core.DataType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;

/**
 * Batch normalization over the channel dimension, oneDNN's batch normalization primitive.
 *
 * <p>{@code y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]}, optionally followed by ReLU. In
 * training ({@link PropKind#TRAINING}) {@code mean} and {@code var} are the batch statistics over
 * {@code N} and the spatial dims (the biased variance, divided by {@code M = N*H*W}), and the forward writes
 * them out; the running estimates are then updated as PyTorch does:
 * {@code running = (1 - momentum) * running + momentum * batch}, the variance term unbiased
 * ({@code var * M/(M-1)}). In inference ({@link PropKind#INFERENCE}) the running statistics are inputs and
 * the layer is a per-channel linear map (see {@link BatchNormFold}).
 *
 * <p><b>Shape</b>: src and dst {@code N x C}, {@code N x C x W}, {@code N x C x H x W} or
 * {@code N x C x D x H x W}, dst in src's layout; gamma (scale), beta (shift), mean and variance {@code C}.
 * Training needs {@code M = N*[D*]H*W > 1} values per channel.
 *
 * <p>Parameters: {@link Params}: {@code eps = 1e-5}, {@code momentum = 0.1}, {@code affine = true} (learned
 * gamma/beta, initialised to 1 and 0 by whoever owns them), {@code fuseRelu = false}. Ioffe and Szegedy,
 * <a href="https://arxiv.org/abs/1502.03167">Batch Normalization</a> (2015).
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class BatchNorm {
    private BatchNorm() {}

    public static final double DEFAULT_EPSILON = 1e-5;
    public static final double DEFAULT_MOMENTUM = 0.1;

    /** Settings; immutable, each setter returns a copy. */
    public record Params(double epsilon, double momentum, boolean affine, boolean fuseRelu) {

        /** PyTorch's defaults: {@code eps = 1e-5}, {@code momentum = 0.1}, affine, no ReLU. */
        public static Params defaults() {
            return new Params(DEFAULT_EPSILON, DEFAULT_MOMENTUM, true, false);
        }

        public Params epsilon(double e) {
            return new Params(e, momentum, affine, fuseRelu);
        }

        /** Weight of the new batch statistic in the running estimate, in {@code [0, 1]}. */
        public Params momentum(double m) {
            return new Params(epsilon, m, affine, fuseRelu);
        }

        /** Whether the layer has learned gamma (scale) and beta (shift). */
        public Params affine(boolean a) {
            return new Params(epsilon, momentum, a, fuseRelu);
        }

        /** Applies ReLU to the output inside the primitive (oneDNN's {@code fuse_norm_relu}). */
        public Params fuseRelu(boolean r) {
            return new Params(epsilon, momentum, affine, r);
        }

        /** Throws unless {@code eps > 0} and {@code momentum} is in {@code [0, 1]}. */
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
            if (!(momentum >= 0 && momentum <= 1)) {
                throw new IllegalArgumentException(layer + ": momentum must be in [0, 1], got " + momentum);
            }
        }

        /** Only the settings that differ from the defaults (PyTorch's {@code extra_repr}). */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            if (epsilon != DEFAULT_EPSILON) sb.append(", eps=").append(epsilon);
            if (momentum != DEFAULT_MOMENTUM) sb.append(", momentum=").append(momentum);
            if (!affine) sb.append(", affine=false");
            if (fuseRelu) sb.append(", relu");
            return sb.isEmpty() ? "" : sb.substring(2);
        }
    }

    /**
     * The shapes of one batch normalization, validated in Java before any native call.
     *
     * @param src               input dims {@code N, C, [[D,] H,] W}
     * @param channels          {@code C}
     * @param valuesPerChannel  {@code M = N * [D *] H * W}: how many values each batch statistic averages
     */
    public record Geometry(long[] src, long channels, long valuesPerChannel) {

        /** Validates an input of {@code srcDims} for {@code mode}. */
        public static Geometry of(String layer, long[] srcDims, PropKind mode) {
            Shapes.requireRank(layer, srcDims, 2, 3, 4, 5);
            for (long d : srcDims) {
                if (d <= 0) {
                    throw new IllegalArgumentException(layer + ": input dims " + Arrays.toString(srcDims) + " must be positive");
                }
            }
            long m = srcDims[0];
            for (int i = 2; i < srcDims.length; i++) {
                m *= srcDims[i];
            }
            // The unbiased running variance divides by M - 1, and a batch of one value per channel normalises
            // everything to beta: PyTorch refuses it, and so do we.
            if (mode == PropKind.TRAINING && m == 1) {
                throw new IllegalArgumentException(layer + ": expected more than 1 value per channel when training, got input "
                        + Arrays.toString(srcDims) + " (" + perChannelFormula(srcDims.length) + " = 1)");
            }
            return new Geometry(srcDims.clone(), srcDims[1], m);
        }

        private static String perChannelFormula(int rank) {
            return switch (rank) {
                case 2 -> "N";
                case 3 -> "N*W";
                case 4 -> "N*H*W";
                default -> "N*D*H*W";
            };
        }

        /** Dims of gamma, beta, mean and variance: {@code [C]}. */
        public long[] channelDims() {
            return new long[] {channels};
        }
    }

    private static int flags(Params p, boolean globalStats) {
        int f = dnnl_h.dnnl_normalization_flags_none();
        if (globalStats) f |= dnnl_h.dnnl_use_global_stats();
        if (p.affine()) f |= dnnl_h.dnnl_use_scale() | dnnl_h.dnnl_use_shift();
        if (p.fuseRelu()) f |= dnnl_h.dnnl_fuse_norm_relu();
        return f;
    }

    /**
     * Updates running estimates from one training step's batch statistics, in Java over the off-heap
     * {@code [C]} tensors (a oneDNN primitive for {@code C} multiply-adds would cost more in fork/join than
     * the work): {@code rm = (1 - m) * rm + m * mean}, {@code rv = (1 - m) * rv + m * var * M/(M-1)}, where
     * {@code var} is the biased batch variance the forward wrote. Computed in double and stored as f32, like
     * PyTorch's CPU kernel. All four tensors must be plain f32 {@code [C]}; the batch statistics must be
     * complete (the stream awaited).
     */
    public static void updateRunningStats(String layer, double momentum, long valuesPerChannel, Tensor batchMean,
            Tensor batchVariance, Tensor runningMean, Tensor runningVariance) {
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(layer + ": momentum must be in [0, 1], got " + momentum);
        }
        if (valuesPerChannel < 2) {
            throw new IllegalArgumentException(layer + ": the unbiased variance needs more than 1 value per channel, got "
                    + valuesPerChannel);
        }
        long c = batchMean.desc().elements();
        long[] dims = {c};
        requirePlainVector(layer, "batch mean", batchMean, dims);
        requirePlainVector(layer, "batch variance", batchVariance, dims);
        requirePlainVector(layer, "running mean", runningMean, dims);
        requirePlainVector(layer, "running variance", runningVariance, dims);
        MemorySegment mean = batchMean.segment();
        MemorySegment var = batchVariance.segment();
        MemorySegment rm = runningMean.segment();
        MemorySegment rv = runningVariance.segment();
        double unbias = (double) valuesPerChannel / (valuesPerChannel - 1);
        for (long i = 0; i < c; i++) {
            double m = mean.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            double v = var.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            double oldM = rm.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            double oldV = rv.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            rm.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((1 - momentum) * oldM + momentum * m));
            rv.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((1 - momentum) * oldV + momentum * v * unbias));
        }
    }

    static void requirePlainVector(String layer, String what, Tensor t, long[] dims) {
        if (t == null) {
            throw new IllegalArgumentException(layer + ": no tensor given for " + what);
        }
        if (!Arrays.equals(t.dims(), dims)) {
            throw new IllegalArgumentException(layer + ": " + what + " must have dims " + Arrays.toString(dims)
                    + ", got tensor '" + t.name() + "' " + Arrays.toString(t.dims()));
        }
        if (!t.desc().isPlain() || t.desc().dataType() != DataType.F32) {
            throw new IllegalArgumentException(layer + ": " + what + " must be plain f32, got tensor '" + t.name()
                    + "' " + t.desc().shapeString());
        }
    }

    /**
     * The forward primitive for one source layout. {@link PropKind#TRAINING}: normalises with the batch
     * statistics and writes them to {@code mean}/{@code variance} (and a workspace with fused ReLU, which the
     * backward needs). {@link PropKind#INFERENCE}: reads the running statistics from {@code mean}/{@code variance}
     * (oneDNN's {@code use_global_stats}).
     */
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

        /**
         * Creates the primitive for sources laid out as {@code src} (a concrete layout: plain, channels-last
         * or the blocked layout the previous layer produced); dst takes the same layout.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, Params params, PropKind mode) {
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": batch normalization needs a concrete source layout, not 'any'");
            }
            params.validate(name);
            Geometry g = Geometry.of(name, src.dims(), mode);
            return make(scope, name, src, g, params, mode);
        }

        /** Creates the primitive for plain ({@code nchw}-like) f32 sources; everything is checked before any native call. */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params, PropKind mode) {
            params.validate(name);
            Geometry g = Geometry.of(name, srcDims, mode);
            try (Scope tmp = Scope.open(name + ".desc")) {
                return make(scope, name, MemoryDesc.plain(tmp, srcDims), g, params, mode);
            }
        }

        private static Forward make(Scope scope, String name, MemoryDesc src, Geometry g, Params params, PropKind mode) {
            Dnnl.init();
            boolean inference = mode == PropKind.INFERENCE;
            int flags = flags(params, inference);
            float eps = (float) params.epsilon();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Engine e = Engine.cpu();
                int prop = mode.value();
                Primitive p = Primitive.create(scope, name + " (batch normalization forward " + mode.name().toLowerCase(Locale.ROOT) + ")",
                        out -> dnnl_h.dnnl_batch_normalization_forward_primitive_desc_create(out, e.handle(), prop,
                                src.handle(), src.handle(), eps, flags, attr.handle()));
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

        /** Layout of the mean and variance (plain f32 {@code [C]}). */
        public MemoryDesc statsDesc() {
            return argDesc(Arg.MEAN);
        }

        /** The workspace the backward needs (training with fused ReLU), or null. */
        public MemoryDesc workspaceDesc() {
            return primitive.argDesc(Arg.WORKSPACE);
        }

        /**
         * Binds tensors once for repeated {@link #execute}. {@code scale}/{@code shift} (gamma/beta,
         * {@code [C]}) must be null without affine; {@code mean}/{@code variance} ({@code [C]}) are outputs in
         * training and the running statistics (inputs) in inference; {@code workspace} is required exactly
         * when {@link #workspaceDesc()} is not null. {@code dst} may be {@code src} (in place).
         */
        public ExecArgs bind(Scope scope, Tensor src, Tensor scale, Tensor shift, Tensor mean, Tensor variance,
                Tensor dst, Tensor workspace) {
            long[] c = geometry.channelDims();
            String stat = mode == PropKind.TRAINING ? "batch " : "running ";
            checkAffine(name, params.affine(), scale, shift, c);
            requireVector(name, stat + "mean", mean, c);
            requireVector(name, stat + "variance", variance, c);
            checkWorkspace(name, workspaceDesc() != null, workspace);
            return primitive.args().add(Arg.SRC, src).addIfPresent(Arg.SCALE, scale).addIfPresent(Arg.SHIFT, shift)
                    .add(Arg.MEAN, mean).add(Arg.VARIANCE, variance).add(Arg.DST, dst)
                    .addIfPresent(Arg.WORKSPACE, workspace).build(scope);
        }

        /**
         * After a training {@link #execute}: waits for {@code stream}, then folds the batch statistics bound in
         * {@code trainingArgs} into the running estimates with this layer's momentum (see
         * {@link BatchNorm#updateRunningStats}). Allocates nothing.
         */
        public void updateRunningStats(Stream stream, ExecArgs trainingArgs, Tensor runningMean, Tensor runningVariance) {
            if (mode != PropKind.TRAINING) {
                throw new IllegalStateException(name + ": running statistics are updated by a training-mode forward; this one is "
                        + mode.name().toLowerCase(Locale.ROOT));
            }
            Tensor mean = trainingArgs.tensor(Arg.MEAN);
            Tensor var = trainingArgs.tensor(Arg.VARIANCE);
            if (mean == null || var == null || trainingArgs.tensor(Arg.SRC) == null) {
                throw new IllegalArgumentException(name + ": " + trainingArgs.describe() + " are not the arguments of a batch norm forward");
            }
            stream.await();
            BatchNorm.updateRunningStats(name, params.momentum(), geometry.valuesPerChannel(), mean, var, runningMean,
                    runningVariance);
        }

        @Override
        public String describe() {
            return "BatchNorm.Forward " + name + " " + Arrays.toString(geometry.src()) + " "
                    + mode.name().toLowerCase(Locale.ROOT) + (params.toString().isEmpty() ? "" : " (" + params + ")");
        }
    }

    /**
     * The backward primitive of a training-mode forward: {@code diff_src}, and with affine {@code diff_scale}
     * ({@code dgamma = sum dy * xhat}) and {@code diff_shift} ({@code dbeta = sum dy}), where {@code dy} is
     * masked by the fused ReLU (read from the forward's workspace) when there is one. The batch statistics
     * depend on {@code x}, so {@code dx = gamma/sqrt(var + eps) * (dy - dbeta/M - xhat * dgamma/M)}.
     * Diff tensors take the forward's source layout.
     */
    public static final class Backward extends PrimitiveOp {
        private final Forward forward;

        private Backward(Scope scope, String name, Forward forward, Primitive primitive) {
            this.forward = forward;
            super(scope, name, primitive);
        }

        public static Backward create(Scope scope, String name, Forward forward) {
            if (forward.mode() != PropKind.TRAINING) {
                throw new IllegalArgumentException(name + ": the backward pass needs a training-mode forward (batch statistics), got "
                        + forward.mode().name().toLowerCase(Locale.ROOT));
            }
            Params params = forward.params();
            int flags = flags(params, false);
            float eps = (float) params.epsilon();
            // Without gamma/beta there is nothing to differentiate but the data.
            int prop = params.affine() ? dnnl_h.dnnl_backward() : dnnl_h.dnnl_backward_data();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                MemoryDesc src = forward.srcDesc();
                MemorySegment hint = forward.primitive().descHandle();
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (batch normalization backward)",
                        out -> dnnl_h.dnnl_batch_normalization_backward_primitive_desc_create(out, e.handle(), prop,
                                src.handle(), src.handle(), src.handle(), eps, flags, hint, attr.handle()));
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
         * Binds once: the forward's {@code src}, batch {@code mean}/{@code variance}, {@code scale} (gamma) and
         * {@code workspace} (fused ReLU only), the incoming {@code diffDst}, and the outputs {@code diffSrc},
         * {@code diffScale}, {@code diffShift} (the last three gamma-related ones null without affine).
         */
        public ExecArgs bind(Scope scope, Tensor src, Tensor mean, Tensor variance, Tensor scale, Tensor workspace,
                Tensor diffDst, Tensor diffSrc, Tensor diffScale, Tensor diffShift) {
            long[] c = forward.geometry().channelDims();
            Params params = forward.params();
            checkAffineBackward(name, params.affine(), scale, diffScale, diffShift, c);
            requireVector(name, "batch mean", mean, c);
            requireVector(name, "batch variance", variance, c);
            checkWorkspace(name, primitive.argDesc(Arg.WORKSPACE) != null, workspace);
            return primitive.args().add(Arg.SRC, src).add(Arg.MEAN, mean).add(Arg.VARIANCE, variance)
                    .addIfPresent(Arg.SCALE, scale).addIfPresent(Arg.WORKSPACE, workspace).add(Arg.DIFF_DST, diffDst)
                    .add(Arg.DIFF_SRC, diffSrc).addIfPresent(Arg.DIFF_SCALE, diffScale)
                    .addIfPresent(Arg.DIFF_SHIFT, diffShift).build(scope);
        }

        @Override
        public String describe() {
            return "BatchNorm.Backward " + name;
        }
    }

    /** gamma/beta (or their gradients): both present with dims {@code [C]} with affine, both null without. */
    static void checkAffine(String layer, boolean affine, Tensor scale, Tensor shift, long[] c) {
        if (affine) {
            requireVector(layer, "scale (gamma)", scale, c);
            requireVector(layer, "shift (beta)", shift, c);
        } else if (scale != null || shift != null) {
            throw new IllegalArgumentException(layer + ": this layer has no scale/shift (affine = false): pass null for gamma and beta");
        }
    }

    /** gamma, dgamma and dbeta: all present with dims {@code [C]} with affine, all null without. */
    static void checkAffineBackward(String layer, boolean affine, Tensor scale, Tensor diffScale, Tensor diffShift, long[] c) {
        if (affine) {
            requireVector(layer, "scale (gamma)", scale, c);
            requireVector(layer, "diff scale (dgamma)", diffScale, c);
            requireVector(layer, "diff shift (dbeta)", diffShift, c);
        } else if (scale != null || diffScale != null || diffShift != null) {
            throw new IllegalArgumentException(layer + ": this layer has no scale/shift (affine = false): pass null for gamma, dgamma and dbeta");
        }
    }

    /** A per-channel vector must have dims {@code [C]}; checked before binding so the message says which one. */
    static void requireVector(String layer, String what, Tensor t, long[] dims) {
        if (t == null) {
            throw new IllegalArgumentException(layer + ": no tensor given for " + what);
        }
        if (!Arrays.equals(t.dims(), dims)) {
            throw new IllegalArgumentException(layer + ": " + what + " must have dims " + Arrays.toString(dims)
                    + " (one value per channel C), got tensor '" + t.name() + "' " + Arrays.toString(t.dims()));
        }
    }

    static void checkWorkspace(String layer, boolean needed, Tensor workspace) {
        if (needed && workspace == null) {
            throw new IllegalArgumentException(layer + ": the fused ReLU needs a workspace tensor (workspaceDesc())");
        }
        if (!needed && workspace != null) {
            throw new IllegalArgumentException(layer + ": this primitive takes no workspace");
        }
    }
}
