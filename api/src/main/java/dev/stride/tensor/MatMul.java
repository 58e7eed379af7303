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
import dev.stride.core.Shapes;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Matrix product, 2D or batched 3D (oneDNN's matmul primitive):
 * {@code dst[b, m, n] = bias[b, m, n] + sum_k src[b, m, k] * weights[b, k, n]}, batch and bias dims of
 * size 1 broadcast.
 *
 * <p>A transposed operand is not a separate operation: it is the same bytes read with swapped strides, so
 * {@code A^T} stored row-major as {@code K x M} is described as {@code M x K} with strides {@code (1, M)}
 * ({@link Spec#transA}). The custom ops hand their GEMMs here through {@link #plain}.
 *
 * <p><b>Shape</b>: src {@code [B,] M x K}; weights {@code [B or 1,] K x N}; bias each dim equal to dst's or
 * 1; dst {@code [B,] M x N}.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class MatMul {
    private MatMul() {}

    /**
     * A row-major GEMM {@code C = op(A) op(B) [+ bias]}: {@code batch} 0 means 2D; {@code transA} says A is
     * stored {@code K x M}, {@code transB} that B is stored {@code N x K}; {@code sharedB} gives every batch
     * entry the same B (stored once, {@code K x N}); {@code bias} adds a row vector of {@code N}.
     */
    public record Spec(long batch, long m, long k, long n, boolean aTransposed, boolean bTransposed, boolean bShared,
            boolean withBias) {

        /** {@code C[M x N] = A[M x K] B[K x N]}, plain, no bias. */
        public static Spec of(long m, long k, long n) {
            return new Spec(0, m, k, n, false, false, false, false);
        }

        public Spec batch(long b) {
            return new Spec(b, m, k, n, aTransposed, bTransposed, bShared, withBias);
        }

        public Spec transA() {
            return new Spec(batch, m, k, n, true, bTransposed, bShared, withBias);
        }

        public Spec transB() {
            return new Spec(batch, m, k, n, aTransposed, true, bShared, withBias);
        }

        /** One B for the whole batch (e.g. a filter bank applied to every image's columns). */
        public Spec sharedB() {
            return new Spec(batch, m, k, n, aTransposed, bTransposed, true, withBias);
        }

        public Spec bias() {
            return new Spec(batch, m, k, n, aTransposed, bTransposed, bShared, true);
        }

        void validate(String name) {
            if (m < 1 || k < 1 || n < 1 || batch < 0) {
                throw new IllegalArgumentException(name + ": matmul sizes must be positive: M=" + m + ", K=" + k
                        + ", N=" + n + (batch < 0 ? ", batch=" + batch + " (0 = 2D)" : ""));
            }
            if (bShared && batch == 0) {
                throw new IllegalArgumentException(name + ": sharedB needs a batch (a 2D product has one B already)");
            }
            if (batch > MemoryDesc.MAX_DIM) {
                throw new IllegalArgumentException(name + ": matmul batch = " + batch + " is over oneDNN's limit of "
                        + MemoryDesc.MAX_DIM + " (MemoryDesc.MAX_DIM)");
            }
            String[] a = batch == 0 ? new String[] {"M", "K"} : new String[] {"batch", "M", "K"};
            String[] b = batch == 0 ? new String[] {"K", "N"} : new String[] {bShared ? "1 (shared B)" : "batch", "K", "N"};
            String[] c = batch == 0 ? new String[] {"M", "N"} : new String[] {"batch", "M", "N"};
            Shapes.requireDims(name, "src (A)", aDims(), a, "the spec " + this);
            Shapes.requireDims(name, "weights (B)", bDims(), b, "the spec " + this);
            Shapes.requireDims(name, "dst (C)", cDims(), c, "the spec " + this);
        }

        long[] aDims() {
            return batch == 0 ? new long[] {m, k} : new long[] {batch, m, k};
        }

        long[] bDims() {
            return batch == 0 ? new long[] {k, n} : new long[] {bShared ? 1 : batch, k, n};
        }

        long[] cDims() {
            return batch == 0 ? new long[] {m, n} : new long[] {batch, m, n};
        }

        /** Strides of a logical {@code rows x cols} matrix (per batch entry) stored transposed or not. */
        static long[] strides(long batch, long rows, long cols, boolean transposed) {
            long[] inner = transposed ? new long[] {1, rows} : new long[] {cols, 1};
            return batch == 0 ? inner : new long[] {rows * cols, inner[0], inner[1]};
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(batch == 0 ? "" : batch + " x ");
            sb.append("[").append(m).append(" x ").append(k).append("]").append(aTransposed ? "^T-stored" : "")
                    .append(" * [").append(k).append(" x ").append(n).append("]").append(bTransposed ? "^T-stored" : "");
            if (bShared) sb.append(", shared B");
            if (withBias) sb.append(", bias");
            return sb.toString();
        }
    }

    /** The output dims of {@code src x weights}, validated (ranks, inner dims, batch broadcast). */
    public static long[] outputDims(String name, long[] src, long[] weights) {
        if (src.length != 2 && src.length != 3) {
            throw new IllegalArgumentException(name + ": matmul expected 2D or 3D src (got " + src.length + "D: "
                    + Arrays.toString(src) + ")");
        }
        if (weights.length != src.length) {
            throw new IllegalArgumentException(name + ": matmul src " + Arrays.toString(src) + " is " + src.length
                    + "D but weights " + Arrays.toString(weights) + " are " + weights.length + "D");
        }
        int r = src.length;
        if (src[r - 1] != weights[r - 2]) {
            throw new IllegalArgumentException(name + ": matmul inner dimensions differ: src " + Arrays.toString(src)
                    + " has K=" + src[r - 1] + ", weights " + Arrays.toString(weights) + " have K=" + weights[r - 2]);
        }
        long[] dst = r == 2 ? new long[] {src[0], weights[1]} : new long[] {Math.max(src[0], weights[0]), src[1], weights[2]};
        if (r == 3 && src[0] != weights[0] && src[0] != 1 && weights[0] != 1) {
            throw new IllegalArgumentException(name + ": matmul batch sizes differ: src " + Arrays.toString(src)
                    + " has " + src[0] + ", weights " + Arrays.toString(weights) + " have " + weights[0]
                    + " (one of them may be 1 to broadcast)");
        }
        return dst;
    }

    /** Creates the plain row-major GEMM that {@code spec} describes (layouts fixed, no reorders needed). */
    public static Forward plain(Scope scope, String name, Spec spec) {
        spec.validate(name);
        try (Scope tmp = Scope.open(name + ".descs")) {
            long[] a = spec.aDims();
            long[] b = spec.bDims();
            long[] c = spec.cDims();
            MemoryDesc ad = Layouts.strided(tmp, a, Spec.strides(spec.batch(), spec.m(), spec.k(), spec.aTransposed()));
            MemoryDesc bd = Layouts.strided(tmp, b, Spec.strides(spec.batch(), spec.k(), spec.n(), spec.bTransposed()));
            long[] biasDims = new long[c.length];
            Arrays.fill(biasDims, 1);
            biasDims[c.length - 1] = spec.n();
            MemoryDesc bias = spec.withBias() ? MemoryDesc.plain(tmp, biasDims) : null;
            return Forward.create(scope, name, ad, bd, bias, MemoryDesc.plain(tmp, c), null);
        }
    }

    /** The primitive for given layouts. */
    public static final class Forward extends PrimitiveOp {
        private final long[] srcDims;
        private final long[] weightsDims;
        private final long[] dstDims;
        private final boolean hasBias;

        private Forward(Scope scope, String name, long[] srcDims, long[] weightsDims, long[] dstDims, boolean hasBias,
                Primitive primitive) {
            this.srcDims = srcDims;
            this.weightsDims = weightsDims;
            this.dstDims = dstDims;
            this.hasBias = hasBias;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = src x weights [+ bias]}. Any of {@code src}, {@code weights}, {@code dst} may
         * be {@code any} (oneDNN picks); {@code bias} and {@code postOps} may be null; a null {@code dst}
         * means {@code any}. Shapes are checked before any native call.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, MemoryDesc weights, MemoryDesc bias,
                MemoryDesc dst, PostOps postOps) {
            long[] s = src.dims();
            long[] w = weights.dims();
            long[] d = outputDims(name, s, w);
            if (dst != null && !Arrays.equals(dst.dims(), d)) {
                throw new IllegalArgumentException(name + ": matmul dst must be " + Arrays.toString(d) + " for src "
                        + Arrays.toString(s) + " x weights " + Arrays.toString(w) + ", got " + Arrays.toString(dst.dims()));
            }
            if (bias != null) {
                long[] b = bias.dims();
                boolean ok = b.length == d.length;
                for (int i = 0; ok && i < b.length; i++) {
                    ok = b[i] == d[i] || b[i] == 1;
                }
                if (!ok) {
                    throw new IllegalArgumentException(name + ": matmul bias " + Arrays.toString(b)
                            + " does not broadcast onto dst " + Arrays.toString(d) + " (each dim must match or be 1)");
                }
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                if (postOps != null) {
                    attr.postOps(postOps);
                }
                MemoryDesc dd = dst != null ? dst : MemoryDesc.any(tmp, d);
                Primitive p = Primitive.create(scope, name + " (matmul " + Arrays.toString(s) + " x " + Arrays.toString(w) + ")",
                        out -> dnnl_h.dnnl_matmul_primitive_desc_create(out, e.handle(), src.handle(), weights.handle(),
                                bias == null ? MemorySegment.NULL : bias.handle(), dd.handle(), attr.handle()));
                return new Forward(scope, name, s, w, d, bias != null, p);
            }
        }

        public long[] dstDims() {
            return dstDims.clone();
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc weightsDesc() {
            return argDesc(Arg.WEIGHTS);
        }

        /** The bias layout, or null without bias. */
        public MemoryDesc biasDesc() {
            return hasBias ? argDesc(Arg.BIAS) : null;
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Multiply-adds times two. */
        public long flops() {
            long batch = dstDims.length == 3 ? dstDims[0] : 1;
            int r = srcDims.length;
            return 2 * batch * srcDims[r - 2] * srcDims[r - 1] * weightsDims[r - 1];
        }

        public ExecArgs bind(Scope scope, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            if ((bias == null) == hasBias) {
                throw new IllegalArgumentException(name + ": " + (bias == null ? "bias tensor missing" : "this matmul has no bias"));
            }
            return primitive.args().add(Arg.SRC, src).add(Arg.WEIGHTS, weights).addIfPresent(Arg.BIAS, bias)
                    .add(Arg.DST, dst).build(scope);
        }

        /** One-off convenience: binds, runs and waits (allocates the argument array). */
        public void executeOnce(Stream stream, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            try (Scope tmp = Scope.open(name + ".once")) {
                execute(stream, bind(tmp, src, weights, bias, dst));
                stream.await();
            }
        }

        @Override
        public String describe() {
            return "MatMul.Forward " + name + " " + Arrays.toString(srcDims) + " x " + Arrays.toString(weightsDims)
                    + (hasBias ? " + bias" : "");
        }
    }
}
