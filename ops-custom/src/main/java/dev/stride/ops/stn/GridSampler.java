package dev.stride.ops.stn;

import dev.stride.core.Dnnl;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Bilinear sampling of an image at arbitrary points, the sampler of the spatial transformer (PyTorch's
 * {@code torch.nn.functional.grid_sample} with {@code mode='bilinear'}, 2D), forward and backward for the
 * input and for the grid. Created once for its shapes; owns its workspaces, so {@link #forward} and
 * {@link #backward} allocate no native memory.
 *
 * <p>For output pixel {@code (h, w)} of image {@code n}, the grid gives a point {@code (x, y)} in normalized
 * coordinates, mapped to pixels by {@code ix = (x + 1)/2 * (W-1)} with {@code align_corners}, otherwise
 * {@code ix = ((x + 1) * W - 1)/2} (and {@code iy} likewise with {@code H}); with border padding the point
 * is first clamped to {@code [0, W-1] x [0, H-1]}. Then, with {@code x0 = floor(ix)}, {@code tx = ix - x0}
 * (and {@code y0}, {@code ty}):
 * <pre>
 * dst[n, c, h, w] = (1-tx)(1-ty) src[n, c, y0, x0]   + tx(1-ty) src[n, c, y0, x0+1]
 *                 + (1-tx) ty    src[n, c, y0+1, x0] + tx ty    src[n, c, y0+1, x0+1]
 * </pre>
 * where a tap outside the image reads 0 ({@link SamplerOptions.Padding#ZEROS}; border padding never reads
 * outside). Backward: {@code diffSrc} receives each {@code diffDst} value scattered through the same four
 * weights; {@code diffGrid[n, h, w, 0] = sum_c diffDst[n, c, h, w] * d(dst)/d(ix) * d(ix)/d(x)}, where
 * {@code d(ix)/d(x)} is {@code (W-1)/2} or {@code W/2}, and 0 where the border clamp is active (PyTorch's
 * convention, which counts the border itself as clamped). Bilinear interpolation is not differentiable in
 * the grid where a point lies on a pixel row or column; there the one-sided derivative from above is used.
 *
 * <p><b>Shape</b>: src {@code N x C x H x W}; grid {@code N x H2 x W2 x 2} (last dim {@code (x, y)});
 * dst {@code N x C x H2 x W2}; all f32 in the plain row-major layout, because the kernels gather and
 * scatter single pixels by row-major index (blocked layouts would need a reorder before and after).
 *
 * <p><b>Threads</b>: the kernels run on {@link Parallel} over (image, channel block) pairs. The scatter of
 * {@code diffSrc} writes only the channels of its own block, so no two threads ever write the same element;
 * each block's share of {@code diffGrid} goes to its own slice of a workspace and the slices are summed
 * afterwards (for large batches a block is all channels and the sum is skipped).
 */
public final class GridSampler extends NativeResource {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    /** Words per sample point in the record workspace: 4 tap offsets, 4 weights, 4 d/dx, 4 d/dy. */
    static final int RECORD = 16;

    private final String name;
    private final int n;
    private final int c;
    private final int h;
    private final int w;
    private final int h2;
    private final int w2;
    private final SamplerOptions options;
    /** Channels per task and number of channel blocks: chosen once so that there are enough tasks. */
    private final int channelBlock;
    private final int blocks;
    private final Scope own;
    private final Tensor records;
    private final Tensor partial;

    private GridSampler(Scope scope, String name, int n, int c, int h, int w, int h2, int w2, SamplerOptions options) {
        super(scope);
        this.name = name;
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.h2 = h2;
        this.w2 = w2;
        this.options = options;
        // At least 4 tasks per thread for load balance; a block is all channels when the batch gives enough.
        int threads = Math.max(1, Dnnl.threads());
        int wantBlocks = Math.min(c, Math.max(1, (4 * threads + n - 1) / n));
        this.channelBlock = (c + wantBlocks - 1) / wantBlocks;
        this.blocks = (c + channelBlock - 1) / channelBlock;
        this.own = scope.child(name);
        try {
            long points = (long) n * h2 * w2;
            // One record per sample point (a 64-byte cache line), shared by all channels of the image.
            this.records = Tensor.zeros(own, name + ".records", points, RECORD);
            this.partial = blocks > 1 ? Tensor.zeros(own, name + ".diffGridPartial", n, blocks, (long) h2 * w2, 2) : null;
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
        register();
    }

    /**
     * Creates a sampler of {@code N x C x H x W} inputs at {@code N x H2 x W2} points.
     *
     * @param options padding and {@code align_corners} ({@link SamplerOptions#DEFAULT} = PyTorch's defaults)
     */
    public static GridSampler create(Scope scope, String name, long n, long c, long h, long w, long h2, long w2,
            SamplerOptions options) {
        StnChecks.requireSizes(name, n, c, h, w, h2, w2);
        if (options == null) {
            throw new IllegalArgumentException(name + ": options must not be null (SamplerOptions.DEFAULT)");
        }
        return new GridSampler(scope, name, (int) n, (int) c, (int) h, (int) w, (int) h2, (int) w2, options);
    }

    /**
     * One-off {@code grid_sample}: creates a sampler for these shapes, runs it and frees it (allocates its
     * workspace every call; create a {@link GridSampler} once to sample repeatedly). Everything is checked
     * before anything is allocated.
     */
    public static void sample(Tensor src, Tensor grid, Tensor dst, SamplerOptions options) {
        String where = "grid_sample";
        long[] s = oneOffShapes(where, src, grid);
        checkForward(where, srcOf(s), dstOf(s), src, grid, dst);
        try (Scope tmp = Scope.open(where)) {
            create(tmp, where, s[0], s[1], s[2], s[3], s[4], s[5], options).forward(src, grid, dst);
        }
    }

    /** One-off backward of {@link #sample}; {@code diffSrc} or {@code diffGrid} may be null (not wanted). */
    public static void sampleBackward(Tensor src, Tensor grid, Tensor diffDst, Tensor diffSrc, Tensor diffGrid,
            SamplerOptions options) {
        String where = "grid_sample backward";
        long[] s = oneOffShapes(where, src, grid);
        checkBackward(where, srcOf(s), dstOf(s), src, grid, diffDst, diffSrc, diffGrid);
        try (Scope tmp = Scope.open(where)) {
            create(tmp, where, s[0], s[1], s[2], s[3], s[4], s[5], options).backward(src, grid, diffDst, diffSrc, diffGrid);
        }
    }

    /** {@code N, C, H, W, H2, W2} from src and grid, validated as sizes. */
    private static long[] oneOffShapes(String where, Tensor src, Tensor grid) {
        StnChecks.requireRank(where, "src", src, "N, C, H, W", 4);
        StnChecks.requireRank(where, "grid", grid, "N, H2, W2, 2", 4);
        long[] s = src.dims();
        long[] g = grid.dims();
        StnChecks.requireSizes(where, s[0], s[1], s[2], s[3], g[1], g[2]);
        return new long[] {s[0], s[1], s[2], s[3], g[1], g[2]};
    }

    private static long[] srcOf(long[] s) {
        return new long[] {s[0], s[1], s[2], s[3]};
    }

    private static long[] dstOf(long[] s) {
        return new long[] {s[0], s[1], s[4], s[5]};
    }

    /** {@code [N, C, H, W]} */
    public long[] srcDims() {
        return new long[] {n, c, h, w};
    }

    /** {@code [N, H2, W2, 2]} */
    public long[] gridDims() {
        return AffineGrid.gridDims(n, h2, w2);
    }

    /** {@code [N, C, H2, W2]} */
    public long[] dstDims() {
        return new long[] {n, c, h2, w2};
    }

    public SamplerOptions options() {
        return options;
    }

    /** Samples {@code src} at the points of {@code grid} into {@code dst} (overwritten). */
    public void forward(Tensor src, Tensor grid, Tensor dst) {
        ensureOpen();
        checkForward(name, srcDims(), dstDims(), src, grid, dst);
        computeRecords(grid.segment(), false);
        gather(src.segment(), dst.segment());
    }

    /**
     * Gradients of {@link #forward} for {@code src} and for the grid, both overwritten (not accumulated).
     * Either output may be null when it is not wanted (an STN over raw images needs no {@code diffSrc});
     * the records are recomputed from {@code grid}, so a forward call need not precede this one.
     */
    public void backward(Tensor src, Tensor grid, Tensor diffDst, Tensor diffSrc, Tensor diffGrid) {
        ensureOpen();
        checkBackward(name, srcDims(), dstDims(), src, grid, diffDst, diffSrc, diffGrid);
        computeRecords(grid.segment(), diffGrid != null);
        scatter(src.segment(), diffDst.segment(), diffSrc == null ? null : diffSrc.segment(),
                diffGrid == null ? null : diffGrid.segment());
        if (diffGrid != null && partial != null) {
            sumPartials(diffGrid.segment());
        }
    }

    private static void checkInputs(String name, long[] srcDims, long[] dstDims, Tensor src, Tensor grid) {
        StnChecks.require(name, "src", src, "N, C, H, W", srcDims, "");
        StnChecks.require(name, "grid", grid, "N, H2, W2, 2", AffineGrid.gridDims(dstDims[0], dstDims[2], dstDims[3]),
                " (N from src " + Arrays.toString(src.dims()) + ")");
    }

    static void checkForward(String name, long[] srcDims, long[] dstDims, Tensor src, Tensor grid, Tensor dst) {
        checkInputs(name, srcDims, dstDims, src, grid);
        StnChecks.require(name, "dst", dst, "N, C, H2, W2", dstDims, "");
        StnChecks.requireDisjoint(name, "dst", dst, "src", src);
        StnChecks.requireDisjoint(name, "dst", dst, "grid", grid);
    }

    static void checkBackward(String name, long[] srcDims, long[] dstDims, Tensor src, Tensor grid, Tensor diffDst,
            Tensor diffSrc, Tensor diffGrid) {
        checkInputs(name, srcDims, dstDims, src, grid);
        StnChecks.require(name, "diffDst", diffDst, "N, C, H2, W2", dstDims, "");
        if (diffSrc == null && diffGrid == null) {
            throw new IllegalArgumentException(name + ": backward with neither diffSrc nor diffGrid has nothing to compute");
        }
        if (diffSrc != null) {
            StnChecks.require(name, "diffSrc", diffSrc, "N, C, H, W", srcDims, "");
        }
        if (diffGrid != null) {
            StnChecks.require(name, "diffGrid", diffGrid, "N, H2, W2, 2",
                    AffineGrid.gridDims(dstDims[0], dstDims[2], dstDims[3]), "");
        }
        Tensor[] ins = {src, grid, diffDst};
        String[] inNames = {"src", "grid", "diffDst"};
        for (int i = 0; i < ins.length; i++) {
            StnChecks.requireDisjoint(name, "diffSrc", diffSrc, inNames[i], ins[i]);
            StnChecks.requireDisjoint(name, "diffGrid", diffGrid, inNames[i], ins[i]);
        }
        StnChecks.requireDisjoint(name, "diffSrc", diffSrc, "diffGrid", diffGrid);
    }

    /**
     * Per sample point: the four taps' offsets in an image plane and their weights (0 and offset 0 for a tap
     * outside the image, so the channel loops need no branches), and, for the backward, the weights'
     * derivatives in the normalized grid coordinates (chain rule through unnormalization and clamp included).
     */
    private void computeRecords(MemorySegment grid, boolean derivatives) {
        final MemorySegment rec = records.segment();
        final int width = w;
        final int height = h;
        final int outW = w2;
        final boolean align = options.alignCorners();
        final boolean border = options.padding() == SamplerOptions.Padding.BORDER;
        // PyTorch's f32 unnormalization: ix = (x + 1) * s (- 0.5 without align_corners), s = d(ix)/d(x).
        final float sx = align ? (width - 1) / 2f : width / 2f;
        final float sy = align ? (height - 1) / 2f : height / 2f;
        final float shift = align ? 0f : 0.5f;
        Parallel.forRange(n * h2, Math.max(1, 512 / outW), row -> {
            long p = (long) row * outW;
            for (int j = 0; j < outW; j++, p++) {
                float ix = (grid.getAtIndex(F, 2 * p) + 1f) * sx - shift;
                float iy = (grid.getAtIndex(F, 2 * p + 1) + 1f) * sy - shift;
                float mx = sx;
                float my = sy;
                if (border) {
                    // The clamp's derivative is 0 on the border itself as well (PyTorch's convention).
                    if (ix <= 0f) {
                        ix = 0f;
                        mx = 0f;
                    } else if (ix >= width - 1) {
                        ix = width - 1;
                        mx = 0f;
                    }
                    if (iy <= 0f) {
                        iy = 0f;
                        my = 0f;
                    } else if (iy >= height - 1) {
                        iy = height - 1;
                        my = 0f;
                    }
                }
                float fx = (float) Math.floor(ix);
                float fy = (float) Math.floor(iy);
                float tx = ix - fx;
                float ty = iy - fy;
                // Range tests on the float coordinate first: a far-away (or NaN) point never becomes an index.
                boolean x0In = fx >= 0f && fx < width;
                boolean x1In = fx >= -1f && fx < width - 1;
                boolean y0In = fy >= 0f && fy < height;
                boolean y1In = fy >= -1f && fy < height - 1;
                int x0 = x0In || x1In ? (int) fx : 0;
                int y0 = y0In || y1In ? (int) fy : 0;
                int at = y0 * width + x0;
                boolean nw = x0In && y0In;
                boolean ne = x1In && y0In;
                boolean sw = x0In && y1In;
                boolean se = x1In && y1In;
                float ex = 1f - tx;
                float sy1 = 1f - ty;
                long r = p * RECORD;
                rec.setAtIndex(I, r, nw ? at : 0);
                rec.setAtIndex(I, r + 1, ne ? at + 1 : 0);
                rec.setAtIndex(I, r + 2, sw ? at + width : 0);
                rec.setAtIndex(I, r + 3, se ? at + width + 1 : 0);
                rec.setAtIndex(F, r + 4, nw ? sy1 * ex : 0f);
                rec.setAtIndex(F, r + 5, ne ? sy1 * tx : 0f);
                rec.setAtIndex(F, r + 6, sw ? ty * ex : 0f);
                rec.setAtIndex(F, r + 7, se ? ty * tx : 0f);
                if (derivatives) {
                    rec.setAtIndex(F, r + 8, nw ? -sy1 * mx : 0f);
                    rec.setAtIndex(F, r + 9, ne ? sy1 * mx : 0f);
                    rec.setAtIndex(F, r + 10, sw ? -ty * mx : 0f);
                    rec.setAtIndex(F, r + 11, se ? ty * mx : 0f);
                    rec.setAtIndex(F, r + 12, nw ? -ex * my : 0f);
                    rec.setAtIndex(F, r + 13, ne ? -tx * my : 0f);
                    rec.setAtIndex(F, r + 14, sw ? ex * my : 0f);
                    rec.setAtIndex(F, r + 15, se ? tx * my : 0f);
                }
            }
        });
    }

    private void gather(MemorySegment src, MemorySegment dst) {
        final MemorySegment rec = records.segment();
        final int plane = h * w;
        final int points = h2 * w2;
        final int cb = channelBlock;
        final int nb = blocks;
        final int channels = c;
        Parallel.forRange(n * nb, 1, task -> {
            int b = task / nb;
            int cFrom = (task - b * nb) * cb;
            int cTo = Math.min(channels, cFrom + cb);
            long r0 = (long) b * points * RECORD;
            for (int ch = cFrom; ch < cTo; ch++) {
                long in = ((long) b * channels + ch) * plane;
                long out = ((long) b * channels + ch) * points;
                long r = r0;
                for (int p = 0; p < points; p++, r += RECORD) {
                    float v = rec.getAtIndex(F, r + 4) * src.getAtIndex(F, in + rec.getAtIndex(I, r))
                            + rec.getAtIndex(F, r + 5) * src.getAtIndex(F, in + rec.getAtIndex(I, r + 1))
                            + rec.getAtIndex(F, r + 6) * src.getAtIndex(F, in + rec.getAtIndex(I, r + 2))
                            + rec.getAtIndex(F, r + 7) * src.getAtIndex(F, in + rec.getAtIndex(I, r + 3));
                    dst.setAtIndex(F, out + p, v);
                }
            }
        });
    }

    /**
     * One pass per (image, channel block): zeroes and scatters into the block's own planes of
     * {@code diffSrc}, and sums the block's share of the grid gradient into its own accumulator (diffGrid's
     * slice of the image itself when a block is all channels, else a workspace slice summed later).
     */
    private void scatter(MemorySegment src, MemorySegment diffDst, MemorySegment diffSrc, MemorySegment diffGrid) {
        final MemorySegment rec = records.segment();
        final MemorySegment acc = diffGrid == null ? null : partial != null ? partial.segment() : diffGrid;
        final int plane = h * w;
        final int points = h2 * w2;
        final int cb = channelBlock;
        final int nb = blocks;
        final int channels = c;
        Parallel.forRange(n * nb, 1, task -> {
            int b = task / nb;
            int cFrom = (task - b * nb) * cb;
            int cTo = Math.min(channels, cFrom + cb);
            long r0 = (long) b * points * RECORD;
            long a = 2L * task * points;
            if (acc != null) {
                for (long i = a; i < a + 2L * points; i++) {
                    acc.setAtIndex(F, i, 0f);
                }
            }
            for (int ch = cFrom; ch < cTo; ch++) {
                long in = ((long) b * channels + ch) * plane;
                long out = ((long) b * channels + ch) * points;
                if (diffSrc != null) {
                    for (long i = in; i < in + plane; i++) {
                        diffSrc.setAtIndex(F, i, 0f);
                    }
                }
                long r = r0;
                for (int p = 0; p < points; p++, r += RECORD) {
                    float g = diffDst.getAtIndex(F, out + p);
                    long i0 = in + rec.getAtIndex(I, r);
                    long i1 = in + rec.getAtIndex(I, r + 1);
                    long i2 = in + rec.getAtIndex(I, r + 2);
                    long i3 = in + rec.getAtIndex(I, r + 3);
                    if (diffSrc != null) {
                        // Taps outside the image carry weight 0 at offset 0: adding 0 there is harmless.
                        diffSrc.setAtIndex(F, i0, diffSrc.getAtIndex(F, i0) + rec.getAtIndex(F, r + 4) * g);
                        diffSrc.setAtIndex(F, i1, diffSrc.getAtIndex(F, i1) + rec.getAtIndex(F, r + 5) * g);
                        diffSrc.setAtIndex(F, i2, diffSrc.getAtIndex(F, i2) + rec.getAtIndex(F, r + 6) * g);
                        diffSrc.setAtIndex(F, i3, diffSrc.getAtIndex(F, i3) + rec.getAtIndex(F, r + 7) * g);
                    }
                    if (acc != null) {
                        float v0 = src.getAtIndex(F, i0);
                        float v1 = src.getAtIndex(F, i1);
                        float v2 = src.getAtIndex(F, i2);
                        float v3 = src.getAtIndex(F, i3);
                        float gx = rec.getAtIndex(F, r + 8) * v0 + rec.getAtIndex(F, r + 9) * v1
                                + rec.getAtIndex(F, r + 10) * v2 + rec.getAtIndex(F, r + 11) * v3;
                        float gy = rec.getAtIndex(F, r + 12) * v0 + rec.getAtIndex(F, r + 13) * v1
                                + rec.getAtIndex(F, r + 14) * v2 + rec.getAtIndex(F, r + 15) * v3;
                        long q = a + 2L * p;
                        acc.setAtIndex(F, q, acc.getAtIndex(F, q) + g * gx);
                        acc.setAtIndex(F, q + 1, acc.getAtIndex(F, q + 1) + g * gy);
                    }
                }
            }
        });
    }

    /** {@code diffGrid[n] = sum over channel blocks of the block accumulators}, in block order (deterministic). */
    private void sumPartials(MemorySegment diffGrid) {
        final MemorySegment acc = partial.segment();
        final int len = 2 * h2 * w2;
        final int nb = blocks;
        Parallel.forRange(n, 1, b -> {
            long o = (long) b * len;
            long a0 = (long) b * nb * len;
            for (int i = 0; i < len; i++) {
                float s = 0f;
                for (int k = 0; k < nb; k++) {
                    s += acc.getAtIndex(F, a0 + (long) k * len + i);
                }
                diffGrid.setAtIndex(F, o + i, s);
            }
        });
    }

    @Override
    public String describe() {
        String opts = options.toString();
        return "GridSampler '" + name + "' " + Arrays.toString(srcDims()) + " -> " + Arrays.toString(dstDims())
                + " bilinear" + (opts.isEmpty() ? "" : ", " + opts);
    }

    /** 0: the workspaces are tensors in this sampler's own child scope and count there. */
    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        own.close();
    }

    @Override
    public String toString() {
        return describe();
    }
}
