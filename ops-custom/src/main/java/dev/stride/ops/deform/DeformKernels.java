package dev.stride.ops.deform;

import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Java halves of deformable convolution: the bilinear-sampling "deformable im2col", its adjoint (a
 * col2im that scatters through the same bilinear weights), the coordinate and mask gradients, and the
 * transposes between the GEMM's {@code K x (B*H2*W2)} output and {@code N x K x H2 x W2}. Every method works
 * on one chunk of {@code b} images starting at image {@code n0}; all tensors are plain row-major f32.
 *
 * <p>The column matrix of a chunk is {@code [C*KH*KW, b*H2*W2]}: row {@code c*KH*KW + i*KW + j} holds the
 * (masked) samples of channel {@code c} for kernel tap {@code (i, j)}, image after image (torchvision's
 * layout). Rows of one weight group are contiguous, so the GEMM of group {@code g} reads rows
 * {@code [g*C/G*KH*KW, (g+1)*C/G*KH*KW)}.
 *
 * <p>Sampling is bilinear with zero padding (torchvision's rule): a point {@code (y, x)} reads the four
 * integer neighbours {@code floor(y)}, {@code floor(y)+1} (and the same in x), each outside the input
 * counting as zero, so points in {@code (-1, H)} still partly see the border rows and points at or beyond
 * {@code -1} and {@code H} read zero.
 *
 * <p>Work is split so that no two tasks write the same element: the gather and the scatter into
 * {@code dsrc} by (image, offset group, block of 16 channels) — a column row of channel {@code c} only
 * reaches plane {@code c}, and the channels of a block share one table of bilinear taps —, the coordinate
 * gradients by (image, offset group, tap), the transposes by (image, filter).
 */
final class DeformKernels {
    private DeformKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Index granularity handed to {@link Parallel#forRange}: about 16k samples per task at least. */
    private static int grain(long workPerIndex) {
        return (int) Math.max(1, 16384 / Math.max(1, workPerIndex));
    }

    /** Channels that share one sampling table in {@link #im2col} and {@link #col2im}. */
    private static final int CHANNEL_BLOCK = 16;

    /**
     * The bilinear taps of every (kernel tap, output pixel) of one image and offset group: four plane indices
     * and four weights, the mask folded into the weights, a neighbour outside the input given weight 0 and a
     * clamped (valid) index. Every channel of the offset group samples at the same points, so the table is
     * computed once per block of channels instead of once per channel. Kept per thread and grown on demand
     * (Java heap: it never leaves the JVM).
     */
    private static final class Table {
        int[] i00 = new int[0], i01 = i00, i10 = i00, i11 = i00;
        float[] w00 = new float[0], w01 = w00, w10 = w00, w11 = w00;

        Table ensure(int n) {
            if (i00.length < n) {
                i00 = new int[n];
                i01 = new int[n];
                i10 = new int[n];
                i11 = new int[n];
                w00 = new float[n];
                w01 = new float[n];
                w10 = new float[n];
                w11 = new float[n];
            }
            return this;
        }

        /** Fills entries for image {@code n}, offset group {@code og}; {@code mask} may be null. */
        void fill(DeformGeometry g, MemorySegment offset, MemorySegment mask, int n, int og) {
            final int H = (int) g.h();
            final int W = (int) g.w();
            final int KH = g.kh();
            final int KW = g.kw();
            final int KK = KH * KW;
            final int H2 = (int) g.h2();
            final int W2 = (int) g.w2();
            final int P = H2 * W2;
            final int gOff = g.offsetGroups();
            final long offBase = ((long) n * gOff + og) * KK * 2 * P;
            final long maskBase = ((long) n * gOff + og) * KK * P;
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    int kk = i * KW + j;
                    long oyBase = offBase + 2L * kk * P;
                    long oxBase = oyBase + P;
                    long mBase = maskBase + (long) kk * P;
                    for (int oy = 0; oy < H2; oy++) {
                        int y0 = oy * g.sh() - g.ph() + i * g.dh();
                        for (int ox = 0; ox < W2; ox++) {
                            int p = oy * W2 + ox;
                            int e = kk * P + p;
                            float y = y0 + offset.getAtIndex(F, oyBase + p);
                            float xx = (ox * g.sw() - g.pw() + j * g.dw()) + offset.getAtIndex(F, oxBase + p);
                            if (!(y > -1 && y < H && xx > -1 && xx < W)) {
                                i00[e] = 0;
                                i01[e] = 0;
                                i10[e] = 0;
                                i11[e] = 0;
                                w00[e] = 0f;
                                w01[e] = 0f;
                                w10[e] = 0f;
                                w11[e] = 0f;
                                continue;
                            }
                            float m = mask == null ? 1f : mask.getAtIndex(F, mBase + p);
                            int yl = (int) Math.floor(y);
                            int xl = (int) Math.floor(xx);
                            float ly = y - yl;
                            float lx = xx - xl;
                            float hy = 1 - ly;
                            float hx = 1 - lx;
                            boolean y0ok = yl >= 0;
                            boolean y1ok = yl + 1 < H;
                            boolean x0ok = xl >= 0;
                            boolean x1ok = xl + 1 < W;
                            int r0 = (y0ok ? yl : 0) * W;
                            int r1 = (y1ok ? yl + 1 : H - 1) * W;
                            int c0 = x0ok ? xl : 0;
                            int c1 = x1ok ? xl + 1 : W - 1;
                            i00[e] = r0 + c0;
                            i01[e] = r0 + c1;
                            i10[e] = r1 + c0;
                            i11[e] = r1 + c1;
                            w00[e] = y0ok && x0ok ? m * hy * hx : 0f;
                            w01[e] = y0ok && x1ok ? m * hy * lx : 0f;
                            w10[e] = y1ok && x0ok ? m * ly * hx : 0f;
                            w11[e] = y1ok && x1ok ? m * ly * lx : 0f;
                        }
                    }
                }
            }
        }
    }

    private static final ThreadLocal<Table> TABLES = ThreadLocal.withInitial(Table::new);

    /**
     * Deformable im2col: {@code cols[c*KK + kk, bi*P + p] = m * bilinear(src[n0+bi, c], p0 + pn + dpn)}, with
     * {@code m} the mask value (1 without a mask). Split by (image, offset group, block of channels).
     */
    static void im2col(DeformGeometry g, MemorySegment src, MemorySegment offset, MemorySegment mask,
            MemorySegment cols, int n0, int b) {
        final int C = (int) g.c();
        final int KK = g.kh() * g.kw();
        final int P = (int) g.outputPixels();
        final long BP = (long) b * P;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final int blocks = (cPerOff + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
        final long plane = g.h() * g.w();
        Parallel.forRange(b * gOff * blocks, grain((long) KK * P * Math.min(cPerOff, CHANNEL_BLOCK)), idx -> {
            int blk = idx % blocks;
            int og = (idx / blocks) % gOff;
            int bi = idx / (blocks * gOff);
            int n = n0 + bi;
            Table t = TABLES.get().ensure(KK * P);
            t.fill(g, offset, mask, n, og);
            int[] i00 = t.i00, i01 = t.i01, i10 = t.i10, i11 = t.i11;
            float[] w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
            int cFrom = og * cPerOff + blk * CHANNEL_BLOCK;
            int cTo = Math.min(cFrom + CHANNEL_BLOCK, (og + 1) * cPerOff);
            for (int c = cFrom; c < cTo; c++) {
                long xBase = ((long) n * C + c) * plane;
                MemorySegment x = src.asSlice(xBase * 4, plane * 4);
                for (int kk = 0; kk < KK; kk++) {
                    long colBase = ((long) c * KK + kk) * BP + (long) bi * P;
                    int e = kk * P;
                    for (int p = 0; p < P; p++, e++) {
                        float v = w00[e] * x.getAtIndex(F, i00[e]) + w01[e] * x.getAtIndex(F, i01[e])
                                + w10[e] * x.getAtIndex(F, i10[e]) + w11[e] * x.getAtIndex(F, i11[e]);
                        cols.setAtIndex(F, colBase + p, v);
                    }
                }
            }
        });
    }

    /**
     * The adjoint of {@link #im2col} in the input: {@code dsrc[n0+bi, c]} = the column gradients of channel
     * {@code c} scattered through the same bilinear weights (times the mask). Overwrites the chunk's planes.
     * Split by (image, offset group, block of channels): a channel's column rows only reach its own plane.
     */
    static void col2im(DeformGeometry g, MemorySegment dcols, MemorySegment offset, MemorySegment mask,
            MemorySegment dsrc, int n0, int b) {
        final int C = (int) g.c();
        final int KK = g.kh() * g.kw();
        final int P = (int) g.outputPixels();
        final long BP = (long) b * P;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final int blocks = (cPerOff + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
        final long plane = g.h() * g.w();
        Parallel.forRange(b * gOff * blocks, grain((long) KK * P * Math.min(cPerOff, CHANNEL_BLOCK)), idx -> {
            int blk = idx % blocks;
            int og = (idx / blocks) % gOff;
            int bi = idx / (blocks * gOff);
            int n = n0 + bi;
            Table t = TABLES.get().ensure(KK * P);
            t.fill(g, offset, mask, n, og);
            int[] i00 = t.i00, i01 = t.i01, i10 = t.i10, i11 = t.i11;
            float[] w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
            int cFrom = og * cPerOff + blk * CHANNEL_BLOCK;
            int cTo = Math.min(cFrom + CHANNEL_BLOCK, (og + 1) * cPerOff);
            for (int c = cFrom; c < cTo; c++) {
                long xBase = ((long) n * C + c) * plane;
                MemorySegment dx = dsrc.asSlice(xBase * 4, plane * 4);
                dx.fill((byte) 0);
                for (int kk = 0; kk < KK; kk++) {
                    long colBase = ((long) c * KK + kk) * BP + (long) bi * P;
                    int e = kk * P;
                    for (int p = 0; p < P; p++, e++) {
                        // weight 0 for a neighbour outside the input: adds 0 to a valid (clamped) element
                        float grad = dcols.getAtIndex(F, colBase + p);
                        add(dx, i00[e], w00[e] * grad);
                        add(dx, i01[e], w01[e] * grad);
                        add(dx, i10[e], w10[e] * grad);
                        add(dx, i11[e], w11[e] * grad);
                    }
                }
            }
        });
    }

    private static void add(MemorySegment s, long i, float v) {
        s.setAtIndex(F, i, s.getAtIndex(F, i) + v);
    }

    /**
     * Gradients of the sampling positions and of the mask. With {@code v = bilinear(x, y, x)} and {@code m}
     * the mask, a column entry is {@code m*v}, so {@code d/d dy = sum_c dcol * m * dv/dy},
     * {@code d/d dx = sum_c dcol * m * dv/dx} and {@code d/dm = sum_c dcol * v}, summed over the channels of
     * the offset group. {@code dv/dy = (1-lx)(v10 - v00) + lx(v11 - v01)} and symmetrically for x: the
     * derivative of the bilinear weights, undefined on integer grid lines (torchvision takes the one-sided
     * value from above there, and so do we). {@code dmask} may be null (v1).
     */
    static void coordinates(DeformGeometry g, MemorySegment dcols, MemorySegment src, MemorySegment offset,
            MemorySegment mask, MemorySegment doffset, MemorySegment dmask, int n0, int b) {
        final int C = (int) g.c();
        final int H = (int) g.h();
        final int W = (int) g.w();
        final int KH = g.kh();
        final int KW = g.kw();
        final int KK = KH * KW;
        final int H2 = (int) g.h2();
        final int W2 = (int) g.w2();
        final int P = H2 * W2;
        final long BP = (long) b * P;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final long plane = (long) H * W;
        final int sh = g.sh(), sw = g.sw(), ph = g.ph(), pw = g.pw(), dh = g.dh(), dw = g.dw();
        Parallel.forRange(b * gOff * KK, grain((long) cPerOff * P), idx -> {
            int kk = idx % KK;
            int og = (idx / KK) % gOff;
            int bi = idx / (KK * gOff);
            int n = n0 + bi;
            int i = kk / KW;
            int j = kk % KW;
            long oyBase = (((long) n * gOff + og) * KK + kk) * 2 * P;
            long oxBase = oyBase + P;
            long mBase = (((long) n * gOff + og) * KK + kk) * P;
            CoordTable t = COORD_TABLES.get().ensure(P);
            // Per output pixel: the four neighbours (clamped indices) and, per neighbour, its weight in the
            // value, in dv/dy and in dv/dx (0 for a neighbour outside the input). Every channel of the offset
            // group reuses them, and the channel loop then reads each column row front to back.
            for (int oy = 0; oy < H2; oy++) {
                int y0 = oy * sh - ph + i * dh;
                for (int ox = 0; ox < W2; ox++) {
                    int p = oy * W2 + ox;
                    t.gy[p] = 0f;
                    t.gx[p] = 0f;
                    t.gm[p] = 0f;
                    float y = y0 + offset.getAtIndex(F, oyBase + p);
                    float xx = (ox * sw - pw + j * dw) + offset.getAtIndex(F, oxBase + p);
                    int q = 4 * p;
                    if (!(y > -1 && y < H && xx > -1 && xx < W)) {
                        for (int r = 0; r < 4; r++) {
                            t.at[q + r] = 0;
                            t.val[q + r] = 0f;
                            t.dy[q + r] = 0f;
                            t.dx[q + r] = 0f;
                        }
                        continue;
                    }
                    int yl = (int) Math.floor(y);
                    int xl = (int) Math.floor(xx);
                    float ly = y - yl;
                    float lx = xx - xl;
                    float hy = 1 - ly;
                    float hx = 1 - lx;
                    boolean y0ok = yl >= 0;
                    boolean y1ok = yl + 1 < H;
                    boolean x0ok = xl >= 0;
                    boolean x1ok = xl + 1 < W;
                    int r0 = (y0ok ? yl : 0) * W;
                    int r1 = (y1ok ? yl + 1 : H - 1) * W;
                    int c0 = x0ok ? xl : 0;
                    int c1 = x1ok ? xl + 1 : W - 1;
                    boolean ok00 = y0ok && x0ok, ok01 = y0ok && x1ok, ok10 = y1ok && x0ok, ok11 = y1ok && x1ok;
                    t.at[q] = r0 + c0;
                    t.at[q + 1] = r0 + c1;
                    t.at[q + 2] = r1 + c0;
                    t.at[q + 3] = r1 + c1;
                    // v = hy*hx*v00 + hy*lx*v01 + ly*hx*v10 + ly*lx*v11
                    t.val[q] = ok00 ? hy * hx : 0f;
                    t.val[q + 1] = ok01 ? hy * lx : 0f;
                    t.val[q + 2] = ok10 ? ly * hx : 0f;
                    t.val[q + 3] = ok11 ? ly * lx : 0f;
                    // dv/dy = hx*(v10 - v00) + lx*(v11 - v01)
                    t.dy[q] = ok00 ? -hx : 0f;
                    t.dy[q + 1] = ok01 ? -lx : 0f;
                    t.dy[q + 2] = ok10 ? hx : 0f;
                    t.dy[q + 3] = ok11 ? lx : 0f;
                    // dv/dx = hy*(v01 - v00) + ly*(v11 - v10)
                    t.dx[q] = ok00 ? -hy : 0f;
                    t.dx[q + 1] = ok01 ? hy : 0f;
                    t.dx[q + 2] = ok10 ? -ly : 0f;
                    t.dx[q + 3] = ok11 ? ly : 0f;
                }
            }
            int[] at = t.at;
            float[] val = t.val, ddy = t.dy, ddx = t.dx, gy = t.gy, gx = t.gx, gm = t.gm;
            for (int c = og * cPerOff; c < (og + 1) * cPerOff; c++) {
                MemorySegment x = src.asSlice(((long) n * C + c) * plane * 4, plane * 4);
                long col = ((long) c * KK + kk) * BP + (long) bi * P;
                for (int p = 0; p < P; p++) {
                    int q = 4 * p;
                    float dcol = dcols.getAtIndex(F, col + p);
                    float v00 = x.getAtIndex(F, at[q]);
                    float v01 = x.getAtIndex(F, at[q + 1]);
                    float v10 = x.getAtIndex(F, at[q + 2]);
                    float v11 = x.getAtIndex(F, at[q + 3]);
                    gy[p] += dcol * (ddy[q] * v00 + ddy[q + 1] * v01 + ddy[q + 2] * v10 + ddy[q + 3] * v11);
                    gx[p] += dcol * (ddx[q] * v00 + ddx[q + 1] * v01 + ddx[q + 2] * v10 + ddx[q + 3] * v11);
                    gm[p] += dcol * (val[q] * v00 + val[q + 1] * v01 + val[q + 2] * v10 + val[q + 3] * v11);
                }
            }
            for (int p = 0; p < P; p++) {
                float m = mask == null ? 1f : mask.getAtIndex(F, mBase + p);
                if (doffset != null) {
                    doffset.setAtIndex(F, oyBase + p, m * gy[p]);
                    doffset.setAtIndex(F, oxBase + p, m * gx[p]);
                }
                if (dmask != null) {
                    dmask.setAtIndex(F, mBase + p, gm[p]);
                }
            }
        });
    }

    /** Per-thread tables of {@link #coordinates}: four taps per output pixel and three accumulators. */
    private static final class CoordTable {
        int[] at = new int[0];
        float[] val = new float[0], dy = val, dx = val, gy = val, gx = val, gm = val;

        CoordTable ensure(int pixels) {
            if (gy.length < pixels) {
                at = new int[4 * pixels];
                val = new float[4 * pixels];
                dy = new float[4 * pixels];
                dx = new float[4 * pixels];
                gy = new float[pixels];
                gx = new float[pixels];
                gm = new float[pixels];
            }
            return this;
        }
    }

    private static final ThreadLocal<CoordTable> COORD_TABLES = ThreadLocal.withInitial(CoordTable::new);

    /** {@code dst[n0+bi, k, :] = out[k, bi*P : (bi+1)*P] (+ bias[k])}: the GEMM's output back to NCHW. */
    static void outputToNchw(DeformGeometry g, MemorySegment out, MemorySegment bias, MemorySegment dst, int n0, int b) {
        final int K = (int) g.k();
        final int P = (int) g.outputPixels();
        final long BP = (long) b * P;
        Parallel.forRange(b * K, grain(P), idx -> {
            int bi = idx / K;
            int k = idx % K;
            long from = k * BP + (long) bi * P;
            long to = ((long) (n0 + bi) * K + k) * P;
            float add = bias == null ? 0f : bias.getAtIndex(F, k);
            for (int p = 0; p < P; p++) {
                dst.setAtIndex(F, to + p, out.getAtIndex(F, from + p) + add);
            }
        });
    }

    /**
     * {@code out[k, bi*P + p] = ddst[n0+bi, k, p]}: the upstream gradient in the GEMM's layout; adds the sums
     * of every row onto {@code dbias[k]} when given (split by filter, so no two tasks touch one sum).
     */
    static void nchwToOutput(DeformGeometry g, MemorySegment ddst, MemorySegment out, MemorySegment dbias, int n0, int b) {
        final int K = (int) g.k();
        final int P = (int) g.outputPixels();
        final long BP = (long) b * P;
        Parallel.forRange(K, grain((long) b * P), k -> {
            double sum = 0;
            for (int bi = 0; bi < b; bi++) {
                long from = ((long) (n0 + bi) * K + k) * P;
                long to = k * BP + (long) bi * P;
                for (int p = 0; p < P; p++) {
                    float v = ddst.getAtIndex(F, from + p);
                    out.setAtIndex(F, to + p, v);
                    sum += v;
                }
            }
            if (dbias != null) {
                dbias.setAtIndex(F, k, (float) (dbias.getAtIndex(F, k) + sum));
            }
        });
    }

    /** {@code acc[i] += part[i]} for {@code count} floats. */
    static void accumulate(MemorySegment acc, MemorySegment part, long count) {
        for (long i = 0; i < count; i++) {
            acc.setAtIndex(F, i, acc.getAtIndex(F, i) + part.getAtIndex(F, i));
        }
    }
}
