package dev.stride.linear;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Dnnl;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PostOps;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Shapes;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Inner product (fully connected layer): every sample's input, flattened, times a weight matrix, plus a bias.
 *
 * <p>{@code dst[n, oc] = bias[oc] + sum_{c, [d,] [h,] w} src[n, c, [d,] [h,] w] * weights[oc, c, [d,] [h,] w]},
 * i.e. {@code dst = flatten(src) * flatten(weights)^T + bias} with PyTorch's {@code nn.Linear} weight matrix
 * {@code OC x (C*[D*][H*]W)}.
 *
 * <p><b>Shape</b>: src {@code N x C} (2D), {@code N x C x W}, {@code N x C x H x W} or {@code N x C x D x H x W};
 * weights {@code OC x} the source's trailing dims (oneDNN keeps them unflattened so that it may pick a
 * blocked layout matching the source's; in the plain layout they are exactly PyTorch's {@code OC x C*H*W}
 * matrix); bias {@code OC}; dst {@code N x OC}. {@code C*[D*][H*]W} weights per output, {@code OC} biases.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class InnerProduct {
    private InnerProduct() {}

    /** Every shape of one inner product, computed and validated in Java before any native call. */
    public record Geometry(long[] src, long[] weights, long[] bias, long[] dst) {

        /**
         * Validates an inner product with {@code outFeatures} outputs over inputs of {@code srcDims}
         * ({@code N, C, [[D,] H,] W}).
         */
        public static Geometry of(String layer, long[] srcDims, long outFeatures, boolean bias) {
            Shapes.requireRank(layer, srcDims, 2, 3, 4, 5);
            for (long d : srcDims) {
                if (d <= 0) {
                    throw new IllegalArgumentException(layer + ": input dims " + Arrays.toString(srcDims) + " must be positive");
                }
            }
            if (outFeatures < 1) {
                throw new IllegalArgumentException(layer + ": output features OC must be >= 1, got " + outFeatures);
            }
            if (outFeatures > MemoryDesc.MAX_DIM) {
                throw new IllegalArgumentException(layer + ": output features OC = " + outFeatures
                        + " is over oneDNN's limit of " + MemoryDesc.MAX_DIM + " (MemoryDesc.MAX_DIM)");
            }
            Shapes.requireDims(layer, "src", srcDims);
            long[] w = srcDims.clone();
            w[0] = outFeatures;
            String[] wNames = Shapes.activationDimNames(w.length);
            wNames[0] = "OC";
            String causes = "the output features OC = " + outFeatures + " and src dims " + Arrays.toString(srcDims);
            Shapes.requireDims(layer, "weights", w, wNames, causes);
            Shapes.requireDims(layer, "dst", new long[] {srcDims[0], outFeatures}, new String[] {"N", "OC"}, causes);
            return new Geometry(srcDims.clone(), w, bias ? new long[] {outFeatures} : null,
                    new long[] {srcDims[0], outFeatures});
        }

        /** {@code C*[D*][H*]W}: the length of one flattened sample, the number of weights per output. */
        public long inFeatures() {
            long f = 1;
            for (int i = 1; i < src.length; i++) {
                f *= src[i];
            }
            return f;
        }

        public long outFeatures() {
            return dst[1];
        }

        /** The weights as PyTorch's {@code nn.Linear} holds them: {@code OC x C*[D*][H*]W}. */
        public long[] flatWeights() {
            return new long[] {outFeatures(), inFeatures()};
        }

        /** Learnable parameters: {@code OC * C*H*W + OC} (bias included when present). */
        public long parameterCount() {
            return outFeatures() * inFeatures() + (bias == null ? 0 : outFeatures());
        }

        /** Multiply-adds times two, the usual FLOP count of the forward pass. */
        public long forwardFlops() {
            return 2 * src[0] * inFeatures() * outFeatures();
        }
    }

    /**
     * The forward primitive for one input shape, with the layouts oneDNN chose ({@code format_tag_any}).
     * Execute with tensors in those layouts; {@link #executePlain} reorders plain user tensors for one-off use.
     */
    public static final class Forward extends Op {
        private final Geometry geometry;
        private final PropKind mode;

        private Forward(Scope scope, String name, Geometry geometry, PropKind mode, Primitive primitive) {
            this.geometry = geometry;
            this.mode = mode;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = flatten(src) * weights^T + bias} for inputs of {@code srcDims}; shapes are checked
         * before any native call. Backward passes need {@code mode == TRAINING}.
         */
        public static Forward create(Scope scope, String name, long[] srcDims, long outFeatures, boolean bias, PropKind mode) {
            return create(scope, name, srcDims, outFeatures, bias, mode, null);
        }

        /**
         * As {@link #create(Scope, String, long[], long, boolean, PropKind)}, with {@code postOps} (may be null)
         * fused onto the output: {@code dst = post(flatten(src) * weights^T + bias)}, e.g. FC + ReLU in one pass.
         * A backward pass then starts from the post-op's output: take the activation's derivative from
         * {@code dst} (the {@code *_USE_DST} eltwise algorithms).
         */
        public static Forward create(Scope scope, String name, long[] srcDims, long outFeatures, boolean bias, PropKind mode,
                PostOps postOps) {
            Geometry g = Geometry.of(name, srcDims, outFeatures, bias);
            Dnnl.init();
            try (Scope tmp = Scope.open(name + ".create")) {
                // oneDNN 3.13 gets one case wrong when it picks the layouts: a single output (OC = 1) over an
                // input with spatial dims, in inference, runs brg_matmul with a channels-last source (acb, acdb,
                // ...) but weights whose bytes are the plain order (bca, bcad, ...: with OC = 1 the OC position
                // is free), so it sums src[c, h, w] * weights[h, w, c] and returns wrong numbers without any
                // error. Training mode picks matching layouts. Asking for both plain there leaves oneDNN no
                // mismatch to choose; the cost is at most a reorder of one input into plain order.
                boolean pinPlain = mode == PropKind.INFERENCE && outFeatures == 1 && g.src().length > 2;
                MemoryDesc src = pinPlain ? MemoryDesc.plain(tmp, g.src()) : MemoryDesc.any(tmp, g.src());
                MemoryDesc w = pinPlain ? MemoryDesc.plain(tmp, g.weights()) : MemoryDesc.any(tmp, g.weights());
                MemoryDesc b = g.bias() == null ? null : MemoryDesc.plain(tmp, g.bias());
                MemoryDesc dst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                if (postOps != null) {
                    attr.postOps(postOps);
                }
                int prop = mode.value();
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (inner product forward " + g.src().length + "D)",
                        out -> dnnl_h.dnnl_inner_product_forward_primitive_desc_create(out, e.handle(), prop,
                                src.handle(), w.handle(), b == null ? MemorySegment.NULL : b.handle(), dst.handle(),
                                attr.handle()));
                return new Forward(scope, name, g, mode, p);
            }
        }

        /** A training-mode forward with bias. */
        public static Forward create(Scope scope, String name, long[] srcDims, long outFeatures) {
            return create(scope, name, srcDims, outFeatures, true, PropKind.TRAINING);
        }

        public Geometry geometry() {
            return geometry;
        }

        public PropKind mode() {
            return mode;
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc weightsDesc() {
            return argDesc(Arg.WEIGHTS);
        }

        /** The bias layout, or null without bias. */
        public MemoryDesc biasDesc() {
            return geometry.bias() == null ? null : argDesc(Arg.BIAS);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds tensors in this primitive's layouts once, for repeated {@link #execute}; {@code bias} null without bias. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            requireBias(name, geometry, bias, "bias");
            return primitive.args().add(Arg.SRC, src).add(Arg.WEIGHTS, weights).addIfPresent(Arg.BIAS, bias)
                    .add(Arg.DST, dst).build(scope);
        }

        /**
         * One-off convenience: takes tensors in any layout with the right dims, reorders where needed, runs, and
         * writes {@code dst} in its own layout. {@code weights} may also be PyTorch's flat plain matrix
         * {@code OC x C*H*W}. Allocates temporaries: for repeated runs use {@link #bind} and {@link #execute}.
         */
        public void executePlain(Stream stream, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            requireBias(name, geometry, bias, "bias");
            try (Scope tmp = Scope.open(name + ".executePlain")) {
                Tensor s = matching(tmp, src, srcDesc(), stream, "src");
                Tensor w = matching(tmp, weights, weightsDesc(), stream, "weights");
                Tensor b = bias == null ? null : matching(tmp, bias, biasDesc(), stream, "bias");
                Output d = output(tmp, dst, dstDesc(), "dst");
                execute(stream, bind(tmp, s, w, b, d.exec()));
                stream.await();
                d.finish(stream);
            }
        }

        @Override
        public String describe() {
            return "InnerProduct.Forward " + name + " " + Arrays.toString(geometry.src()) + " -> "
                    + Arrays.toString(geometry.dst());
        }
    }

    /** {@code diff_src = diff_dst * weights}, reshaped to the source's dims. */
    public static final class BackwardData extends Op {
        private final Geometry geometry;

        private BackwardData(Scope scope, String name, Geometry geometry, Primitive primitive) {
            this.geometry = geometry;
            super(scope, name, primitive);
        }

        /** Creates the backward-data pass of {@code forward} (which must be a training forward). */
        public static BackwardData create(Scope scope, String name, Forward forward) {
            requireTraining(name, forward);
            Geometry g = forward.geometry();
            try (Scope tmp = Scope.open(name + ".create")) {
                MemoryDesc diffSrc = MemoryDesc.any(tmp, g.src());
                MemoryDesc w = MemoryDesc.any(tmp, g.weights());
                MemoryDesc diffDst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Engine e = Engine.cpu();
                MemorySegment hint = forward.primitive().descHandle();
                Primitive p = Primitive.create(scope, name + " (inner product backward data " + g.src().length + "D)",
                        out -> dnnl_h.dnnl_inner_product_backward_data_primitive_desc_create(out, e.handle(),
                                diffSrc.handle(), w.handle(), diffDst.handle(), hint, attr.handle()));
                return new BackwardData(scope, name, g, p);
            }
        }

        public Geometry geometry() {
            return geometry;
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        public MemoryDesc weightsDesc() {
            return argDesc(Arg.WEIGHTS);
        }

        public MemoryDesc diffSrcDesc() {
            return argDesc(Arg.DIFF_SRC);
        }

        public ExecArgs bind(Scope scope, Tensor diffDst, Tensor weights, Tensor diffSrc) {
            return primitive.args().add(Arg.DIFF_DST, diffDst).add(Arg.WEIGHTS, weights).add(Arg.DIFF_SRC, diffSrc)
                    .build(scope);
        }

        /** One-off convenience over tensors in any layout (weights also as the flat {@code OC x C*H*W} matrix). */
        public void executePlain(Stream stream, Tensor diffDst, Tensor weights, Tensor diffSrc) {
            try (Scope tmp = Scope.open(name + ".executePlain")) {
                Tensor dd = matching(tmp, diffDst, diffDstDesc(), stream, "diff_dst");
                Tensor w = matching(tmp, weights, weightsDesc(), stream, "weights");
                Output ds = output(tmp, diffSrc, diffSrcDesc(), "diff_src");
                execute(stream, bind(tmp, dd, w, ds.exec()));
                stream.await();
                ds.finish(stream);
            }
        }

        @Override
        public String describe() {
            return "InnerProduct.BackwardData " + name + " " + Arrays.toString(geometry.dst()) + " -> "
                    + Arrays.toString(geometry.src());
        }
    }

    /**
     * {@code diff_weights = diff_dst^T * flatten(src)} and {@code diff_bias = sum_n diff_dst[n, :]}.
     */
    public static final class BackwardWeights extends Op {
        private final Geometry geometry;

        private BackwardWeights(Scope scope, String name, Geometry geometry, Primitive primitive) {
            this.geometry = geometry;
            super(scope, name, primitive);
        }

        /** Creates the backward-weights pass of {@code forward} (a training forward); with bias iff it has one. */
        public static BackwardWeights create(Scope scope, String name, Forward forward) {
            requireTraining(name, forward);
            Geometry g = forward.geometry();
            try (Scope tmp = Scope.open(name + ".create")) {
                MemoryDesc src = MemoryDesc.any(tmp, g.src());
                MemoryDesc diffW = MemoryDesc.any(tmp, g.weights());
                MemoryDesc diffB = g.bias() == null ? null : MemoryDesc.plain(tmp, g.bias());
                MemoryDesc diffDst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Engine e = Engine.cpu();
                MemorySegment hint = forward.primitive().descHandle();
                Primitive p = Primitive.create(scope, name + " (inner product backward weights " + g.src().length + "D)",
                        out -> dnnl_h.dnnl_inner_product_backward_weights_primitive_desc_create(out, e.handle(),
                                src.handle(), diffW.handle(), diffB == null ? MemorySegment.NULL : diffB.handle(),
                                diffDst.handle(), hint, attr.handle()));
                return new BackwardWeights(scope, name, g, p);
            }
        }

        public Geometry geometry() {
            return geometry;
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        public MemoryDesc diffWeightsDesc() {
            return argDesc(Arg.DIFF_WEIGHTS);
        }

        /** The bias gradient's layout, or null without bias. */
        public MemoryDesc diffBiasDesc() {
            return geometry.bias() == null ? null : argDesc(Arg.DIFF_BIAS);
        }

        /** Binds tensors once; {@code diffBias} is null exactly when the forward has no bias. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
            requireBias(name, geometry, diffBias, "diff_bias");
            return primitive.args().add(Arg.SRC, src).add(Arg.DIFF_DST, diffDst).add(Arg.DIFF_WEIGHTS, diffWeights)
                    .addIfPresent(Arg.DIFF_BIAS, diffBias).build(scope);
        }

        /**
         * One-off convenience over tensors in any layout; {@code diffWeights} may be the flat plain
         * {@code OC x C*H*W} matrix.
         */
        public void executePlain(Stream stream, Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
            requireBias(name, geometry, diffBias, "diff_bias");
            try (Scope tmp = Scope.open(name + ".executePlain")) {
                Tensor s = matching(tmp, src, srcDesc(), stream, "src");
                Tensor dd = matching(tmp, diffDst, diffDstDesc(), stream, "diff_dst");
                Output dw = output(tmp, diffWeights, diffWeightsDesc(), "diff_weights");
                Output db = diffBias == null ? null : output(tmp, diffBias, diffBiasDesc(), "diff_bias");
                execute(stream, bind(tmp, s, dd, dw.exec(), db == null ? null : db.exec()));
                stream.await();
                dw.finish(stream);
                if (db != null) {
                    db.finish(stream);
                }
            }
        }

        @Override
        public String describe() {
            return "InnerProduct.BackwardWeights " + name + " " + Arrays.toString(geometry.weights());
        }
    }

    private static void requireTraining(String name, Forward forward) {
        if (forward.mode() != PropKind.TRAINING) {
            throw new IllegalArgumentException(name + ": a backward pass needs a forward created for TRAINING, '"
                    + forward.name() + "' was created for " + forward.mode());
        }
    }

    private static void requireBias(String name, Geometry g, Tensor t, String what) {
        if ((t == null) != (g.bias() == null)) {
            throw new IllegalArgumentException(name + ": " + (t == null ? what + " tensor missing" : "this inner product has no bias"));
        }
    }

    /**
     * What the three directions share: the one-off conveniences also take PyTorch's flat plain
     * {@code OC x C*H*W} matrix where the primitive wants {@code OC x C x H x W} (the plain {@code oihw} bytes are
     * the same), as a zero-copy view.
     */
    abstract static sealed class Op extends PrimitiveOp permits Forward, BackwardData, BackwardWeights {
        Op(Scope scope, String name, Primitive primitive) {
            super(scope, name, primitive);
        }

        @Override
        protected Tensor withDims(Scope tmp, Tensor t, MemoryDesc want, String what) {
            if (t == null || want == null) {
                return super.withDims(tmp, t, want, what); // throws naming the argument
            }
            long[] dims = want.dims();
            if (Arrays.equals(t.dims(), dims)) {
                return t;
            }
            long[] flat = flatDims(dims);
            if (dims.length > 2 && Arrays.equals(t.dims(), flat) && t.desc().isPlain()) {
                return Tensor.wrap(tmp, t.name() + ".view", MemoryDesc.plain(tmp, dims), t.segment());
            }
            throw new IllegalArgumentException(name + ": " + what + " must have dims " + Arrays.toString(dims)
                    + (dims.length > 2 ? " (or plain " + Arrays.toString(flat) + ")" : "") + ", got tensor '"
                    + t.name() + "' " + t.desc().shapeString());
        }
    }

    private static long[] flatDims(long[] dims) {
        long rest = 1;
        for (int i = 1; i < dims.length; i++) {
            rest *= dims[i];
        }
        return new long[] {dims[0], rest};
    }
}
