package dev.stride.pool;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Dnnl;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Shapes;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Pooling, 2D and 3D: a window of extent {@code F} slides with stride {@code S} over each channel and
 * reduces what it covers to one value (max, average, or L2 norm); no parameters.
 *
 * <p>With {@code w} the window of output position {@code o} (the inputs {@code o*S - PL + f},
 * {@code 0 <= f < F}, that fall inside the input) and {@code k} its size:
 * <ul>
 *   <li>max: {@code dst[o] = max_{i in w} src[i]} (padding never wins);</li>
 *   <li>average, padding included: {@code dst[o] = sum_{i in w} src[i] / F^d} (padding counts as zeros);</li>
 *   <li>average, padding excluded: {@code dst[o] = sum_{i in w} src[i] / k};</li>
 *   <li>L2: {@code dst[o] = sqrt(sum_{i in w} src[i]^2 / k)}, the root of the average of squares (padding
 *       excluded). oneDNN has no L2 pooling: it is composed of eltwise square, average pooling and eltwise
 *       sqrt, with a backward of our own (see {@link Backward});</li>
 *   <li>global average / global max: the window is the whole spatial extent, {@code dst} is {@code 1x1}.</li>
 * </ul>
 *
 * <p><b>Shape</b>: src {@code N x C x [D1 x] H1 x W1}; dst {@code N x C x [D2 x] H2 x W2} with
 * {@code W2 = (W1 - F + PL + PR)/S + 1}, which must be an integer; each padding must be smaller than the
 * extent (otherwise a window could lie entirely in the padding).
 *
 * <p><b>Parameters</b>: extent {@code F} (one value, or one per spatial dim); stride {@code S} (default
 * {@code F}, as PyTorch's {@code MaxPool2d}); padding {@code P} (default 0; symmetric or left/right).
 *
 * <p>Thread-safe: {@code Forward} and {@code Backward} can run on several threads at once, each with its own
 * {@link Bound} (which owns the L2 path's intermediates) and {@link dev.stride.core.Stream}; one {@code Bound} is
 * confined to one thread at a time (a concurrent caller gets IllegalStateException).
 */
public final class Pooling {
    private Pooling() {}

    /** What a window reduces to. */
    public enum Algorithm {
        MAX("max", dnnl_h::dnnl_pooling_max),
        /** Average over the whole window, padding counted as zeros (PyTorch's {@code count_include_pad=True}). */
        AVG_INCLUDE_PADDING("avg", dnnl_h::dnnl_pooling_avg_include_padding),
        /** Average over the window's elements inside the input ({@code count_include_pad=False}). */
        AVG_EXCLUDE_PADDING("avg(exclude padding)", dnnl_h::dnnl_pooling_avg_exclude_padding),
        /** {@code sqrt} of the average of squares, padding excluded; runs on oneDNN's exclude-padding average. */
        L2("l2", dnnl_h::dnnl_pooling_avg_exclude_padding);

        private final String label;
        private final IntSupplier dnnl;

        Algorithm(String label, IntSupplier dnnl) {
            this.label = label;
            this.dnnl = dnnl;
        }

        public String label() {
            return label;
        }

        /** The oneDNN pooling algorithm that does the window reduction (for L2: the average of the squares). */
        int dnnlPooling() {
            return dnnl.getAsInt();
        }
    }

    /**
     * Settings in the seed's words; immutable, each setter returns a copy. {@code stride == null} means
     * "the extent" (non-overlapping windows); {@code global} means the window is the whole input.
     */
    public record Params(Algorithm algorithm, boolean global, int[] extent, int[] stride, int[] padLeft, int[] padRight) {

        /** A window of extent {@code F} (one value, or one per spatial dim), stride {@code F}, no padding. */
        public static Params of(Algorithm algorithm, int... extent) {
            return new Params(algorithm, false, extent, null, new int[] {0}, new int[] {0});
        }

        public static Params max(int... extent) {
            return of(Algorithm.MAX, extent);
        }

        /** Average pooling counting padding as zeros (PyTorch's default); see {@link #excludePadding()}. */
        public static Params avg(int... extent) {
            return of(Algorithm.AVG_INCLUDE_PADDING, extent);
        }

        public static Params l2(int... extent) {
            return of(Algorithm.L2, extent);
        }

        /** Global average pooling: one value per channel, the mean over the whole spatial extent. */
        public static Params globalAvg() {
            return new Params(Algorithm.AVG_INCLUDE_PADDING, true, null, null, new int[] {0}, new int[] {0});
        }

        /** Global max pooling: one value per channel, the max over the whole spatial extent. */
        public static Params globalMax() {
            return new Params(Algorithm.MAX, true, null, null, new int[] {0}, new int[] {0});
        }

        public Params stride(int... s) {
            return new Params(algorithm, global, extent, s, padLeft, padRight);
        }

        /** Symmetric padding {@code P}. */
        public Params padding(int... p) {
            return new Params(algorithm, global, extent, stride, p, p);
        }

        /** Explicit left/top/front and right/bottom/back padding. */
        public Params padding(int[] left, int[] right) {
            return new Params(algorithm, global, extent, stride, left, right);
        }

        /** For average pooling: divide by the number of window elements inside the input, not by {@code F^d}. */
        public Params excludePadding() {
            if (algorithm != Algorithm.AVG_INCLUDE_PADDING && algorithm != Algorithm.AVG_EXCLUDE_PADDING) {
                throw new IllegalArgumentException("excludePadding() applies to average pooling, not " + algorithm.label());
            }
            return new Params(Algorithm.AVG_EXCLUDE_PADDING, global, extent, stride, padLeft, padRight);
        }

        @Override
        public String toString() {
            if (global) {
                return "global " + algorithm.label();
            }
            StringBuilder sb = new StringBuilder(algorithm.label() + ", F=" + str(extent));
            if (stride != null && !Arrays.equals(stride, extent)) sb.append(", S=").append(str(stride));
            if (!Arrays.equals(padLeft, padRight)) sb.append(", P=").append(str(padLeft)).append('/').append(str(padRight));
            else if (padLeft != null && Arrays.stream(padLeft).anyMatch(v -> v != 0)) sb.append(", P=").append(str(padLeft));
            return sb.toString();
        }

        private static String str(int[] a) {
            return a == null ? "null" : a.length == 1 ? String.valueOf(a[0]) : Arrays.toString(a);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Params p && algorithm == p.algorithm && global == p.global
                    && Arrays.equals(extent, p.extent) && Arrays.equals(stride, p.stride)
                    && Arrays.equals(padLeft, p.padLeft) && Arrays.equals(padRight, p.padRight);
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(new Object[] {algorithm, global, extent, stride, padLeft, padRight});
        }
    }

    /**
     * Every shape of one pooling, computed and validated in Java before any native call. Spatial arrays hold
     * one entry per spatial dim ({@code H, W} or {@code D, H, W}); global pooling has the input's spatial
     * dims as extent, stride 1 and no padding.
     */
    public record Geometry(Algorithm algorithm, boolean global, long[] src, long[] dst, long[] extent, long[] strides,
            long[] padLeft, long[] padRight) {

        /** Validates {@code p} against an input of {@code srcDims} ({@code N, C, [D,] H, W}). */
        public static Geometry of(String layer, long[] srcDims, Params p) {
            if (p == null || p.algorithm() == null) {
                throw new IllegalArgumentException(layer + ": pooling algorithm must be given");
            }
            Shapes.requireRank(layer, srcDims, 4, 5);
            Shapes.requireDims(layer, "src", srcDims);
            int sp = srcDims.length - 2;
            long[] f;
            long[] s;
            long[] pl;
            long[] pr;
            if (p.global()) {
                if (p.extent() != null || p.stride() != null || !allZero(p.padLeft()) || !allZero(p.padRight())) {
                    throw new IllegalArgumentException(layer + ": global " + p.algorithm().label()
                            + " pooling takes no extent, stride or padding (the window is the whole input)");
                }
                f = Arrays.copyOfRange(srcDims, 2, srcDims.length);
                s = new long[sp];
                Arrays.fill(s, 1);
                pl = new long[sp];
                pr = new long[sp];
            } else {
                f = expand(layer, "extent F", p.extent(), sp);
                s = p.stride() == null ? f.clone() : expand(layer, "stride S", p.stride(), sp);
                pl = expand(layer, "padding", p.padLeft(), sp);
                pr = expand(layer, "padding", p.padRight(), sp);
            }
            long[] dst = new long[2 + sp];
            dst[0] = srcDims[0];
            dst[1] = srcDims[1];
            for (int i = 0; i < sp; i++) {
                Shapes.requireWindow(layer, Shapes.spatialName(sp, i), f[i], s[i], pl[i], pr[i], 1);
            }
            for (int i = 0; i < sp; i++) {
                String dim = Shapes.spatialName(sp, i);
                dst[2 + i] = Shapes.windowOutput(layer, dim, srcDims[2 + i], f[i], s[i], pl[i], pr[i], 1);
                if (pl[i] >= f[i] || pr[i] >= f[i]) {
                    throw new IllegalArgumentException(layer + ": padding P" + dim + "=" + pl[i]
                            + (pl[i] == pr[i] ? "" : "/" + pr[i]) + " must be smaller than the extent F" + dim + "="
                            + f[i] + " (a window would lie entirely in the padding)");
                }
            }
            String[] dstNames = new String[2 + sp];
            dstNames[0] = "N";
            dstNames[1] = "C";
            for (int i = 0; i < sp; i++) {
                dstNames[2 + i] = Shapes.spatialName(sp, i) + "2";
            }
            Shapes.requireDims(layer, "dst", dst, dstNames, "the input's spatial dims with padding P, extent F and stride S");
            return new Geometry(p.algorithm(), p.global(), srcDims.clone(), dst, f, s, pl, pr);
        }

        private static boolean allZero(int[] a) {
            return a == null || Arrays.stream(a).allMatch(v -> v == 0);
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

        /** {@code F^d}: the number of positions in one window, padding included. */
        public long windowSize() {
            long k = 1;
            for (long v : extent) {
                k *= v;
            }
            return k;
        }
    }

    /**
     * The arguments of one pooling execution (forward or backward), bound once: for the oneDNN algorithms one
     * primitive's {@link ExecArgs}, for L2 the chain of primitives it is composed of. Also remembers the
     * forward's tensors, so a backward can be bound straight from them.
     */
    public static final class Bound extends NativeResource {
        private final NativeResource owner;
        private final Scope own;
        private final Primitive[] primitives;
        private final ExecArgs[] args;
        private final Tensor src;
        private final Tensor dst;
        private final Tensor workspace;

        private Bound(Scope scope, NativeResource owner, Scope own, List<Primitive> primitives, List<ExecArgs> args,
                Tensor src, Tensor dst, Tensor workspace) {
            super(scope);
            this.owner = owner;
            this.own = own;
            this.primitives = primitives.toArray(Primitive[]::new);
            this.args = args.toArray(ExecArgs[]::new);
            this.src = src;
            this.dst = dst;
            this.workspace = workspace;
            register();
        }

        private void run(NativeResource by, String name, Stream stream) {
            ensureOpen();
            if (by != owner) {
                throw new IllegalArgumentException(name + ": arguments were bound for " + owner.describe());
            }
            for (int i = 0; i < primitives.length; i++) {
                primitives[i].execute(stream, args[i]);
            }
        }

        /** The forward's source (null in a backward binding). */
        public Tensor src() {
            return src;
        }

        /** The forward's destination (null in a backward binding). */
        public Tensor dst() {
            return dst;
        }

        /** The forward's workspace (max pooling in training), or null. */
        public Tensor workspace() {
            return workspace;
        }

        @Override
        public String describe() {
            return "Pooling.Bound for " + owner.describe() + " (" + primitives.length + " primitive(s))";
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

    /**
     * The forward pass, created once for one source layout. Training mode keeps what the backward needs: the
     * workspace of max pooling ({@link #workspaceDesc()}, bind it), and for L2 the source and destination
     * themselves.
     */
    public static final class Forward extends NativeResource {

        private final String name;
        private final Geometry geometry;
        private final PropKind mode;
        private final Scope own;
        private final Primitive pool;
        /** L2 only: {@code squares = src^2}, {@code pool} averages them, {@code sqrt} runs in place on dst. */
        private final Primitive square;
        private final Primitive sqrt;
        /** L2 only: the layout of the squares; every binding has its own buffer, so bindings can run at once. */
        private final MemoryDesc squares;

        private Forward(Scope scope, String name, Geometry geometry, PropKind mode, Scope own, Primitive pool,
                Primitive square, Primitive sqrt, MemoryDesc squares) {
            super(scope);
            this.name = name;
            this.geometry = geometry;
            this.mode = mode;
            this.own = own;
            this.pool = pool;
            this.square = square;
            this.sqrt = sqrt;
            this.squares = squares;
            register();
        }

        /**
         * Creates the forward for sources laid out as {@code src} (a concrete layout, the one the network
         * has); the destination layout is oneDNN's choice ({@link #dstDesc()}). Shapes are checked first.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, Params params, PropKind mode) {
            if (src == null) {
                throw new IllegalArgumentException(name + ": source descriptor must be given");
            }
            Geometry g = Geometry.of(name, src.dims(), params);
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": pooling needs a concrete source layout, not 'any'");
            }
            Scope own = Scope.open(name);
            try {
                int prop = mode.value();
                String kind = g.global() ? "global " + g.algorithm().label() : g.algorithm().label();
                if (g.algorithm() != Algorithm.L2) {
                    Primitive pool = poolingForward(own, name + " (" + kind + " pooling " + g.spatialDims() + "D)", src, g, prop);
                    return new Forward(scope, name, g, mode, own, pool, null, null, null);
                }
                // The eltwise steps never run backward (Backward differentiates the whole chain at once),
                // so they are inference primitives whatever the mode.
                int inference = PropKind.INFERENCE.value();
                Primitive square = eltwise(own, name + " (L2 pooling: square)", src, dnnl_h.dnnl_eltwise_square(), inference);
                MemoryDesc squares = square.requireArgDesc(Arg.DST);
                Primitive pool = poolingForward(own, name + " (L2 pooling: average of squares " + g.spatialDims() + "D)",
                        squares, g, prop);
                Primitive sqrt = eltwise(own, name + " (L2 pooling: sqrt)", pool.requireArgDesc(Arg.DST),
                        dnnl_h.dnnl_eltwise_sqrt(), inference);
                return new Forward(scope, name, g, mode, own, pool, square, sqrt, squares);
            } catch (RuntimeException e) {
                own.close();
                throw e;
            }
        }

        /** Creates a forward for plain ({@code nchw}/{@code ncdhw}) f32 sources of {@code srcDims}. */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params, PropKind mode) {
            Geometry.of(name, srcDims, params);
            try (Scope tmp = Scope.open(name + ".create")) {
                return create(scope, name, MemoryDesc.plain(tmp, srcDims), params, mode);
            }
        }

        /** A training-mode forward for plain f32 sources. */
        public static Forward create(Scope scope, String name, long[] srcDims, Params params) {
            return create(scope, name, srcDims, params, PropKind.TRAINING);
        }

        public Geometry geometry() {
            return geometry;
        }

        public PropKind mode() {
            return mode;
        }

        public MemoryDesc srcDesc() {
            return square != null ? square.requireArgDesc(Arg.SRC) : pool.requireArgDesc(Arg.SRC);
        }

        public MemoryDesc dstDesc() {
            return pool.requireArgDesc(Arg.DST);
        }

        /** True for max pooling in training mode: its backward needs to know which input won each window. */
        public boolean hasWorkspace() {
            return geometry.algorithm() == Algorithm.MAX && mode == PropKind.TRAINING;
        }

        /** The layout of the workspace that max pooling's training forward fills and its backward reads. */
        public MemoryDesc workspaceDesc() {
            if (!hasWorkspace()) {
                throw new IllegalArgumentException(name + ": only max pooling in TRAINING mode has a workspace (this is "
                        + geometry.algorithm().label() + ", " + mode + ")");
            }
            return pool.requireArgDesc(Arg.WORKSPACE);
        }

        /** The oneDNN pooling primitive (for L2: the one that averages the squares). */
        public Primitive primitive() {
            return pool;
        }

        /** Binds source and destination in this primitive's layouts; see {@link #bind(Scope, Tensor, Tensor, Tensor)}. */
        public Bound bind(Scope scope, Tensor src, Tensor dst) {
            return bind(scope, src, dst, null);
        }

        /**
         * Binds tensors once for repeated {@link #execute}; {@code workspace} (in {@link #workspaceDesc()})
         * is required for max pooling in training and must be null otherwise.
         */
        public Bound bind(Scope scope, Tensor src, Tensor dst, Tensor workspace) {
            ensureOpen();
            if (hasWorkspace() && workspace == null) {
                throw new IllegalArgumentException(name + ": max pooling in TRAINING mode needs its workspace "
                        + "(allocate one in workspaceDesc() and pass it to the backward too)");
            }
            if (!hasWorkspace() && workspace != null) {
                throw new IllegalArgumentException(name + ": " + geometry.algorithm().label() + " pooling in " + mode
                        + " mode has no workspace");
            }
            ExecArgs.requireBindable(name, "src", src, srcDesc());
            ExecArgs.requireBindable(name, "dst", dst, dstDesc());
            Scope argsScope = Scope.open(name + ".args");
            try {
                List<Primitive> ps = new ArrayList<>();
                List<ExecArgs> as = new ArrayList<>();
                if (square == null) {
                    ps.add(pool);
                    as.add(pool.args().add(Arg.SRC, src).add(Arg.DST, dst).addIfPresent(Arg.WORKSPACE, workspace)
                            .build(argsScope));
                } else {
                    Tensor squares = Tensor.allocate(argsScope, name + ".squares", this.squares);
                    ps.add(square);
                    as.add(square.args().add(Arg.SRC, src).add(Arg.DST, squares).build(argsScope));
                    ps.add(pool);
                    as.add(pool.args().add(Arg.SRC, squares).add(Arg.DST, dst).build(argsScope));
                    ps.add(sqrt);
                    as.add(sqrt.args().add(Arg.SRC, dst).add(Arg.DST, dst).build(argsScope));
                }
                return new Bound(scope, this, argsScope, ps, as, src, dst, workspace);
            } catch (RuntimeException e) {
                argsScope.close();
                throw e;
            }
        }

        /** Runs the bound primitive(s); does not wait. Allocates nothing. */
        public void execute(Stream stream, Bound args) {
            ensureOpen();
            args.run(this, name, stream);
        }

        private void checkOpen() {
            ensureOpen();
        }

        /**
         * One-off convenience: takes tensors in any layout with the right dims, reorders where needed, runs
         * (with a temporary workspace for max training), and writes {@code dst} in its own layout. Allocates
         * temporaries: for repeated runs (and for a backward) use {@link #bind} and {@link #execute}.
         */
        public void executePlain(Stream stream, Tensor src, Tensor dst) {
            try (Scope tmp = Scope.open(name + ".executePlain")) {
                Tensor s = matching(tmp, src, srcDesc(), stream, "src");
                requireDims(dst, dstDesc(), "dst");
                boolean dstMatches = dst.desc().sameAs(dstDesc());
                Tensor d = dstMatches ? dst : Tensor.allocate(tmp, name + ".dst", dstDesc());
                Tensor ws = hasWorkspace() ? Tensor.allocate(tmp, name + ".workspace", workspaceDesc()) : null;
                execute(stream, bind(tmp, s, d, ws));
                stream.await();
                if (!dstMatches) {
                    d.reorderInto(dst, stream);
                }
            }
        }

        private Tensor matching(Scope tmp, Tensor t, MemoryDesc want, Stream stream, String what) {
            requireDims(t, want, what);
            return t.desc().sameAs(want) ? t : t.reorder(tmp, want, stream);
        }

        private void requireDims(Tensor t, MemoryDesc want, String what) {
            if (t == null) {
                throw new IllegalArgumentException(name + ": no tensor given for " + what);
            }
            if (!Arrays.equals(t.dims(), want.dims())) {
                throw new IllegalArgumentException(name + ": " + what + " must have dims " + Arrays.toString(want.dims())
                        + ", got tensor '" + t.name() + "' " + t.desc().shapeString());
            }
        }

        @Override
        public String describe() {
            return "Pooling.Forward " + name + " (" + (geometry.global() ? "global " : "") + geometry.algorithm().label()
                    + ") " + Arrays.toString(geometry.src()) + " -> " + Arrays.toString(geometry.dst());
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

    /**
     * The backward pass: {@code diffDst -> diffSrc}, created from a TRAINING forward (its primitive
     * descriptor is oneDNN's hint, and it supplies what the backward reads: the workspace for max, source and
     * destination for L2).
     *
     * <p><b>L2.</b> With {@code y_w = sqrt(a_w)}, {@code a_w = sum_{i in w} x_i^2 / k_w}:
     * {@code dy_w/dx_i = (1/(2 y_w)) * (2 x_i / k_w) = x_i / (k_w y_w)}, so
     * {@code dx_i = x_i * sum_{w containing i} (dy_w / y_w) / k_w = x_i * avgPoolBackward(dy / y)_i}
     * (the exclude-padding average's backward spreads {@code q_w / k_w} over the window). That is oneDNN
     * binary div, average-pooling backward and binary mul.
     *
     * <p>Numerics: {@code y_w = 0} exactly when every square in the window is 0, i.e. each {@code x_i} there is
     * 0 (or so small that its f32 square underflowed). There {@code y = |x|/sqrt(k)} is a cone, not
     * differentiable; like PyTorch's norm we take the subgradient 0. Dividing by {@code y} would give
     * {@code dy/0 = Inf} and then {@code 0 * Inf = NaN}; instead we divide by
     * {@code ySafe = y + [y == 0]} (binary eq, then add), which equals {@code y} wherever {@code y > 0} and 1
     * where it is 0: the quotient stays finite ({@code dy}) and the factor {@code x_i} (0, or below 1e-22)
     * makes the contribution 0 (or negligible). When {@code y > 0} the average of squares is a nonzero f32, at
     * least the smallest denormal (1.4e-45), so {@code y >= 3.7e-23} and {@code dy/y} overflows only for
     * {@code |dy| > ~1e16}, far beyond any real gradient. An overflowing square ({@code |x| > 1.8e19}) gives
     * {@code y = Inf} and a zero gradient, never NaN.
     */
    public static final class Backward extends NativeResource {

        private final String name;
        private final Forward forward;
        private final Scope own;
        private final Primitive pool;
        /** L2 only: ySafe = eq(y, 0); ySafe += y; q = dy / ySafe; pool(q) -> dx; dx *= x. */
        private final Primitive isZero;
        private final Primitive add;
        private final Primitive div;
        private final Primitive mul;
        private final Tensor zero;
        /** L2 only: the layout of ySafe and q; every binding has its own buffers, so bindings can run at once. */
        private final MemoryDesc intermediate;

        private Backward(Scope scope, String name, Forward forward, Scope own, Primitive pool, Primitive isZero,
                Primitive add, Primitive div, Primitive mul, Tensor zero, MemoryDesc intermediate) {
            super(scope);
            this.name = name;
            this.forward = forward;
            this.own = own;
            this.pool = pool;
            this.isZero = isZero;
            this.add = add;
            this.div = div;
            this.mul = mul;
            this.zero = zero;
            this.intermediate = intermediate;
            register();
        }

        /** Creates the backward of {@code forward}, which must have been created in TRAINING mode. */
        public static Backward create(Scope scope, String name, Forward forward) {
            forward.checkOpen();
            if (forward.mode() != PropKind.TRAINING) {
                throw new IllegalArgumentException(name + ": backward needs a forward created in TRAINING mode ("
                        + forward.name + " is " + forward.mode() + ")");
            }
            Geometry g = forward.geometry();
            Scope own = Scope.open(name);
            try {
                MemoryDesc src = forward.srcDesc();
                MemoryDesc dst = forward.dstDesc();
                String kind = g.global() ? "global " + g.algorithm().label() : g.algorithm().label();
                Primitive pool;
                try (Arena a = Arena.ofConfined(); Scope tmp = Scope.open(name + ".create")) {
                    PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                    Window w = new Window(a, g);
                    Engine e = Engine.cpu();
                    MemorySegment hint = forward.pool.descHandle();
                    int alg = g.algorithm().dnnlPooling();
                    pool = Primitive.create(own, name + " (" + kind + " pooling backward " + g.spatialDims() + "D)",
                            out -> dnnl_h.dnnl_pooling_backward_primitive_desc_create(out, e.handle(), alg, src.handle(),
                                    dst.handle(), w.strides, w.kernel, w.dilation, w.padLeft, w.padRight, hint,
                                    attr.handle()));
                }
                if (g.algorithm() != Algorithm.L2) {
                    return new Backward(scope, name, forward, own, pool, null, null, null, null, null, null);
                }
                long[] ones = new long[g.src().length];
                Arrays.fill(ones, 1);
                Tensor zero = Tensor.zeros(own, name + ".zero", ones);
                Primitive isZero = binary(own, name + " (L2 pooling backward: y == 0)", dnnl_h.dnnl_binary_eq(), dst,
                        zero.desc(), dst);
                Primitive add = binary(own, name + " (L2 pooling backward: y + [y == 0])", dnnl_h.dnnl_binary_add(), dst,
                        dst, dst);
                Primitive div = binary(own, name + " (L2 pooling backward: dy / y)", dnnl_h.dnnl_binary_div(), dst, dst,
                        dst);
                Primitive mul = binary(own, name + " (L2 pooling backward: x * pooled)", dnnl_h.dnnl_binary_mul(), src,
                        src, src);
                return new Backward(scope, name, forward, own, pool, isZero, add, div, mul, zero, dst);
            } catch (RuntimeException e) {
                own.close();
                throw e;
            }
        }

        public MemoryDesc diffDstDesc() {
            return pool.requireArgDesc(Arg.DIFF_DST);
        }

        public MemoryDesc diffSrcDesc() {
            return pool.requireArgDesc(Arg.DIFF_SRC);
        }

        /** The oneDNN pooling backward primitive (for L2: the average's). */
        public Primitive primitive() {
            return pool;
        }

        /** Binds the gradients, taking what the backward reads (workspace, src, dst) from the forward's binding. */
        public Bound bind(Scope scope, Bound forwardArgs, Tensor diffDst, Tensor diffSrc) {
            if (forwardArgs.owner != forward) {
                throw new IllegalArgumentException(name + ": forward arguments were bound for "
                        + forwardArgs.owner.describe() + ", not " + forward.describe());
            }
            return bind(scope, diffDst, diffSrc, forwardArgs.src(), forwardArgs.dst(), forwardArgs.workspace());
        }

        /**
         * Binds tensors once for repeated {@link #execute}. {@code workspace} (the one the forward filled) is
         * needed by max pooling, {@code src} and {@code dst} (the forward's) by L2; the others may be null.
         */
        public Bound bind(Scope scope, Tensor diffDst, Tensor diffSrc, Tensor src, Tensor dst, Tensor workspace) {
            ensureOpen();
            Algorithm alg = forward.geometry().algorithm();
            if (alg == Algorithm.MAX && workspace == null) {
                throw new IllegalArgumentException(name + ": max pooling backward needs the workspace its forward filled");
            }
            if (alg == Algorithm.L2 && (src == null || dst == null)) {
                throw new IllegalArgumentException(name + ": L2 pooling backward needs the forward's src and dst");
            }
            // Checked here against the public layouts: L2 binds them to its inner primitives, whose errors would
            // name those primitives' arguments instead of the caller's.
            ExecArgs.requireBindable(name, "diff_dst", diffDst, diffDstDesc());
            ExecArgs.requireBindable(name, "diff_src", diffSrc, diffSrcDesc());
            if (alg == Algorithm.L2) {
                ExecArgs.requireBindable(name, "src", src, forward.srcDesc());
                ExecArgs.requireBindable(name, "dst", dst, forward.dstDesc());
            }
            Scope argsScope = Scope.open(name + ".args");
            try {
                List<Primitive> ps = new ArrayList<>();
                List<ExecArgs> as = new ArrayList<>();
                if (alg != Algorithm.L2) {
                    ps.add(pool);
                    as.add(pool.args().add(Arg.DIFF_DST, diffDst).add(Arg.DIFF_SRC, diffSrc)
                            .addIfPresent(Arg.WORKSPACE, alg == Algorithm.MAX ? workspace : null).build(argsScope));
                } else {
                    Tensor ySafe = Tensor.allocate(argsScope, name + ".ySafe", intermediate);
                    Tensor quotient = Tensor.allocate(argsScope, name + ".dyOverY", intermediate);
                    ps.add(isZero);
                    as.add(isZero.args().add(Arg.SRC, dst).add(Arg.SRC_1, zero).add(Arg.DST, ySafe).build(argsScope));
                    ps.add(add);
                    as.add(add.args().add(Arg.SRC, ySafe).add(Arg.SRC_1, dst).add(Arg.DST, ySafe).build(argsScope));
                    ps.add(div);
                    as.add(div.args().add(Arg.SRC, diffDst).add(Arg.SRC_1, ySafe).add(Arg.DST, quotient).build(argsScope));
                    ps.add(pool);
                    as.add(pool.args().add(Arg.DIFF_DST, quotient).add(Arg.DIFF_SRC, diffSrc).build(argsScope));
                    ps.add(mul);
                    as.add(mul.args().add(Arg.SRC, diffSrc).add(Arg.SRC_1, src).add(Arg.DST, diffSrc).build(argsScope));
                }
                return new Bound(scope, this, argsScope, ps, as, null, null, null);
            } catch (RuntimeException e) {
                argsScope.close();
                throw e;
            }
        }

        /** Runs the bound primitive(s); does not wait. Allocates nothing. */
        public void execute(Stream stream, Bound args) {
            ensureOpen();
            args.run(this, name, stream);
        }

        @Override
        public String describe() {
            Geometry g = forward.geometry();
            return "Pooling.Backward " + name + " (" + (g.global() ? "global " : "") + g.algorithm().label() + ") "
                    + Arrays.toString(g.dst()) + " -> " + Arrays.toString(g.src());
        }

        @Override
        public long nativeBytes() {
            return zero == null ? 0 : zero.nativeBytes();
        }

        @Override
        protected void release() {
            own.close();
        }
    }

    /** oneDNN's window arrays in native memory; dilation 0 (oneDNN's "none": pooling here is never dilated). */
    private static final class Window {
        final MemorySegment strides;
        final MemorySegment kernel;
        final MemorySegment dilation;
        final MemorySegment padLeft;
        final MemorySegment padRight;

        Window(Arena a, Geometry g) {
            strides = a.allocateFrom(ValueLayout.JAVA_LONG, g.strides());
            kernel = a.allocateFrom(ValueLayout.JAVA_LONG, g.extent());
            dilation = a.allocateFrom(ValueLayout.JAVA_LONG, new long[g.spatialDims()]);
            padLeft = a.allocateFrom(ValueLayout.JAVA_LONG, g.padLeft());
            padRight = a.allocateFrom(ValueLayout.JAVA_LONG, g.padRight());
        }
    }

    private static Primitive poolingForward(Scope own, String what, MemoryDesc src, Geometry g, int prop) {
        Dnnl.init();
        try (Arena a = Arena.ofConfined(); Scope tmp = Scope.open(what + ".create")) {
            MemoryDesc dst = MemoryDesc.any(tmp, g.dst());
            PrimitiveAttr attr = PrimitiveAttr.create(tmp);
            Window w = new Window(a, g);
            Engine e = Engine.cpu();
            int alg = g.algorithm().dnnlPooling();
            return Primitive.create(own, what, out -> dnnl_h.dnnl_pooling_forward_primitive_desc_create(out, e.handle(),
                    prop, alg, src.handle(), dst.handle(), w.strides, w.kernel, w.dilation, w.padLeft, w.padRight,
                    attr.handle()));
        }
    }

    // The L2 chain calls oneDNN's eltwise and binary directly rather than through those families' classes:
    // it needs only fixed, internal steps, and keeps this family independent of theirs.
    private static Primitive eltwise(Scope own, String what, MemoryDesc src, int alg, int prop) {
        try (Scope tmp = Scope.open(what + ".create")) {
            PrimitiveAttr attr = PrimitiveAttr.create(tmp);
            Engine e = Engine.cpu();
            return Primitive.create(own, what, out -> dnnl_h.dnnl_eltwise_forward_primitive_desc_create(out, e.handle(),
                    prop, alg, src.handle(), src.handle(), 0f, 0f, attr.handle()));
        }
    }

    private static Primitive binary(Scope own, String what, int alg, MemoryDesc src0, MemoryDesc src1, MemoryDesc dst) {
        try (Scope tmp = Scope.open(what + ".create")) {
            PrimitiveAttr attr = PrimitiveAttr.create(tmp);
            Engine e = Engine.cpu();
            return Primitive.create(own, what, out -> dnnl_h.dnnl_binary_primitive_desc_create(out, e.handle(), alg,
                    src0.handle(), src1.handle(), dst.handle(), attr.handle()));
        }
    }
}
