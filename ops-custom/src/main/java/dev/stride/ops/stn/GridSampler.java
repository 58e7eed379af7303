package dev.stride.ops.stn;

import dev.stride.core.Dnnl;
import dev.stride.core.Confinement;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.ops.FloatLoops;
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
 * <p><b>How</b>: a task copies its channels' planes to Java arrays (bulk copies), computes the four taps and
 * weights of each output point once and applies them to all its channels (channels innermost), and copies
 * its result planes out in bulk; the backward sums the grid gradient of a point over the channels in
 * registers. So the inner loops touch only the Java heap, and no per-point table goes through memory. When the
 * JVM has the Vector API (8 floats or more per vector), the heap copies are transposed to channels-last
 * ({@code pixel x channel}, 8x8 register tiles), so that the four taps of a point are four runs of consecutive
 * channels, and the channel loops run a vector of channels per instruction ({@link FloatLoops}): the forward
 * about 1.8x and the backward about 2x faster than one plane per channel, which stays as the kernels without
 * the module. (One plane per channel would make 8 neighbouring points' taps a gather, and this machine's gathers
 * are slower than scalar loads: 2.0 against 1.7 ms for the benchmark batch's blend on one thread.)
 *
 * <p><b>Threads</b>: the kernels run on {@link Parallel} over (image, channel block) pairs. The scatter of
 * {@code diffSrc} writes only the channels of its own block, so no two threads ever write the same element;
 * each block's share of {@code diffGrid} goes to its own slice of a workspace and the slices are summed
 * afterwards (for large batches a block is all channels and the sum is skipped). A block's planes also
 * stay under 4 MiB per heap copy, which splits very large images into more blocks.
 *
 * <p>Not thread-safe; confined to one thread at a time: a second thread that calls {@code forward} or
 * {@code backward} while another is inside gets an {@link IllegalStateException} naming both threads (its
 * workspaces hold one call's intermediates); give each thread its own. While a call runs, its tensors and the op
 * are marked in use, so closing them from another thread is refused instead of freeing memory under it.
 */
public final class GridSampler extends NativeResource {

    /** One call at a time: the op's workspaces hold one call's intermediate results. */
    private final Confinement confinement = new Confinement();

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Most floats of one heap copy (the src, dst or diffSrc planes of a task): 4 MiB. */
    private static final long HEAP_BLOCK_FLOATS = 1L << 20;
    /**
     * Channels-last pays when the channel loops and transposes run on the Vector API with 8 floats or more per
     * vector; as plain loops the transposes cost what the contiguous channels save.
     */
    private static final boolean CHANNELS_LAST_USABLE = FloatLoops.VECTOR_LANES >= 8;

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
    /** The kernels run channels-last on the Vector API, else one plane per channel. */
    private final boolean channelsLast;
    private final Scope own;
    private final Tensor partial;

    private GridSampler(Scope scope, String name, int n, int c, int h, int w, int h2, int w2, SamplerOptions options,
            boolean channelsLast) {
        super(scope);
        this.channelsLast = channelsLast;
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
        // A task copies its planes to Java arrays: keep a block's planes under HEAP_BLOCK_FLOATS each.
        int heapCap = (int) Math.max(1, HEAP_BLOCK_FLOATS / Math.max((long) h * w, (long) h2 * w2));
        this.channelBlock = Math.min((c + wantBlocks - 1) / wantBlocks, heapCap);
        this.blocks = (c + channelBlock - 1) / channelBlock;
        this.own = scope.child(name);
        try {
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
        return create(scope, name, n, c, h, w, h2, w2, options, CHANNELS_LAST_USABLE);
    }

    /** As above, choosing the kernels (when the Vector API is there): the tests run both on the same inputs. */
    static GridSampler create(Scope scope, String name, long n, long c, long h, long w, long h2, long w2,
            SamplerOptions options, boolean channelsLast) {
        StnChecks.requireSizes(name, n, c, h, w, h2, w2);
        if (options == null) {
            throw new IllegalArgumentException(name + ": options must not be null (SamplerOptions.DEFAULT)");
        }
        return new GridSampler(scope, name, (int) n, (int) c, (int) h, (int) w, (int) h2, (int) w2, options,
                channelsLast && CHANNELS_LAST_USABLE);
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
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, grid, dst);
            try {
                checkForward(name, srcDims(), dstDims(), src, grid, dst);
                gather(grid.segment(), src.segment(), dst.segment());
            } finally {
                NativeResource.endUseAll(this, src, grid, dst);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /**
     * Gradients of {@link #forward} for {@code src} and for the grid, both overwritten (not accumulated).
     * Either output may be null when it is not wanted (an STN over raw images needs no {@code diffSrc});
     * the taps are recomputed from {@code grid}, so a forward call need not precede this one.
     */
    public void backward(Tensor src, Tensor grid, Tensor diffDst, Tensor diffSrc, Tensor diffGrid) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, grid, diffDst, diffSrc, diffGrid);
            try {
                checkBackward(name, srcDims(), dstDims(), src, grid, diffDst, diffSrc, diffGrid);
                scatter(grid.segment(), src.segment(), diffDst.segment(), diffSrc == null ? null : diffSrc.segment(),
                        diffGrid == null ? null : diffGrid.segment());
                if (diffGrid != null && partial != null) {
                    sumPartials(diffGrid.segment());
                }
            } finally {
                NativeResource.endUseAll(this, src, grid, diffDst, diffSrc, diffGrid);
            }
        } finally {
            confinement.exit(entered);
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
     * Per-thread heap scratch (it never leaves the JVM, so it is not a native allocation of the op): the taps
     * of one output row, and the task's planes, copied in and out in bulk so that the inner loops index
     * plain Java arrays instead of bounds- and liveness-checked off-heap memory.
     */
    private static final class Scratch {
        /** Per point of a row, 4 words each: the taps' offsets in a plane (0 for a tap outside the image). */
        int[] at = new int[0];
        /** Per point, 4 words: the bilinear weights (0 outside), and their derivatives in grid x and grid y. */
        float[] wt = new float[0], wx = wt, wy = wt;
        /** One point's {@code s_k = sum_c diffDst[c] * src[c, tap k]}, channels-last. */
        final float[] sums = new float[4];
        /** The grid's {@code (x, y)} of one output row. */
        float[] xy = wt;
        /** The task's src planes, its dst (forward) or diffDst (backward) planes, its diffSrc planes. */
        float[] x = wt, y = wt, dx = wt;

        /** Planes in their own layout, between the segment and a channels-last transpose. */
        private float[] planes = wt;

        float[] planes(int floats) {
            if (planes.length < floats) {
                planes = new float[floats];
            }
            return planes;
        }

        Scratch ensure(int rowPoints, int xFloats, int yFloats, int dxFloats) {
            if (at.length < 4 * rowPoints) {
                at = new int[4 * rowPoints];
                wt = new float[4 * rowPoints];
                wx = new float[4 * rowPoints];
                wy = new float[4 * rowPoints];
                xy = new float[2 * rowPoints];
            }
            if (x.length < xFloats) {
                x = new float[xFloats];
            }
            if (y.length < yFloats) {
                y = new float[yFloats];
            }
            if (dx.length < dxFloats) {
                dx = new float[dxFloats];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * The taps of the {@code w2} points of one output row, starting at point {@code p0} of the grid (points
     * counted over all images): per point the four taps' offsets in an image plane and their weights (0 and
     * offset 0 for a tap outside the image, so the channel loops need no branches), and with
     * {@code derivatives} the weights' derivatives in the normalized grid coordinates (chain rule through
     * unnormalization and clamp included). Computed once per row and reused by every channel.
     */
    private void taps(MemorySegment grid, long p0, boolean derivatives, Scratch t) {
        final int width = w;
        final int height = h;
        final boolean align = options.alignCorners();
        final boolean border = options.padding() == SamplerOptions.Padding.BORDER;
        // PyTorch's f32 unnormalization: ix = (x + 1) * s (- 0.5 without align_corners), s = d(ix)/d(x).
        final float sx = align ? (width - 1) / 2f : width / 2f;
        final float sy = align ? (height - 1) / 2f : height / 2f;
        final float shift = align ? 0f : 0.5f;
        final int[] at = t.at;
        final float[] wt = t.wt, wx = t.wx, wy = t.wy;
        final float[] xy = t.xy;
        MemorySegment.copy(grid, F, 2 * p0 * Float.BYTES, xy, 0, 2 * w2); // the row's points in one bulk copy
        for (int j = 0, k = 0; j < w2; j++, k += 4) {
            float ix = (xy[2 * j] + 1f) * sx - shift;
            float iy = (xy[2 * j + 1] + 1f) * sy - shift;
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
            int a = y0 * width + x0;
            boolean nw = x0In && y0In;
            boolean ne = x1In && y0In;
            boolean sw = x0In && y1In;
            boolean se = x1In && y1In;
            float ex = 1f - tx;
            float ey = 1f - ty;
            at[k] = nw ? a : 0;
            at[k + 1] = ne ? a + 1 : 0;
            at[k + 2] = sw ? a + width : 0;
            at[k + 3] = se ? a + width + 1 : 0;
            wt[k] = nw ? ey * ex : 0f;
            wt[k + 1] = ne ? ey * tx : 0f;
            wt[k + 2] = sw ? ty * ex : 0f;
            wt[k + 3] = se ? ty * tx : 0f;
            if (derivatives) {
                wx[k] = nw ? -ey * mx : 0f;
                wx[k + 1] = ne ? ey * mx : 0f;
                wx[k + 2] = sw ? -ty * mx : 0f;
                wx[k + 3] = se ? ty * mx : 0f;
                wy[k] = nw ? -ex * my : 0f;
                wy[k + 1] = ne ? -tx * my : 0f;
                wy[k + 2] = sw ? ex * my : 0f;
                wy[k + 3] = se ? tx * my : 0f;
            }
        }
    }

    /**
     * One task per (image, channel block): the block's src planes are copied to the heap, then for every
     * output point the four taps and weights are computed once and applied to every channel of the block
     * (channels innermost), and the block's dst planes are copied out in one piece.
     */
    private void gather(MemorySegment grid, MemorySegment src, MemorySegment dst) {
        final int plane = h * w;
        final int points = h2 * w2;
        final int cb = channelBlock;
        final int nb = blocks;
        final int channels = c;
        final int outW = w2;
        Parallel.forRange(n * nb, 1, task -> {
            int b = task / nb;
            int cFrom = (task - b * nb) * cb;
            int nc = Math.min(channels, cFrom + cb) - cFrom;
            Scratch t = SCRATCH.get().ensure(outW, nc * plane, nc * points, 0);
            int[] at = t.at;
            float[] wt = t.wt, x = t.x, y = t.y;
            long first = (long) b * channels + cFrom;
            if (channelsLast) { // planes -> pixels x channels (heap) -> planes
                float[] planes = t.planes(Math.max(nc * plane, nc * points));
                MemorySegment.copy(src, F, first * plane * Float.BYTES, planes, 0, nc * plane);
                FloatLoops.transpose(planes, 0, nc, plane, x, 0);
                for (int row = 0, p = 0; row < h2; row++, p += outW) {
                    taps(grid, (long) b * points + p, false, t);
                    for (int k = 0, yo = p * nc; k < 4 * outW; k += 4, yo += nc) {
                        FloatLoops.blend4(x, at[k] * nc, at[k + 1] * nc, at[k + 2] * nc, at[k + 3] * nc, wt[k],
                                wt[k + 1], wt[k + 2], wt[k + 3], y, yo, nc);
                    }
                }
                FloatLoops.transpose(y, 0, points, nc, planes, 0);
                MemorySegment.copy(planes, 0, dst, F, first * points * Float.BYTES, nc * points);
                return;
            }
            MemorySegment.copy(src, F, first * plane * Float.BYTES, x, 0, nc * plane);
            for (int row = 0, p = 0; row < h2; row++) {
                taps(grid, (long) b * points + p, false, t);
                for (int k = 0; k < 4 * outW; k += 4, p++) {
                    int a0 = at[k], a1 = at[k + 1], a2 = at[k + 2], a3 = at[k + 3];
                    float v0 = wt[k], v1 = wt[k + 1], v2 = wt[k + 2], v3 = wt[k + 3];
                    for (int ch = 0; ch < nc; ch++) {
                        int i = ch * plane;
                        y[ch * points + p] = v0 * x[i + a0] + v1 * x[i + a1] + v2 * x[i + a2] + v3 * x[i + a3];
                    }
                }
            }
            MemorySegment.copy(y, 0, dst, F, first * points * Float.BYTES, nc * points);
        });
    }

    /**
     * One task per (image, channel block), channels innermost as in {@link #gather}: per output point the
     * diffDst values of the block's channels are scattered into the block's own diffSrc planes (zeroed first,
     * on the heap, copied out at the end), and {@code s_k = sum_c diffDst[c] * src[c, tap k]} is summed in
     * registers, so that the point's grid gradient is {@code sum_k s_k * d(weight_k)/d(grid)}, written once
     * (into diffGrid itself when a block is all channels, else into the block's workspace slice). The three
     * cases (both outputs, only diffSrc, only diffGrid) run separate loops that do the same arithmetic in the
     * same order for each output, so an output does not depend on whether the other one is wanted.
     */
    private void scatter(MemorySegment grid, MemorySegment src, MemorySegment diffDst, MemorySegment diffSrc,
            MemorySegment diffGrid) {
        final MemorySegment acc = diffGrid == null ? null : partial != null ? partial.segment() : diffGrid;
        final boolean wantSrc = diffSrc != null;
        final boolean wantGrid = acc != null;
        final int plane = h * w;
        final int points = h2 * w2;
        final int cb = channelBlock;
        final int nb = blocks;
        final int channels = c;
        final int outW = w2;
        Parallel.forRange(n * nb, 1, task -> {
            int b = task / nb;
            int cFrom = (task - b * nb) * cb;
            int nc = Math.min(channels, cFrom + cb) - cFrom;
            Scratch t = SCRATCH.get().ensure(outW, wantGrid ? nc * plane : 0, nc * points, wantSrc ? nc * plane : 0);
            int[] at = t.at;
            float[] wt = t.wt, wx = t.wx, wy = t.wy, x = t.x, dy = t.y, dx = t.dx;
            long first = (long) b * channels + cFrom;
            long a = 2L * task * points; // this block's slice: diffGrid's image b itself when nb == 1
            if (channelsLast) { // planes -> pixels x channels (heap) -> planes, as in gather
                float[] planes = t.planes(Math.max(nc * plane, nc * points));
                float[] sums = t.sums;
                MemorySegment.copy(diffDst, F, first * points * Float.BYTES, planes, 0, nc * points);
                FloatLoops.transpose(planes, 0, nc, points, dy, 0);
                if (wantGrid) {
                    MemorySegment.copy(src, F, first * plane * Float.BYTES, planes, 0, nc * plane);
                    FloatLoops.transpose(planes, 0, nc, plane, x, 0);
                }
                if (wantSrc) {
                    Arrays.fill(dx, 0, nc * plane, 0f);
                }
                for (int row = 0, p = 0; row < h2; row++, p += outW) {
                    taps(grid, (long) b * points + p, wantGrid, t);
                    for (int k = 0, yo = p * nc, q = p; k < 4 * outW; k += 4, yo += nc, q++) {
                        int a0 = at[k] * nc, a1 = at[k + 1] * nc, a2 = at[k + 2] * nc, a3 = at[k + 3] * nc;
                        if (wantSrc) { // taps outside the image: weight 0 at offset 0, adding 0 there is harmless
                            FloatLoops.scatter4(dy, yo, nc, wt[k], wt[k + 1], wt[k + 2], wt[k + 3], dx, a0, a1, a2, a3);
                        }
                        if (wantGrid) {
                            FloatLoops.dot4(dy, yo, nc, x, a0, a1, a2, a3, sums, 0);
                            storeGridGradient(acc, a + 2L * q, wx, wy, k, sums[0], sums[1], sums[2], sums[3]);
                        }
                    }
                }
                if (wantSrc) {
                    FloatLoops.transpose(dx, 0, plane, nc, planes, 0);
                    MemorySegment.copy(planes, 0, diffSrc, F, first * plane * Float.BYTES, nc * plane);
                }
                return;
            }
            MemorySegment.copy(diffDst, F, first * points * Float.BYTES, dy, 0, nc * points);
            if (wantGrid) {
                MemorySegment.copy(src, F, first * plane * Float.BYTES, x, 0, nc * plane);
            }
            if (wantSrc) {
                Arrays.fill(dx, 0, nc * plane, 0f);
            }
            for (int row = 0, p = 0; row < h2; row++) {
                taps(grid, (long) b * points + p, wantGrid, t);
                for (int k = 0; k < 4 * outW; k += 4, p++) {
                    int a0 = at[k], a1 = at[k + 1], a2 = at[k + 2], a3 = at[k + 3];
                    float v0 = wt[k], v1 = wt[k + 1], v2 = wt[k + 2], v3 = wt[k + 3];
                    if (!wantGrid) {
                        for (int ch = 0; ch < nc; ch++) {
                            int i = ch * plane;
                            float g = dy[ch * points + p];
                            // Taps outside the image carry weight 0 at offset 0: adding 0 there is harmless.
                            dx[i + a0] += v0 * g;
                            dx[i + a1] += v1 * g;
                            dx[i + a2] += v2 * g;
                            dx[i + a3] += v3 * g;
                        }
                        continue;
                    }
                    float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                    if (wantSrc) {
                        for (int ch = 0; ch < nc; ch++) {
                            int i = ch * plane;
                            float g = dy[ch * points + p];
                            s0 += g * x[i + a0];
                            s1 += g * x[i + a1];
                            s2 += g * x[i + a2];
                            s3 += g * x[i + a3];
                            dx[i + a0] += v0 * g;
                            dx[i + a1] += v1 * g;
                            dx[i + a2] += v2 * g;
                            dx[i + a3] += v3 * g;
                        }
                    } else {
                        for (int ch = 0; ch < nc; ch++) {
                            int i = ch * plane;
                            float g = dy[ch * points + p];
                            s0 += g * x[i + a0];
                            s1 += g * x[i + a1];
                            s2 += g * x[i + a2];
                            s3 += g * x[i + a3];
                        }
                    }
                    storeGridGradient(acc, a + 2L * p, wx, wy, k, s0, s1, s2, s3);
                }
            }
            if (wantSrc) {
                MemorySegment.copy(dx, 0, diffSrc, F, first * plane * Float.BYTES, nc * plane);
            }
        });
    }

    /**
     * A point's grid gradient {@code (sum_k wx_k s_k, sum_k wy_k s_k)} at float index {@code q}, from its taps' weight
     * derivatives (from index {@code k}) and {@code s_k = sum_c diffDst[c] * src[c, tap k]}. A tap outside the
     * image has derivative 0, so what it read (offset 0) does not count.
     */
    private static void storeGridGradient(MemorySegment acc, long q, float[] wx, float[] wy, int k, float s0, float s1,
            float s2, float s3) {
        acc.setAtIndex(F, q, wx[k] * s0 + wx[k + 1] * s1 + wx[k + 2] * s2 + wx[k + 3] * s3);
        acc.setAtIndex(F, q + 1, wy[k] * s0 + wy[k + 1] * s1 + wy[k + 2] * s2 + wy[k + 3] * s3);
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
