package dev.stride.ops.deform;

import dev.stride.core.Confinement;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.ops.DenseLayout;
import dev.stride.tensor.MatMul;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Deformable convolution, v1 (Dai et al., 2017, <a href="https://arxiv.org/abs/1703.06211">arXiv:1703.06211</a>)
 * and modulated v2 (Zhu et al., 2018, <a href="https://arxiv.org/abs/1811.11168">arXiv:1811.11168</a>).
 *
 * <p>{@code dst[n, k, p0] = bias[k] + sum_{c in group(k)} sum_{pn} weights[k, c, pn]
 * * src[n, c, p0*S - P + pn*D + dpn(n, p0)] [* mask[n, pn, p0]]}: each kernel tap {@code pn} samples the input
 * at its regular position moved by a learned fractional offset {@code dpn} (bilinear, zero outside the input),
 * and in v2 is scaled by a learned mask value. Offsets and masks are shared by the channels of one offset
 * group.
 *
 * <p><b>Shape</b>: torchvision's {@code torchvision.ops.deform_conv2d} conventions, so weights, offsets and
 * masks can be exchanged with it: see {@link DeformGeometry} (src {@code N x C x H1 x W1}, offset
 * {@code N x 2*G_off*KH*KW x H2 x W2} ordered {@code (dy, dx)} per tap, mask {@code N x G_off*KH*KW x H2 x W2},
 * weights {@code K x C/G x KH x KW}, bias {@code K}, dst {@code N x K x H2 x W2},
 * {@code H2 = (H1 - D*(F-1) - 1 + 2P)/S + 1}, which must be an integer).
 *
 * <p><b>Layout</b>: every tensor must be plain row-major f32 ({@code nchw}, {@code oihw}): the bilinear
 * gather and scatter are Java loops that index the bytes directly. A network keeping activations in a blocked
 * layout reorders them at this op's edges.
 *
 * <p><b>How</b> (as in the reference implementations): per chunk of images, a Java "deformable im2col"
 * writes the bilinear samples into a column matrix {@code [C*KH*KW, b*H2*W2]}, and oneDNN's matmul multiplies
 * it by the weights, one GEMM per weight group ({@code K/G x C/G*KH*KW} times {@code C/G*KH*KW x b*H2*W2}).
 * The backward computes {@code dcols = W^T dy} and {@code dW += dy cols^T} with the same matmul, then
 * scatters {@code dcols} into {@code dsrc} through the same bilinear weights and reduces it into the offset
 * and mask gradients. With one weight group the column matrix is kept transposed, {@code [b*H2*W2, KH*KW*C]},
 * and the Java kernels work channels-last ({@link ChannelsLast}: the neighbours of a sampling point are runs
 * of consecutive floats, about 25% less time for forward + backward); weight groups use the layout above. The batch is processed in chunks of {@code b} images so the column matrix stays under a
 * cap ({@link #DEFAULT_COLUMN_BYTES}, 32 MiB, unless given): large enough that the GEMM's {@code N}
 * dimension is long for the usual shapes (the whole batch of 8 x 64ch x 28x28 with 3x3 taps is 14 MiB),
 * small enough not to grow with the batch. The Java phases and the GEMMs run one after the other on the
 * same number of threads, never at once (see {@link dev.stride.ops.Parallel}).
 *
 * <p>Two faces: an owner created once for its shapes ({@link #create}) that holds every workspace (column
 * matrix, GEMM output, a copy of the weights, the matmul primitives and their bound arguments), so
 * {@link #forward} and {@link #backward} allocate no native memory; and one-off static functions
 * ({@link #forwardOnce}, {@link #backwardOnce}) that build and free an owner around a single call.
 *
 * <p>Not thread-safe; confined to one thread at a time: a second thread that calls {@code forward} or
 * {@code backward} while another is inside gets an {@link IllegalStateException} naming both threads (its
 * workspaces hold one call's intermediates); give each thread its own. While a call runs, its tensors and the op
 * are marked in use, so closing them from another thread is refused instead of freeing memory under it.
 */
public final class DeformConv2d extends NativeResource {

    /** One call at a time: the op's workspaces hold one call's intermediate results. */
    private final Confinement confinement = new Confinement();

    /** Default cap on the column matrix of one chunk of images. */
    public static final long DEFAULT_COLUMN_BYTES = 32L << 20;

    /**
     * Settings in the seed's words (torchvision's names in brackets); immutable, each setter returns a copy.
     * Defaults: stride 1, padding 0, dilation 1, one group, one offset group, with bias, v1 (no mask).
     */
    public record Params(int filters, int[] extent, int[] stride, int[] padding, int[] dilation, int groups,
            int offsetGroups, boolean bias, boolean modulated) {

        /** {@code K} filters of extent {@code F} (one value, or {@code KH, KW}). */
        public static Params of(int filters, int... extent) {
            return new Params(filters, extent, new int[] {1}, new int[] {0}, new int[] {1}, 1, 1, true, false);
        }

        public Params stride(int... s) {
            return new Params(filters, extent, s, padding, dilation, groups, offsetGroups, bias, modulated);
        }

        /** Symmetric zero padding {@code P} (one value, or {@code PH, PW}). */
        public Params padding(int... p) {
            return new Params(filters, extent, stride, p, dilation, groups, offsetGroups, bias, modulated);
        }

        /** Dilation, public convention: 1 = none. */
        public Params dilation(int... d) {
            return new Params(filters, extent, stride, padding, d, groups, offsetGroups, bias, modulated);
        }

        /** Weight groups {@code G}: filter {@code k} sees input channels of group {@code k / (K/G)}. */
        public Params groups(int g) {
            return new Params(filters, extent, stride, padding, dilation, g, offsetGroups, bias, modulated);
        }

        /** Offset groups {@code G_off}: channels {@code [g*C/G_off, (g+1)*C/G_off)} share offsets and masks. */
        public Params offsetGroups(int g) {
            return new Params(filters, extent, stride, padding, dilation, groups, g, bias, modulated);
        }

        public Params bias(boolean b) {
            return new Params(filters, extent, stride, padding, dilation, groups, offsetGroups, b, modulated);
        }

        /** v2: a mask scales every sample (torchvision: {@code mask} given). */
        public Params modulated(boolean m) {
            return new Params(filters, extent, stride, padding, dilation, groups, offsetGroups, bias, m);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("K=" + filters + ", F=" + str(extent));
            if (!all(stride, 1)) sb.append(", S=").append(str(stride));
            if (!all(padding, 0)) sb.append(", P=").append(str(padding));
            if (!all(dilation, 1)) sb.append(", dilation=").append(str(dilation));
            if (groups != 1) sb.append(", groups=").append(groups);
            if (offsetGroups != 1) sb.append(", offsetGroups=").append(offsetGroups);
            if (!bias) sb.append(", bias=false");
            if (modulated) sb.append(", modulated");
            return sb.toString();
        }

        private static String str(int[] a) {
            return a.length == 1 ? String.valueOf(a[0]) : Arrays.toString(a);
        }

        private static boolean all(int[] a, int v) {
            return Arrays.stream(a).allMatch(x -> x == v);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Params p && filters == p.filters && groups == p.groups && offsetGroups == p.offsetGroups
                    && bias == p.bias && modulated == p.modulated && Arrays.equals(extent, p.extent)
                    && Arrays.equals(stride, p.stride) && Arrays.equals(padding, p.padding)
                    && Arrays.equals(dilation, p.dilation);
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(new Object[] {filters, extent, stride, padding, dilation, groups, offsetGroups,
                    bias, modulated});
        }
    }

    /** The three GEMMs of one chunk size, with their arguments bound to the owner's workspaces. */
    private record Pass(int images, MatMul.Forward fwd, ExecArgs fwdArgs, MatMul.Forward dWeights,
            ExecArgs dWeightsArgs, MatMul.Forward dCols, ExecArgs dColsArgs) {}

    private final String name;
    private final DeformGeometry geometry;
    /** Whether the kernels of {@link ChannelsLast} run (one weight group), else those of {@link DeformKernels}. */
    private final boolean channelsLast;
    private final int chunk;
    private final Scope own;
    private final Tensor cols;
    private final Tensor out;
    private final Tensor weightsCopy;
    private final Tensor dWeightsPart;
    private final Pass full;
    private final Pass rest;
    /**
     * Copies of the src, offset and mask the last {@link #forward} sampled (null unless one chunk holds the
     * whole batch), and whether {@link #cols} still holds that forward's column matrix: then a backward
     * with bitwise the same inputs reuses it instead of sampling it again for the weight gradient.
     */
    private final Tensor[] seen;
    private boolean colsFromForward;

    private DeformConv2d(Scope scope, String name, DeformGeometry geometry, int chunk, Scope own, Tensor cols,
            Tensor out, Tensor weightsCopy, Tensor dWeightsPart, Pass full, Pass rest, Tensor[] seen) {
        super(scope);
        this.name = name;
        this.geometry = geometry;
        this.channelsLast = ChannelsLast.applies(geometry);
        this.chunk = chunk;
        this.own = own;
        this.cols = cols;
        this.out = out;
        this.weightsCopy = weightsCopy;
        this.dWeightsPart = dWeightsPart;
        this.full = full;
        this.rest = rest;
        this.seen = seen;
        register();
    }

    /** {@link #create(Scope, String, long[], Params, long)} with the default column cap. */
    public static DeformConv2d create(Scope scope, String name, long[] srcDims, Params params) {
        return create(scope, name, srcDims, params, DEFAULT_COLUMN_BYTES);
    }

    /**
     * Creates the op for inputs of {@code srcDims}: validates every shape, then allocates the workspaces and
     * creates the matmul primitives. The batch is processed in chunks of
     * {@code max(1, min(N, columnBytes / (C*KH*KW*H2*W2*4)))} images.
     */
    public static DeformConv2d create(Scope scope, String name, long[] srcDims, Params params, long columnBytes) {
        DeformGeometry g = DeformGeometry.of(name, srcDims, params);
        if (columnBytes < 1) {
            throw new IllegalArgumentException(name + ": column buffer cap must be positive, got " + columnBytes);
        }
        long perImage = g.columnRows() * g.outputPixels() * 4;
        int chunk = (int) Math.max(1, Math.min(g.n(), columnBytes / perImage));
        if ((long) chunk * g.columnRows() * g.outputPixels() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": one image's column matrix [" + g.columnRows() + " x "
                    + g.outputPixels() + "] is too large for the Java kernels (over 2^31-1 elements)");
        }
        Scope own = Scope.open(name + ".workspace");
        try {
            long kk = (long) g.kh() * g.kw();
            long cgkk = g.c() / g.groups() * kk;
            long bp = chunk * g.outputPixels();
            Tensor cols = Tensor.zeros(own, name + ".cols", g.columnRows(), bp);
            Tensor out = Tensor.zeros(own, name + ".out", g.k(), bp);
            Tensor w = Tensor.zeros(own, name + ".weights", g.k(), cgkk);
            Tensor dw = Tensor.zeros(own, name + ".dweights", g.k(), cgkk);
            Pass full = pass(own, name, g, chunk, cols, out, w, dw);
            int remainder = (int) (g.n() % chunk);
            Pass rest = remainder == 0 ? null : pass(own, name, g, remainder, cols, out, w, dw);
            // One chunk: the forward's columns survive until the backward; keep what they were sampled from.
            Tensor[] seen = chunk < g.n() ? null : new Tensor[] {Tensor.zeros(own, name + ".seenSrc", g.src()),
                Tensor.zeros(own, name + ".seenOffset", g.offset()),
                g.modulated() ? Tensor.zeros(own, name + ".seenMask", g.mask()) : null};
            return new DeformConv2d(scope, name, g, chunk, own, cols, out, w, dw, full, rest, seen);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    private static Pass pass(Scope own, String name, DeformGeometry g, int images, Tensor cols, Tensor out, Tensor w,
            Tensor dw) {
        long groups = g.groups();
        long batch = groups == 1 ? 0 : groups;
        long kg = g.k() / groups;
        long cgkk = g.c() / groups * g.kh() * g.kw();
        long bp = images * g.outputPixels();
        String at = name + (images == g.n() ? "" : "[" + images + " images]");
        MatMul.Spec fwdSpec;
        MatMul.Spec dWSpec;
        MatMul.Spec dCSpec;
        boolean channelsLast = ChannelsLast.applies(g);
        if (channelsLast) {
            // cols holds the transposed column matrix colsT [b*P x KK*C] and w the weights as [K x KK*C]
            fwdSpec = MatMul.Spec.of(kg, cgkk, bp).transB(); // out = W colsT^T: colsT is the transposed operand
            dWSpec = MatMul.Spec.of(kg, bp, cgkk); // dW = dy colsT
            dCSpec = MatMul.Spec.of(bp, kg, cgkk).transA(); // dcolsT = dy^T W: dy is the transposed operand
        } else {
            // out = W cols, per group: [K/G x C/G*KK] x [C/G*KK x b*P]
            fwdSpec = MatMul.Spec.of(kg, cgkk, bp).batch(batch);
            // dW = dy cols^T: cols is stored C/G*KK x b*P, i.e. the transposed operand
            dWSpec = MatMul.Spec.of(kg, bp, cgkk).batch(batch).transB();
            // dcols = W^T dy: W is stored K/G x C/G*KK, i.e. the transposed operand; written over cols
            dCSpec = MatMul.Spec.of(cgkk, kg, bp).batch(batch).transA();
        }
        MatMul.Forward fwd = MatMul.plain(own, at + ".fwd", fwdSpec);
        ExecArgs fwdArgs = fwd.bind(own, view(own, w, fwd.srcDesc()), view(own, cols, fwd.weightsDesc()), null,
                view(own, out, fwd.dstDesc()));
        MatMul.Forward dW = MatMul.plain(own, at + ".dweights", dWSpec);
        ExecArgs dWArgs = dW.bind(own, view(own, out, dW.srcDesc()), view(own, cols, dW.weightsDesc()), null,
                view(own, dw, dW.dstDesc()));
        MatMul.Forward dC = MatMul.plain(own, at + ".dcols", dCSpec);
        Tensor dCA = channelsLast ? out : w;
        Tensor dCB = channelsLast ? w : out;
        ExecArgs dCArgs = dC.bind(own, view(own, dCA, dC.srcDesc()), view(own, dCB, dC.weightsDesc()), null,
                view(own, cols, dC.dstDesc()));
        return new Pass(images, fwd, fwdArgs, dW, dWArgs, dC, dCArgs);
    }

    private static Tensor view(Scope own, Tensor buffer, MemoryDesc desc) {
        return Tensor.wrap(own, buffer.name() + Arrays.toString(desc.dims()), desc, buffer.segment());
    }

    public DeformGeometry geometry() {
        return geometry;
    }

    /** Images per chunk: the column matrix holds {@code C*KH*KW x imagesPerChunk*H2*W2} floats. */
    public int imagesPerChunk() {
        return chunk;
    }

    /** Bytes of the column matrix this op owns. */
    public long columnBytes() {
        return cols.segment().byteSize();
    }

    /**
     * {@code dst = deform_conv2d(src, offset, weights, bias, mask)}. {@code mask} must be given exactly when
     * the op is {@linkplain Params#modulated modulated}, {@code bias} exactly when it has one. Allocates no
     * native memory.
     */
    public void forward(Stream stream, Tensor src, Tensor offset, Tensor mask, Tensor weights, Tensor bias, Tensor dst) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, offset, mask, weights, bias, dst);
            try {
                checkForward(name, geometry, src, offset, mask, weights, bias, dst);
                copyWeights(weights);
                MemorySegment x = src.segment();
                MemorySegment off = offset.segment();
                MemorySegment m = mask == null ? null : mask.segment();
                MemorySegment b = bias == null ? null : bias.segment();
                colsFromForward = false;
                for (int n0 = 0; n0 < geometry.n(); n0 += chunk) {
                    Pass pass = passFor(n0);
                    im2col(x, off, m, n0, pass.images());
                    pass.fwd().execute(stream, pass.fwdArgs());
                    stream.await();
                    DeformKernels.outputToNchw(geometry, out.segment(), b, dst.segment(), n0, pass.images());
                }
                if (seen != null) {
                    remember(src, offset, mask);
                }
            } finally {
                NativeResource.endUseAll(this, src, offset, mask, weights, bias, dst);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /**
     * Gradients of {@code sum(diffDst * dst)}: every output may be null to skip it ({@code diffMask} must be
     * null for v1, {@code diffBias} without bias). Outputs are overwritten, not accumulated onto. Allocates no
     * native memory.
     */
    public void backward(Stream stream, Tensor src, Tensor offset, Tensor mask, Tensor weights, Tensor diffDst,
            Tensor diffSrc, Tensor diffOffset, Tensor diffMask, Tensor diffWeights, Tensor diffBias) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, offset, mask, weights, diffDst, diffSrc, diffOffset, diffMask, diffWeights, diffBias);
            try {
                checkBackward(name, geometry, src, offset, mask, weights, diffDst, diffSrc, diffOffset, diffMask, diffWeights,
                        diffBias);
                copyWeights(weights);
                MemorySegment x = src.segment();
                MemorySegment off = offset.segment();
                MemorySegment m = mask == null ? null : mask.segment();
                MemorySegment dy = diffDst.segment();
                MemorySegment dx = diffSrc == null ? null : diffSrc.segment();
                MemorySegment doff = diffOffset == null ? null : diffOffset.segment();
                MemorySegment dm = diffMask == null ? null : diffMask.segment();
                MemorySegment dw = diffWeights == null ? null : diffWeights.segment();
                MemorySegment db = diffBias == null ? null : diffBias.segment();
                if (dw != null) {
                    dw.fill((byte) 0);
                }
                if (db != null) {
                    db.fill((byte) 0);
                }
                boolean throughColumns = dx != null || doff != null || dm != null;
                // The dcols GEMM below overwrites the columns, so they are the forward's at most until then.
                boolean reuse = dw != null && colsFromForward && sameAsSeen(src, offset, mask);
                colsFromForward = false;
                for (int n0 = 0; n0 < geometry.n(); n0 += chunk) {
                    Pass pass = passFor(n0);
                    int b = pass.images();
                    DeformKernels.nchwToOutput(geometry, dy, out.segment(), db, n0, b);
                    if (dw != null) {
                        if (!reuse) {
                            im2col(x, off, m, n0, b);
                        }
                        pass.dWeights().execute(stream, pass.dWeightsArgs());
                        stream.await();
                        if (channelsLast) {
                            ChannelsLast.accumulateWeights(dw, dWeightsPart.segment(), (int) geometry.k(),
                                    (int) geometry.c(), geometry.kh() * geometry.kw());
                        } else {
                            DeformKernels.accumulate(dw, dWeightsPart.segment(), geometry.k()
                                    * (geometry.c() / geometry.groups()) * geometry.kh() * geometry.kw());
                        }
                    }
                    if (throughColumns) {
                        pass.dCols().execute(stream, pass.dColsArgs());
                        stream.await();
                        if (channelsLast) {
                            ChannelsLast.backward(geometry, cols.segment(), x, off, m, dx, doff, dm, n0, b);
                        } else if (dx != null && (doff != null || dm != null) && DeformKernels.fusable(geometry, b)) {
                            DeformKernels.backwardFused(geometry, cols.segment(), x, off, m, dx, doff, dm, n0, b);
                        } else {
                            if (dx != null) {
                                DeformKernels.col2im(geometry, cols.segment(), off, m, dx, n0, b);
                            }
                            if (doff != null || dm != null) {
                                DeformKernels.coordinates(geometry, cols.segment(), x, off, m, doff, dm, n0, b);
                            }
                        }
                    }
                }
            } finally {
                NativeResource.endUseAll(this, src, offset, mask, weights, diffDst, diffSrc, diffOffset, diffMask, diffWeights, diffBias);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /** The weights into {@link #weightsCopy}, in the column order of the path in use. */
    private void copyWeights(Tensor weights) {
        if (channelsLast) {
            ChannelsLast.permuteWeights(weights.segment(), weightsCopy.segment(), (int) geometry.k(),
                    (int) geometry.c(), geometry.kh() * geometry.kw());
        } else {
            MemorySegment.copy(weights.segment(), 0, weightsCopy.segment(), 0, weights.segment().byteSize());
        }
    }

    /** The column matrix of images {@code [n0, n0 + b)}, in the layout of the path in use. */
    private void im2col(MemorySegment x, MemorySegment off, MemorySegment m, int n0, int b) {
        if (channelsLast) {
            ChannelsLast.im2col(geometry, x, off, m, cols.segment(), n0, b);
        } else {
            DeformKernels.im2col(geometry, x, off, m, cols.segment(), n0, b);
        }
    }

    /** Keeps bitwise copies of what the forward sampled; from now on {@link #cols} is that forward's. */
    private void remember(Tensor src, Tensor offset, Tensor mask) {
        Tensor[] from = {src, offset, mask};
        for (int i = 0; i < seen.length; i++) {
            if (seen[i] != null) {
                MemorySegment.copy(from[i].segment(), 0, seen[i].segment(), 0, seen[i].segment().byteSize());
            }
        }
        colsFromForward = true;
    }

    /** Whether src, offset and mask are bitwise what the last forward sampled (a memcmp, far cheaper than im2col). */
    private boolean sameAsSeen(Tensor src, Tensor offset, Tensor mask) {
        if (seen == null) {
            return false;
        }
        Tensor[] now = {src, offset, mask};
        for (int i = 0; i < seen.length; i++) {
            if (seen[i] != null) {
                long bytes = seen[i].segment().byteSize();
                if (MemorySegment.mismatch(now[i].segment(), 0, bytes, seen[i].segment(), 0, bytes) != -1) {
                    return false;
                }
            }
        }
        return true;
    }

    private Pass passFor(int n0) {
        return geometry.n() - n0 >= chunk ? full : rest;
    }

    /**
     * One-off forward: validates, builds an op for these shapes, runs it and frees it. For repeated calls
     * create the op once.
     */
    public static void forwardOnce(Stream stream, Params params, Tensor src, Tensor offset, Tensor mask, Tensor weights,
            Tensor bias, Tensor dst) {
        String name = "deform_conv2d";
        DeformGeometry g = DeformGeometry.of(name, src.dims(), params);
        checkForward(name, g, src, offset, mask, weights, bias, dst);
        try (Scope tmp = Scope.open(name + ".once")) {
            create(tmp, name, src.dims(), params).forward(stream, src, offset, mask, weights, bias, dst);
        }
    }

    /** One-off backward (see {@link #backward}); validates before building anything. */
    public static void backwardOnce(Stream stream, Params params, Tensor src, Tensor offset, Tensor mask, Tensor weights,
            Tensor diffDst, Tensor diffSrc, Tensor diffOffset, Tensor diffMask, Tensor diffWeights, Tensor diffBias) {
        String name = "deform_conv2d";
        DeformGeometry g = DeformGeometry.of(name, src.dims(), params);
        checkBackward(name, g, src, offset, mask, weights, diffDst, diffSrc, diffOffset, diffMask, diffWeights, diffBias);
        try (Scope tmp = Scope.open(name + ".once")) {
            create(tmp, name, src.dims(), params).backward(stream, src, offset, mask, weights, diffDst, diffSrc,
                    diffOffset, diffMask, diffWeights, diffBias);
        }
    }

    private static void checkInputs(String name, DeformGeometry g, Tensor src, Tensor offset, Tensor mask,
            Tensor weights) {
        require(name, "src", src, g.src(), "N x C x H1 x W1");
        require(name, "offset", offset, g.offset(), g.offsetFormula());
        if (g.modulated()) {
            if (mask == null) {
                throw new IllegalArgumentException(name + ": modulated (v2) deformable convolution needs a mask "
                        + Arrays.toString(g.mask()) + " (" + g.maskFormula() + ")");
            }
            require(name, "mask", mask, g.mask(), g.maskFormula());
        } else if (mask != null) {
            throw new IllegalArgumentException(name + ": got a mask " + Arrays.toString(mask.dims())
                    + " but this deformable convolution is v1 (not modulated)");
        }
        require(name, "weights", weights, g.weights(), "K x C/G x KH x KW = " + g.k() + " x " + g.c() + "/"
                + g.groups() + " x " + g.kh() + " x " + g.kw());
    }

    static void checkForward(String name, DeformGeometry g, Tensor src, Tensor offset, Tensor mask, Tensor weights,
            Tensor bias, Tensor dst) {
        checkInputs(name, g, src, offset, mask, weights);
        checkBias(name, g, bias, "bias");
        require(name, "dst", dst, g.dst(), "N x K x H2 x W2");
    }

    static void checkBackward(String name, DeformGeometry g, Tensor src, Tensor offset, Tensor mask, Tensor weights,
            Tensor diffDst, Tensor diffSrc, Tensor diffOffset, Tensor diffMask, Tensor diffWeights, Tensor diffBias) {
        checkInputs(name, g, src, offset, mask, weights);
        require(name, "diffDst", diffDst, g.dst(), "N x K x H2 x W2");
        if (diffSrc != null) require(name, "diffSrc", diffSrc, g.src(), "like src");
        if (diffOffset != null) require(name, "diffOffset", diffOffset, g.offset(), g.offsetFormula());
        if (diffMask != null) {
            if (!g.modulated()) {
                throw new IllegalArgumentException(name + ": got diffMask " + Arrays.toString(diffMask.dims())
                        + " but this deformable convolution is v1 (no mask)");
            }
            require(name, "diffMask", diffMask, g.mask(), g.maskFormula());
        }
        if (diffWeights != null) require(name, "diffWeights", diffWeights, g.weights(), "like weights");
        if (diffBias != null) checkBias(name, g, diffBias, "diffBias");
    }

    private static void checkBias(String name, DeformGeometry g, Tensor bias, String what) {
        if (g.bias()) {
            if (bias == null && what.equals("bias")) {
                throw new IllegalArgumentException(name + ": bias [" + g.k() + "] missing (the op was built with bias)");
            }
            if (bias != null) require(name, what, bias, g.biasDims(), "K");
        } else if (bias != null) {
            throw new IllegalArgumentException(name + ": got " + what + " " + Arrays.toString(bias.dims())
                    + " but the op was built with bias=false");
        }
    }

    private static void require(String name, String what, Tensor t, long[] want, String formula) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": " + what + " " + Arrays.toString(want) + " (" + formula
                    + ") missing");
        }
        long[] got = t.dims();
        if (!Arrays.equals(got, want)) {
            throw new IllegalArgumentException(name + ": expected " + what + " " + Arrays.toString(want) + " ("
                    + formula + "), got " + Arrays.toString(got));
        }
        if (!DenseLayout.isPlainF32(t.desc())) {
            throw new IllegalArgumentException(name + ": " + what + " must be plain row-major f32 (the Java kernels "
                    + "index it directly), got " + t.desc().shapeString() + "; reorder it first");
        }
    }

    @Override
    public String describe() {
        return "DeformConv2d " + name + " " + Arrays.toString(geometry.src()) + " -> " + Arrays.toString(geometry.dst())
                + " (" + (geometry.modulated() ? "v2" : "v1") + ", " + chunk + " image(s) per chunk)";
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
