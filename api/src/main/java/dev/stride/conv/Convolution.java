package dev.stride.conv;

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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Convolution, 2D and 3D: {@code K} filters of extent {@code F}, stride {@code S}, zero padding {@code P},
 * dilation {@code D}, groups {@code G}.
 *
 * <p>{@code dst[n, k, oh, ow] = bias[k] + sum_{c, kh, kw} src[n, c, oh*S - PL + kh*D, ow*S - PL + kw*D]
 * * weights[k, c, kh, kw]}, summing over the {@code C/G} input channels of the filter's group.
 *
 * <p><b>Shape</b>: src {@code N x C x [D1 x] H1 x W1}; weights {@code K x C/G x F x F} ({@code G x K/G x C/G x
 * F x F} when grouped); bias {@code K}; dst {@code N x K x [D2 x] H2 x W2} with
 * {@code W2 = (W1 - D*(F-1) - 1 + PL + PR)/S + 1}, which must be an integer.
 *
 * <p>Directions, mirroring oneDNN: {@link Forward} (training or inference, with eltwise and sum post-ops),
 * {@link BackwardData} ({@code diff_dst -> diff_src}) and {@link BackwardWeights}
 * ({@code src, diff_dst -> diff_weights, diff_bias}); the backward ones are created from the forward.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Convolution {
    private Convolution() {}

    /** Settings in the seed's words; immutable, each setter returns a copy. */
    public record Params(int filters, int[] extent, int[] stride, int[] padLeft, int[] padRight, boolean same,
            int[] dilation, int groups, boolean bias) {

        /** {@code K} filters of extent {@code F} (one value for every spatial dim, or one per dim). */
        public static Params of(int filters, int... extent) {
            return new Params(filters, extent, new int[] {1}, new int[] {0}, new int[] {0}, false, new int[] {1}, 1, true);
        }

        public Params stride(int... s) {
            return new Params(filters, extent, s, padLeft, padRight, same, dilation, groups, bias);
        }

        /** Symmetric zero padding {@code P}. */
        public Params padding(int... p) {
            return new Params(filters, extent, stride, p, p, false, dilation, groups, bias);
        }

        /** Explicit left/top/front and right/bottom/back padding. */
        public Params padding(int[] left, int[] right) {
            return new Params(filters, extent, stride, left, right, false, dilation, groups, bias);
        }

        /** Padding that keeps {@code W2 = ceil(W1/S)} (TensorFlow's "same"; odd totals pad right/bottom). */
        public Params samePadding() {
            return new Params(filters, extent, stride, new int[] {0}, new int[] {0}, true, dilation, groups, bias);
        }

        /** Dilation, public convention: 1 = none. */
        public Params dilation(int... d) {
            return new Params(filters, extent, stride, padLeft, padRight, same, d, groups, bias);
        }

        public Params groups(int g) {
            return new Params(filters, extent, stride, padLeft, padRight, same, dilation, g, bias);
        }

        public Params bias(boolean b) {
            return new Params(filters, extent, stride, padLeft, padRight, same, dilation, groups, b);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("K=" + filters + ", F=" + str(extent));
            if (!allOnes(stride)) sb.append(", S=").append(str(stride));
            if (same) sb.append(", padding=same");
            else if (!Arrays.equals(padLeft, padRight)) sb.append(", P=").append(str(padLeft)).append('/').append(str(padRight));
            else if (!allZero(padLeft)) sb.append(", P=").append(str(padLeft));
            if (!allOnes(dilation)) sb.append(", dilation=").append(str(dilation));
            if (groups != 1) sb.append(", groups=").append(groups);
            if (!bias) sb.append(", bias=false");
            return sb.toString();
        }

        private static String str(int[] a) {
            return a.length == 1 ? String.valueOf(a[0]) : Arrays.toString(a);
        }

        private static boolean allOnes(int[] a) {
            return Arrays.stream(a).allMatch(v -> v == 1);
        }

        private static boolean allZero(int[] a) {
            return Arrays.stream(a).allMatch(v -> v == 0);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Params p && filters == p.filters && groups == p.groups && bias == p.bias
                    && same == p.same && Arrays.equals(extent, p.extent) && Arrays.equals(stride, p.stride)
                    && Arrays.equals(padLeft, p.padLeft) && Arrays.equals(padRight, p.padRight)
                    && Arrays.equals(dilation, p.dilation);
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(new Object[] {filters, extent, stride, padLeft, padRight, same, dilation, groups, bias});
        }
    }

    /**
     * Every shape of one convolution, computed and validated in Java before any native call. Spatial arrays
     * hold one entry per spatial dim ({@code H, W} or {@code D, H, W}); {@link #dnnlDilates()} is oneDNN's
     * convention (0 = none).
     */
    public record Geometry(long[] src, long[] weights, long[] bias, long[] dst, long[] strides, long[] dilation,
            long[] padLeft, long[] padRight, int groups) {

        /** Validates {@code p} against an input of {@code srcDims} ({@code N, C, [D,] H, W}). */
        public static Geometry of(String layer, long[] srcDims, Params p) {
            Shapes.requireRank(layer, srcDims, 4, 5);
            Shapes.requireDims(layer, "src", srcDims);
            int sp = srcDims.length - 2;
            long n = srcDims[0];
            long c = srcDims[1];
            if (p.filters() < 1) {
                throw new IllegalArgumentException(layer + ": filters K must be >= 1, got " + p.filters());
            }
            if (p.groups() < 1) {
                throw new IllegalArgumentException(layer + ": groups must be >= 1, got " + p.groups());
            }
            if (c % p.groups() != 0) {
                throw new IllegalArgumentException(layer + ": input channels " + c + " not divisible by groups " + p.groups());
            }
            if (p.filters() % p.groups() != 0) {
                throw new IllegalArgumentException(layer + ": filters K=" + p.filters() + " not divisible by groups " + p.groups());
            }
            long[] f = expand(layer, "extent F", p.extent(), sp);
            long[] s = expand(layer, "stride S", p.stride(), sp);
            long[] d = expand(layer, "dilation", p.dilation(), sp);
            long[] pl = new long[sp];
            long[] pr = new long[sp];
            long[] out = new long[sp];
            long[] pL = p.same() ? null : expand(layer, "padding", p.padLeft(), sp);
            long[] pR = p.same() ? null : expand(layer, "padding", p.padRight(), sp);
            for (int i = 0; i < sp; i++) {
                Shapes.requireWindow(layer, Shapes.spatialName(sp, i), f[i], s[i], p.same() ? 0 : pL[i],
                        p.same() ? 0 : pR[i], d[i]);
            }
            for (int i = 0; i < sp; i++) {
                long in = srcDims[2 + i];
                String dim = Shapes.spatialName(sp, i);
                if (f[i] == 1 && d[i] > 1) {
                    // Dilation spreads a filter's taps apart; one tap has nothing to spread, so this is the
                    // undilated convolution. Said so to oneDNN too: its brgemm kernels crash (SIGSEGV in
                    // perform_outwork) on a dilation along a dimension of extent 1 with stride and padding.
                    d[i] = 1;
                }
                if (p.same()) {
                    long[] same = Shapes.samePadding(layer, dim, in, f[i], s[i], d[i]);
                    pl[i] = same[0];
                    pr[i] = same[1];
                    out[i] = Shapes.sameOutput(in, s[i]);
                } else {
                    pl[i] = pL[i];
                    pr[i] = pR[i];
                    out[i] = Shapes.windowOutput(layer, dim, in, f[i], s[i], pl[i], pr[i], d[i]);
                }
            }
            long k = p.filters();
            int g = p.groups();
            long[] w;
            if (g == 1) {
                w = new long[2 + sp];
                w[0] = k;
                w[1] = c;
                System.arraycopy(f, 0, w, 2, sp);
            } else {
                w = new long[3 + sp];
                w[0] = g;
                w[1] = k / g;
                w[2] = c / g;
                System.arraycopy(f, 0, w, 3, sp);
            }
            long[] dst = new long[2 + sp];
            dst[0] = n;
            dst[1] = k;
            System.arraycopy(out, 0, dst, 2, sp);
            // Derived shapes are checked here, by name, rather than as anonymous dims by MemoryDesc later.
            String[] fNames = new String[sp];
            String[] dstNames = new String[2 + sp];
            dstNames[0] = "N";
            dstNames[1] = "K";
            for (int i = 0; i < sp; i++) {
                fNames[i] = "F" + Shapes.spatialName(sp, i);
                dstNames[2 + i] = Shapes.spatialName(sp, i) + "2";
            }
            String[] wNames = g == 1 ? concat(new String[] {"K", "C"}, fNames) : concat(new String[] {"G", "K/G", "C/G"}, fNames);
            Shapes.requireDims(layer, "weights", w, wNames, "filters K, input channels C, groups and extent F");
            Shapes.requireDims(layer, "dst", dst, dstNames,
                    "batch N, filters K and the input's spatial dims with padding P, extent F, stride S and dilation");
            return new Geometry(srcDims.clone(), w, p.bias() ? new long[] {k} : null, dst, s, d, pl, pr, g);
        }

        private static String[] concat(String[] a, String[] b) {
            String[] r = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, r, a.length, b.length);
            return r;
        }

        private static long[] expand(String layer, String what, int[] v, int sp) {
            if (v == null || (v.length != 1 && v.length != sp)) {
                throw new IllegalArgumentException(layer + ": " + what + " needs 1 or " + sp + " values, got "
                        + (v == null ? "null" : Arrays.toString(v)));
            }
            long[] out = new long[sp];
            for (int i = 0; i < sp; i++) {
                out[i] = v.length == 1 ? v[0] : v[i];
            }
            return out;
        }

        public int spatialDims() {
            return src.length - 2;
        }

        /** oneDNN's dilation: the public value minus one (public 1 = none, oneDNN 0 = none). */
        public long[] dnnlDilates() {
            long[] r = new long[dilation.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = dilation[i] - 1;
            }
            return r;
        }

        /**
         * The strides passed to oneDNN: 1 along a dimension with a single output, where the stride moves the
         * window nowhere (the right padding then shrinks to what the one window needs, see
         * {@link #dnnlPadRight()}). oneDNN 3.13's brgemm inference kernel returns wrong numbers for some such
         * shapes (one input channel, one output column, stride 2 or 3 along it); this is the same convolution.
         */
        public long[] dnnlStrides() {
            long[] r = strides.clone();
            for (int i = 0; i < r.length; i++) {
                if (oneWindowPadRight(i) >= 0) {
                    r[i] = 1;
                }
            }
            return r;
        }

        /** The right padding passed to oneDNN, to go with {@link #dnnlStrides()}. */
        public long[] dnnlPadRight() {
            long[] r = padRight.clone();
            for (int i = 0; i < r.length; i++) {
                long exact = oneWindowPadRight(i);
                if (exact >= 0) {
                    r[i] = exact;
                }
            }
            return r;
        }

        /**
         * Along a dimension with a single output: the right padding that makes the window end exactly at the
         * padded input's end, {@code D*(F-1) + 1 - W1 - PL} (at most {@code PR}); -1 for other dimensions and
         * where that would be negative (a "same" window that leaves input pixels unread: oneDNN refuses negative
         * padding, and rounds the output size down with the stride as it is).
         */
        private long oneWindowPadRight(int i) {
            int sp = spatialDims();
            if (dst[2 + i] != 1) {
                return -1;
            }
            long f = weights[weights.length - sp + i];
            return Math.max(dilation[i] * (f - 1) + 1 - src[2 + i] - padLeft[i], -1);
        }

        /** Weights per filter, {@code F*F*C/G} (the seed's {@code F·F·D1/G}). */
        public long weightsPerFilter() {
            long per = src[1] / groups;
            for (int i = weights.length - spatialDims(); i < weights.length; i++) {
                per *= weights[i];
            }
            return per;
        }

        /** Learnable parameters: {@code K * F*F*C/G + K} (bias included when present). */
        public long parameterCount() {
            return dst[1] * weightsPerFilter() + (bias == null ? 0 : dst[1]);
        }

        /** Multiply-adds times two, the usual FLOP count of the forward pass. */
        public long forwardFlops() {
            long outPixels = 1;
            for (long v : dst) {
                outPixels *= v;
            }
            return 2 * outPixels * weightsPerFilter();
        }
    }

    /**
     * The forward primitive, created once for one input shape, with the layouts oneDNN chose
     * ({@code format_tag_any}). Execute with tensors in those layouts; {@link #executePlain} reorders plain
     * user tensors for one-off use.
     */
    public static final class Forward extends PrimitiveOp {

        private final Geometry geometry;
        private final boolean readsDst;

        private Forward(Scope scope, String name, Geometry geometry, Primitive primitive, boolean readsDst) {
            this.geometry = geometry;
            this.readsDst = readsDst;
            super(scope, name, primitive);
        }

        /**
         * Creates the primitive; {@code postOps} may be null. Shapes are checked before any native call.
         *
         * <p>Post-ops run on the result in order: an eltwise applies {@code dst = alg(dst)}, a sum
         * {@code dst = scale * dst_before + dst} accumulates onto what {@code dst} held before the call (the
         * residual add of a ResNet block: bind the shortcut's tensor as {@code dst}). Backward primitives
         * differentiate the convolution alone: the chain rule through post-ops is the caller's.
         */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params, PropKind mode, PostOps postOps) {
            Geometry g = Geometry.of(name, srcDims, params);
            Dnnl.init();
            int sp = g.spatialDims();
            try (Scope tmp = Scope.open(name + ".create"); Arena a = Arena.ofConfined()) {
                MemoryDesc src = MemoryDesc.any(tmp, g.src());
                MemoryDesc w = MemoryDesc.any(tmp, g.weights());
                MemoryDesc b = g.bias() == null ? null : MemoryDesc.plain(tmp, g.bias());
                MemoryDesc dst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                if (postOps != null) {
                    attr.postOps(postOps);
                }
                Window win = Window.of(a, g);
                int prop = mode.value();
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (convolution forward " + sp + "D)",
                        out -> dnnl_h.dnnl_convolution_forward_primitive_desc_create(out, e.handle(), prop,
                                dnnl_h.dnnl_convolution_direct(), src.handle(), w.handle(),
                                b == null ? MemorySegment.NULL : b.handle(), dst.handle(), win.strides(),
                                win.dilates(), win.padLeft(), win.padRight(), attr.handle()));
                try {
                    return new Forward(scope, name, g, p, hasSumPostOp(p));
                } catch (RuntimeException ex) {
                    p.close();
                    throw ex;
                }
            }
        }

        /** Whether the created primitive's post-ops include a sum, i.e. it reads {@code dst} before writing it. */
        private static boolean hasSumPostOp(Primitive p) {
            try (Arena a = Arena.ofConfined()) {
                // Both handles are borrowed from the primitive descriptor: nothing to destroy.
                MemorySegment attr = a.allocate(ValueLayout.ADDRESS);
                Dnnl.check(dnnl_h.dnnl_primitive_desc_get_attr(p.descHandle(), attr), "query convolution attributes");
                MemorySegment ops = a.allocate(ValueLayout.ADDRESS);
                Dnnl.check(dnnl_h.dnnl_primitive_attr_get_post_ops(attr.get(ValueLayout.ADDRESS, 0), ops),
                        "query convolution post-ops");
                MemorySegment po = ops.get(ValueLayout.ADDRESS, 0);
                int n = dnnl_h.dnnl_post_ops_len(po);
                for (int i = 0; i < n; i++) {
                    if (dnnl_h.dnnl_post_ops_get_kind(po, i) == dnnl_h.dnnl_sum()) {
                        return true;
                    }
                }
                return false;
            }
        }

        /** Creates a training-mode forward without post-ops. */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params) {
            return create(scope, name, srcDims, params, PropKind.TRAINING, null);
        }

        public Geometry geometry() {
            return geometry;
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

        /** True when the post-ops include a sum, so {@code dst} is an input as well as the output. */
        public boolean accumulatesIntoDst() {
            return readsDst;
        }

        /** Binds tensors in this primitive's layouts once, for repeated {@link #execute}. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            requireBias(bias);
            return primitive.args().add(Arg.SRC, src).add(Arg.WEIGHTS, weights).addIfPresent(Arg.BIAS, bias)
                    .add(Arg.DST, dst).build(scope);
        }

        /**
         * One-off convenience: takes tensors in any layout with the right dims (e.g. plain {@code nchw}
         * and {@code oihw}), reorders where needed, runs, and writes {@code dst} in its own layout. Allocates
         * temporaries: for repeated runs use {@link #bind} and {@link #execute}. With a sum post-op the values
         * {@code dst} holds are accumulated onto, whatever its layout.
         */
        public void executePlain(Stream stream, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            requireBias(bias);
            try (Scope tmp = Scope.open(name + ".executePlain")) {
                Tensor s = matching(tmp, src, srcDesc(), stream, "src");
                Tensor w = matching(tmp, weights, weightsDesc(), stream, "weights");
                Tensor b = bias == null ? null : matching(tmp, bias, biasDesc(), stream, "bias");
                Output d = readsDst ? inOut(tmp, dst, dstDesc(), stream, "dst") : output(tmp, dst, dstDesc(), "dst");
                execute(stream, bind(tmp, s, w, b, d.exec()));
                stream.await();
                d.finish(stream);
            }
        }

        private void requireBias(Tensor bias) {
            if ((bias == null) != (geometry.bias() == null)) {
                throw new IllegalArgumentException(name + ": " + (bias == null ? "bias tensor missing" : "this convolution has no bias"));
            }
        }

        @Override
        public String describe() {
            return "Convolution.Forward " + name + " " + Arrays.toString(geometry.src()) + " -> "
                    + Arrays.toString(geometry.dst());
        }
    }

    /** Strides, dilates (oneDNN's 0 = none), and paddings as native arrays for a descriptor call. */
    private record Window(MemorySegment strides, MemorySegment dilates, MemorySegment padLeft, MemorySegment padRight) {
        static Window of(Arena a, Geometry g) {
            return new Window(a.allocateFrom(ValueLayout.JAVA_LONG, g.dnnlStrides()),
                    a.allocateFrom(ValueLayout.JAVA_LONG, g.dnnlDilates()),
                    a.allocateFrom(ValueLayout.JAVA_LONG, g.padLeft()),
                    a.allocateFrom(ValueLayout.JAVA_LONG, g.dnnlPadRight()));
        }
    }

    /**
     * Backward data: the gradient of the loss with respect to the convolution's input.
     *
     * <p>{@code diff_src[n, c, i] = sum diff_dst[n, k, o] * weights[k, c', f]} over the filters {@code k} of
     * the channel's group and every output {@code o} and tap {@code f} with {@code i = o*S - PL + f*D} (a
     * transposed convolution of {@code diff_dst}); taps that fell into the zero padding contribute nothing.
     *
     * <p><b>Shape</b>: diff_dst {@code N x K x [D2 x] H2 x W2} (the forward's dst); weights as in the forward;
     * diff_src {@code N x C x [D1 x] H1 x W1} (the forward's src).
     *
     * <p>Created once from a {@link Forward} (its geometry, and its primitive descriptor as oneDNN's hint), with
     * the layouts oneDNN chose for {@code format_tag_any}; {@link #executePlain} takes any layout for one-off
     * use.
     */
    public static final class BackwardData extends PrimitiveOp {

        private final Geometry geometry;

        private BackwardData(Scope scope, String name, Geometry geometry, Primitive primitive) {
            this.geometry = geometry;
            super(scope, name, primitive);
        }

        /**
         * Creates backward data for {@code forward}'s shapes and settings.
         *
         * @param scope   owner of the primitive
         * @param name    the layer's name, used in errors
         * @param forward the forward this differentiates; only read here, it may be closed afterwards
         */
        public static BackwardData create(Scope scope, String name, Forward forward) {
            Geometry g = forward.geometry();
            MemorySegment hint = forward.primitive().descHandle();
            try (Scope tmp = Scope.open(name + ".create"); Arena a = Arena.ofConfined()) {
                MemoryDesc diffSrc = MemoryDesc.any(tmp, g.src());
                MemoryDesc w = MemoryDesc.any(tmp, g.weights());
                MemoryDesc diffDst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Window win = Window.of(a, g);
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (convolution backward data " + g.spatialDims() + "D)",
                        out -> dnnl_h.dnnl_convolution_backward_data_primitive_desc_create(out, e.handle(),
                                dnnl_h.dnnl_convolution_direct(), diffSrc.handle(), w.handle(), diffDst.handle(),
                                win.strides(), win.dilates(), win.padLeft(), win.padRight(), hint, attr.handle()));
                return new BackwardData(scope, name, g, p);
            }
        }

        public Geometry geometry() {
            return geometry;
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        /** The weights layout this primitive reads; may differ from the forward's (then reorder once per step). */
        public MemoryDesc weightsDesc() {
            return argDesc(Arg.WEIGHTS);
        }

        public MemoryDesc diffSrcDesc() {
            return argDesc(Arg.DIFF_SRC);
        }

        /**
         * Binds tensors in this primitive's layouts once, for repeated {@link #execute}, which overwrites
         * {@code diff_src} (no accumulation) and does not wait.
         */
        public ExecArgs bind(Scope scope, Tensor diffDst, Tensor weights, Tensor diffSrc) {
            return primitive.args().add(Arg.DIFF_DST, diffDst).add(Arg.WEIGHTS, weights).add(Arg.DIFF_SRC, diffSrc)
                    .build(scope);
        }

        /**
         * One-off convenience: takes tensors in any layout with the right dims (e.g. plain {@code nchw} and
         * {@code oihw}), reorders where needed, runs, and writes {@code diffSrc} in its own layout.
         */
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
            return "Convolution.BackwardData " + name + " " + Arrays.toString(geometry.dst()) + " -> "
                    + Arrays.toString(geometry.src());
        }
    }

    /**
     * Backward weights: the gradients of the loss with respect to the filters and, when the forward has one,
     * the bias.
     *
     * <p>{@code diff_weights[k, c, f] = sum_{n, o} diff_dst[n, k, o] * src[n, g*C/G + c, o*S - PL + f*D]}
     * (zero where the tap is in the padding); {@code diff_bias[k] = sum_{n, o} diff_dst[n, k, o]}.
     *
     * <p><b>Shape</b>: src {@code N x C x [D1 x] H1 x W1}; diff_dst {@code N x K x [D2 x] H2 x W2};
     * diff_weights as the forward's weights ({@code K x C/G x F x F}, or {@code G x K/G x C/G x F x F} when
     * grouped); diff_bias {@code K}.
     *
     * <p>Created once from a {@link Forward} (its geometry, and its primitive descriptor as oneDNN's hint),
     * with the layouts oneDNN chose for {@code format_tag_any}, except that a forward reading a plain source
     * keeps that source plain; the bias gradient is plain, like the bias.
     */
    public static final class BackwardWeights extends PrimitiveOp {

        private final Geometry geometry;

        private BackwardWeights(Scope scope, String name, Geometry geometry, Primitive primitive) {
            this.geometry = geometry;
            super(scope, name, primitive);
        }

        /**
         * Creates backward weights (and bias, when {@code forward} has one) for {@code forward}'s shapes and
         * settings.
         *
         * @param scope   owner of the primitive
         * @param name    the layer's name, used in errors
         * @param forward the forward this differentiates; only read here, it may be closed afterwards
         */
        public static BackwardWeights create(Scope scope, String name, Forward forward) {
            // A forward that reads a plain source (a network's first layer, one or three channels) keeps it plain
            // here too: left to 'any', oneDNN pads it to a channel block (1 -> 8 or 16 channels), the input gets
            // reordered into that every step, and the padded kernel runs several times slower. Falls back to
            // 'any' should that choice only find the reference implementation.
            MemoryDesc fwdSrc = forward.srcDesc();
            if (fwdSrc.isPlain()) {
                BackwardWeights plain = create(scope, name, forward, fwdSrc);
                if (!plain.primitive().implementation().startsWith("ref")) {
                    return plain;
                }
                plain.close();
            }
            return create(scope, name, forward, null);
        }

        /** With the source layout {@code srcLayout}, or oneDNN's choice when null. */
        private static BackwardWeights create(Scope scope, String name, Forward forward, MemoryDesc srcLayout) {
            Geometry g = forward.geometry();
            MemorySegment hint = forward.primitive().descHandle();
            try (Scope tmp = Scope.open(name + ".create"); Arena a = Arena.ofConfined()) {
                MemoryDesc src = srcLayout != null ? srcLayout : MemoryDesc.any(tmp, g.src());
                MemoryDesc diffW = MemoryDesc.any(tmp, g.weights());
                MemoryDesc diffB = g.bias() == null ? null : MemoryDesc.plain(tmp, g.bias());
                MemoryDesc diffDst = MemoryDesc.any(tmp, g.dst());
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Window win = Window.of(a, g);
                Engine e = Engine.cpu();
                Primitive p = Primitive.create(scope, name + " (convolution backward weights " + g.spatialDims() + "D)",
                        out -> dnnl_h.dnnl_convolution_backward_weights_primitive_desc_create(out, e.handle(),
                                dnnl_h.dnnl_convolution_direct(), src.handle(), diffW.handle(),
                                diffB == null ? MemorySegment.NULL : diffB.handle(), diffDst.handle(), win.strides(),
                                win.dilates(), win.padLeft(), win.padRight(), hint, attr.handle()));
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

        /** The bias gradient's layout, or null when the forward has no bias. */
        public MemoryDesc diffBiasDesc() {
            return geometry.bias() == null ? null : argDesc(Arg.DIFF_BIAS);
        }

        /**
         * Binds tensors in this primitive's layouts once, for repeated {@link #execute} (which overwrites the
         * gradients, no accumulation across calls, and does not wait); {@code diffBias} is required exactly when
         * the forward has a bias.
         */
        public ExecArgs bind(Scope scope, Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
            requireBias(diffBias);
            return primitive.args().add(Arg.SRC, src).add(Arg.DIFF_DST, diffDst).add(Arg.DIFF_WEIGHTS, diffWeights)
                    .addIfPresent(Arg.DIFF_BIAS, diffBias).build(scope);
        }

        /**
         * One-off convenience: takes tensors in any layout with the right dims, reorders where needed, runs,
         * and writes {@code diffWeights} (and {@code diffBias}) in their own layouts.
         */
        public void executePlain(Stream stream, Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
            requireBias(diffBias);
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

        private void requireBias(Tensor diffBias) {
            if ((diffBias == null) != (geometry.bias() == null)) {
                throw new IllegalArgumentException(name + ": " + (diffBias == null
                        ? "diff_bias tensor missing (the forward has a bias)" : "this convolution has no bias to differentiate"));
            }
        }

        @Override
        public String describe() {
            return "Convolution.BackwardWeights " + name + " " + Arrays.toString(geometry.dst()) + " -> "
                    + Arrays.toString(geometry.weights());
        }
    }
}
