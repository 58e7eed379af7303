package dev.stride.ops.deform;

import dev.stride.core.Dnnl;
import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

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
 * {@code dsrc} by (image, offset group, block of channels, see {@link #channelBlock}) — a column row of
 * channel {@code c} only reaches plane {@code c}, and the channels of a block share one table of bilinear
 * taps —, the coordinate
 * gradients by (image, offset group, block of taps), the transposes by (image, filter).
 */
final class DeformKernels {
    private DeformKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Index granularity handed to {@link Parallel#forRange}: about 16k samples per task at least. */
    private static int grain(long workPerIndex) {
        return (int) Math.max(1, 16384 / Math.max(1, workPerIndex));
    }

    /**
     * Channels that share one sampling table in {@link #im2col} and {@link #col2im}: as many as still leave
     * about four tasks per thread over the chunk's (image, offset group) pairs, so the table is built as few
     * times as the parallelism allows; a multiple of 4 (the channel unroll of the inner loops).
     */
    static int channelBlock(int cPerOff, int pairs) {
        int tasksWanted = 4 * Math.max(1, Dnnl.threads());
        int blocksWanted = Math.max(1, (tasksWanted + pairs - 1) / pairs);
        int cb = (cPerOff + blocksWanted - 1) / blocksWanted;
        return Math.max(4, (cb + 3) / 4 * 4);
    }

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
        /** One input plane and one column row, copied in bulk so the inner loops touch only the Java heap. */
        float[] plane = new float[0], row = plane;
        /** One (image, offset group)'s offsets and mask, copied in bulk (see {@link #fill}). */
        float[] off = new float[0], msk = off;

        Table ensure(int n, int planeSize, int rowSize) {
            if (plane.length < planeSize) {
                plane = new float[planeSize];
            }
            if (row.length < rowSize) {
                row = new float[rowSize];
            }
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
            // Offsets and mask read in bulk (see loadOffsets).
            if (off.length < KK * 2 * P) {
                off = new float[KK * 2 * P];
                msk = new float[KK * P];
            }
            loadOffsets(offset, mask, ((long) n * gOff + og) * KK, KK, P, off, msk);
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    int kk = i * KW + j;
                    int oyBase = 2 * kk * P;
                    int oxBase = oyBase + P;
                    int mBase = kk * P;
                    for (int oy = 0; oy < H2; oy++) {
                        int y0 = oy * g.sh() - g.ph() + i * g.dh();
                        for (int ox = 0; ox < W2; ox++) {
                            int p = oy * W2 + ox;
                            int e = kk * P + p;
                            float y = y0 + off[oyBase + p];
                            float xx = (ox * g.sw() - g.pw() + j * g.dw()) + off[oxBase + p];
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
                            float m = mask == null ? 1f : msk[mBase + p];
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
        final int cb = channelBlock(cPerOff, b * gOff);
        final int blocks = (cPerOff + cb - 1) / cb;
        final int plane = (int) (g.h() * g.w());
        Parallel.forRange(b * gOff * blocks, grain((long) KK * P * Math.min(cPerOff, cb)), idx -> {
            int blk = idx % blocks;
            int og = (idx / blocks) % gOff;
            int bi = idx / (blocks * gOff);
            int n = n0 + bi;
            Table t = TABLES.get().ensure(KK * P, 4 * plane, 4 * P);
            t.fill(g, offset, mask, n, og);
            int[] i00 = t.i00, i01 = t.i01, i10 = t.i10, i11 = t.i11;
            float[] w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
            float[] x = t.plane, row = t.row;
            int cFrom = og * cPerOff + blk * cb;
            int cTo = Math.min(cFrom + cb, (og + 1) * cPerOff);
            int c = cFrom;
            // four channels per pass over the table: its indices and weights are loaded once for four samples
            for (; c + 4 <= cTo; c += 4) {
                MemorySegment.copy(src, F, ((long) n * C + c) * plane * 4, x, 0, 4 * plane);
                long r0 = ((long) c * KK) * BP + (long) bi * P;
                for (int kk = 0; kk < KK; kk++) {
                    int e = kk * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        int a0 = i00[q], a1 = i01[q], a2 = i10[q], a3 = i11[q];
                        float v0 = w00[q], v1 = w01[q], v2 = w10[q], v3 = w11[q];
                        row[p] = v0 * x[a0] + v1 * x[a1] + v2 * x[a2] + v3 * x[a3];
                        row[P + p] = v0 * x[plane + a0] + v1 * x[plane + a1] + v2 * x[plane + a2] + v3 * x[plane + a3];
                        int o2 = 2 * plane;
                        row[2 * P + p] = v0 * x[o2 + a0] + v1 * x[o2 + a1] + v2 * x[o2 + a2] + v3 * x[o2 + a3];
                        int o3 = 3 * plane;
                        row[3 * P + p] = v0 * x[o3 + a0] + v1 * x[o3 + a1] + v2 * x[o3 + a2] + v3 * x[o3 + a3];
                    }
                    for (int r = 0; r < 4; r++) {
                        MemorySegment.copy(row, r * P, cols, F, (r0 + ((long) r * KK + kk) * BP) * 4, P);
                    }
                }
            }
            for (; c < cTo; c++) {
                MemorySegment.copy(src, F, ((long) n * C + c) * plane * 4, x, 0, plane);
                for (int kk = 0; kk < KK; kk++) {
                    int e = kk * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        row[p] = w00[q] * x[i00[q]] + w01[q] * x[i01[q]] + w10[q] * x[i10[q]] + w11[q] * x[i11[q]];
                    }
                    MemorySegment.copy(row, 0, cols, F, (((long) c * KK + kk) * BP + (long) bi * P) * 4, P);
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
        final int cb = channelBlock(cPerOff, b * gOff);
        final int blocks = (cPerOff + cb - 1) / cb;
        final int plane = (int) (g.h() * g.w());
        Parallel.forRange(b * gOff * blocks, grain((long) KK * P * Math.min(cPerOff, cb)), idx -> {
            int blk = idx % blocks;
            int og = (idx / blocks) % gOff;
            int bi = idx / (blocks * gOff);
            int n = n0 + bi;
            Table t = TABLES.get().ensure(KK * P, 4 * plane, 4 * P);
            t.fill(g, offset, mask, n, og);
            int[] i00 = t.i00, i01 = t.i01, i10 = t.i10, i11 = t.i11;
            float[] w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
            float[] dx = t.plane, row = t.row;
            int cFrom = og * cPerOff + blk * cb;
            int cTo = Math.min(cFrom + cb, (og + 1) * cPerOff);
            int c = cFrom;
            // four channels per pass over the table; planes accumulate on the heap, then one bulk copy out
            // (overwrites the chunk's planes). A weight is 0 for a neighbour outside the input: it adds 0 to a
            // valid (clamped) element.
            for (; c + 4 <= cTo; c += 4) {
                Arrays.fill(dx, 0, 4 * plane, 0f);
                long r0 = ((long) c * KK) * BP + (long) bi * P;
                for (int kk = 0; kk < KK; kk++) {
                    for (int r = 0; r < 4; r++) {
                        MemorySegment.copy(dcols, F, (r0 + ((long) r * KK + kk) * BP) * 4, row, r * P, P);
                    }
                    int e = kk * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        int a0 = i00[q], a1 = i01[q], a2 = i10[q], a3 = i11[q];
                        float v0 = w00[q], v1 = w01[q], v2 = w10[q], v3 = w11[q];
                        for (int r = 0, o = 0; r < 4; r++, o += plane) {
                            float grad = row[r * P + p];
                            dx[o + a0] += v0 * grad;
                            dx[o + a1] += v1 * grad;
                            dx[o + a2] += v2 * grad;
                            dx[o + a3] += v3 * grad;
                        }
                    }
                }
                MemorySegment.copy(dx, 0, dsrc, F, ((long) n * C + c) * plane * 4, 4 * plane);
            }
            for (; c < cTo; c++) {
                Arrays.fill(dx, 0, plane, 0f);
                for (int kk = 0; kk < KK; kk++) {
                    MemorySegment.copy(dcols, F, (((long) c * KK + kk) * BP + (long) bi * P) * 4, row, 0, P);
                    int e = kk * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        float grad = row[p];
                        dx[i00[q]] += w00[q] * grad;
                        dx[i01[q]] += w01[q] * grad;
                        dx[i10[q]] += w10[q] * grad;
                        dx[i11[q]] += w11[q] * grad;
                    }
                }
                MemorySegment.copy(dx, 0, dsrc, F, ((long) n * C + c) * plane * 4, plane);
            }
        });
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
        // Split by (image, offset group, block of taps): the taps of a block share each channel's plane copy,
        // and a block is as large as the parallelism allows (the sums of a tap need every channel of its
        // offset group, so channels cannot be split across tasks).
        final int pairs = b * gOff;
        final int blocksWanted = Math.max(1, (4 * Math.max(1, Dnnl.threads()) + pairs - 1) / pairs);
        final int kb = (KK + Math.min(KK, blocksWanted) - 1) / Math.min(KK, blocksWanted);
        final int kBlocks = (KK + kb - 1) / kb;
        final int stride = (int) plane + 1; // each heap plane copy ends with one zero: the sentinel
        Parallel.forRange(pairs * kBlocks, grain((long) cPerOff * P * kb), idx -> {
            int kBlk = idx % kBlocks;
            int og = (idx / kBlocks) % gOff;
            int bi = idx / (kBlocks * gOff);
            int n = n0 + bi;
            int kFrom = kBlk * kb;
            int kTo = Math.min(kFrom + kb, KK);
            long tapBase = ((long) n * gOff + og) * KK;
            CoordTable t = COORD_TABLES.get().ensure(kb * P, 4 * stride, 4 * P);
            // Offsets and mask in, their gradients out, in bulk (see Table.fill); the taps kFrom..kTo only.
            float[] off = t.off;
            loadOffsets(offset, mask, tapBase + kFrom, kTo - kFrom, P, off, t.msk);
            int[] a00 = t.a00, a01 = t.a01, a10 = t.a10, a11 = t.a11;
            float[] ly = t.ly, lx = t.lx, s00 = t.s00, s01 = t.s01, s10 = t.s10, s11 = t.s11;
            // Per (tap, output pixel): the four neighbours' indices (the zero sentinel at index `plane` for a
            // neighbour outside the input, so it reads 0 as the zero padding demands) and the fractions.
            for (int kk = kFrom; kk < kTo; kk++) {
                int i = kk / KW;
                int j = kk % KW;
                int oyBase = 2 * (kk - kFrom) * P;
                int oxBase = oyBase + P;
                int e = (kk - kFrom) * P;
                for (int oy = 0; oy < H2; oy++) {
                    int y0 = oy * sh - ph + i * dh;
                    for (int ox = 0; ox < W2; ox++) {
                        int p = oy * W2 + ox;
                        int q = e + p;
                        float y = y0 + off[oyBase + p];
                        float xx = (ox * sw - pw + j * dw) + off[oxBase + p];
                        if (!(y > -1 && y < H && xx > -1 && xx < W)) {
                            a00[q] = a01[q] = a10[q] = a11[q] = (int) plane;
                            ly[q] = 0f;
                            lx[q] = 0f;
                            continue;
                        }
                        int yl = (int) Math.floor(y);
                        int xl = (int) Math.floor(xx);
                        ly[q] = y - yl;
                        lx[q] = xx - xl;
                        boolean y0ok = yl >= 0;
                        boolean y1ok = yl + 1 < H;
                        boolean x0ok = xl >= 0;
                        boolean x1ok = xl + 1 < W;
                        int none = (int) plane;
                        a00[q] = y0ok && x0ok ? yl * W + xl : none;
                        a01[q] = y0ok && x1ok ? yl * W + xl + 1 : none;
                        a10[q] = y1ok && x0ok ? (yl + 1) * W + xl : none;
                        a11[q] = y1ok && x1ok ? (yl + 1) * W + xl + 1 : none;
                    }
                }
            }
            // s_ab[kk, p] = sum_c dcol[c, kk, p] * v_ab[c, kk, p]: the bilinear weights and their derivatives do
            // not depend on the channel, so they are applied once per pixel after the channel sums.
            int used = (kTo - kFrom) * P;
            Arrays.fill(s00, 0, used, 0f);
            Arrays.fill(s01, 0, used, 0f);
            Arrays.fill(s10, 0, used, 0f);
            Arrays.fill(s11, 0, used, 0f);
            float[] x = t.plane, row = t.row;
            int cTo = (og + 1) * cPerOff;
            int c = og * cPerOff;
            for (; c + 4 <= cTo; c += 4) {
                for (int r = 0; r < 4; r++) {
                    MemorySegment.copy(src, F, ((long) n * C + c + r) * plane * 4, x, r * stride, (int) plane);
                    x[r * stride + (int) plane] = 0f;
                }
                int o1 = stride, o2 = 2 * stride, o3 = 3 * stride;
                for (int kk = kFrom; kk < kTo; kk++) {
                    long col = ((long) c * KK + kk) * BP + (long) bi * P;
                    for (int r = 0; r < 4; r++) {
                        MemorySegment.copy(dcols, F, (col + (long) r * KK * BP) * 4, row, r * P, P);
                    }
                    int e = (kk - kFrom) * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        int q0 = a00[q], q1 = a01[q], q2 = a10[q], q3 = a11[q];
                        float d0 = row[p], d1 = row[P + p], d2 = row[2 * P + p], d3 = row[3 * P + p];
                        s00[q] += d0 * x[q0] + d1 * x[o1 + q0] + d2 * x[o2 + q0] + d3 * x[o3 + q0];
                        s01[q] += d0 * x[q1] + d1 * x[o1 + q1] + d2 * x[o2 + q1] + d3 * x[o3 + q1];
                        s10[q] += d0 * x[q2] + d1 * x[o1 + q2] + d2 * x[o2 + q2] + d3 * x[o3 + q2];
                        s11[q] += d0 * x[q3] + d1 * x[o1 + q3] + d2 * x[o2 + q3] + d3 * x[o3 + q3];
                    }
                }
            }
            for (; c < cTo; c++) {
                MemorySegment.copy(src, F, ((long) n * C + c) * plane * 4, x, 0, (int) plane);
                x[(int) plane] = 0f;
                for (int kk = kFrom; kk < kTo; kk++) {
                    MemorySegment.copy(dcols, F, (((long) c * KK + kk) * BP + (long) bi * P) * 4, row, 0, P);
                    int e = (kk - kFrom) * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        float d = row[p];
                        s00[q] += d * x[a00[q]];
                        s01[q] += d * x[a01[q]];
                        s10[q] += d * x[a10[q]];
                        s11[q] += d * x[a11[q]];
                    }
                }
            }
            storeCoordinateGradients(t, mask != null, tapBase + kFrom, kTo - kFrom, P, doffset, dmask);
        });
    }

    /**
     * Whether {@link #backwardFused} applies: the chunk's (image, offset group) pairs alone give about four
     * tasks per thread, so one task can own all channels and all taps of a pair.
     */
    static boolean fusable(DeformGeometry g, int b) {
        return (long) b * g.offsetGroups() >= 4L * Math.max(1, Dnnl.threads());
    }

    /**
     * {@link #col2im} and {@link #coordinates} in one pass over the column gradients (same results): each task
     * owns one (image, offset group), builds one table of neighbours, bilinear weights and fractions, and per
     * sample scatters into {@code dsrc} and sums {@code dcol * v} for the coordinate gradients, reading each
     * neighbour index and column entry once for both. Only when {@link #fusable}.
     */
    static void backwardFused(DeformGeometry g, MemorySegment dcols, MemorySegment src, MemorySegment offset,
            MemorySegment mask, MemorySegment dsrc, MemorySegment doffset, MemorySegment dmask, int n0, int b) {
        final int C = (int) g.c();
        final int H = (int) g.h();
        final int W = (int) g.w();
        final int KW = g.kw();
        final int KK = g.kh() * KW;
        final int H2 = (int) g.h2();
        final int W2 = (int) g.w2();
        final int P = H2 * W2;
        final long BP = (long) b * P;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final int plane = H * W;
        final int stride = plane + 1; // every heap plane ends with one extra slot: a zero to read, a sink to add to
        final int sh = g.sh(), sw = g.sw(), ph = g.ph(), pw = g.pw(), dh = g.dh(), dw = g.dw();
        Parallel.forRange(b * gOff, grain((long) cPerOff * P * KK), idx -> {
            int og = idx % gOff;
            int bi = idx / gOff;
            int n = n0 + bi;
            long tapBase = ((long) n * gOff + og) * KK;
            CoordTable t = COORD_TABLES.get().ensure(KK * P, 8 * stride, 4 * P);
            // This (image, offset group)'s offsets and mask in, and their gradients out, in bulk (see Table.fill).
            float[] off = t.off, msk = t.msk;
            loadOffsets(offset, mask, tapBase, KK, P, off, msk);
            int[] a00 = t.a00, a01 = t.a01, a10 = t.a10, a11 = t.a11;
            float[] ly = t.ly, lx = t.lx, s00 = t.s00, s01 = t.s01, s10 = t.s10, s11 = t.s11;
            float[] w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
            for (int kk = 0; kk < KK; kk++) {
                int i = kk / KW;
                int j = kk % KW;
                int oyBase = 2 * kk * P;
                int oxBase = oyBase + P;
                int mBase = kk * P;
                int e = kk * P;
                for (int oy = 0; oy < H2; oy++) {
                    int y0 = oy * sh - ph + i * dh;
                    for (int ox = 0; ox < W2; ox++) {
                        int p = oy * W2 + ox;
                        int q = e + p;
                        float y = y0 + off[oyBase + p];
                        float xx = (ox * sw - pw + j * dw) + off[oxBase + p];
                        if (!(y > -1 && y < H && xx > -1 && xx < W)) {
                            a00[q] = a01[q] = a10[q] = a11[q] = plane;
                            ly[q] = lx[q] = 0f;
                            w00[q] = w01[q] = w10[q] = w11[q] = 0f;
                            continue;
                        }
                        float m = mask == null ? 1f : msk[mBase + p];
                        int yl = (int) Math.floor(y);
                        int xl = (int) Math.floor(xx);
                        float fy = y - yl, fx = xx - xl, hy = 1 - fy, hx = 1 - fx;
                        ly[q] = fy;
                        lx[q] = fx;
                        boolean y0ok = yl >= 0;
                        boolean y1ok = yl + 1 < H;
                        boolean x0ok = xl >= 0;
                        boolean x1ok = xl + 1 < W;
                        // a neighbour outside the input: index of the extra slot (reads 0, absorbs its share)
                        a00[q] = y0ok && x0ok ? yl * W + xl : plane;
                        a01[q] = y0ok && x1ok ? yl * W + xl + 1 : plane;
                        a10[q] = y1ok && x0ok ? (yl + 1) * W + xl : plane;
                        a11[q] = y1ok && x1ok ? (yl + 1) * W + xl + 1 : plane;
                        w00[q] = m * hy * hx;
                        w01[q] = m * hy * fx;
                        w10[q] = m * fy * hx;
                        w11[q] = m * fy * fx;
                    }
                }
            }
            Arrays.fill(s00, 0, KK * P, 0f);
            Arrays.fill(s01, 0, KK * P, 0f);
            Arrays.fill(s10, 0, KK * P, 0f);
            Arrays.fill(s11, 0, KK * P, 0f);
            float[] x = t.plane, row = t.row;
            final int dxAt = 4 * stride; // the four dsrc accumulators follow the four input planes
            int cTo = (og + 1) * cPerOff;
            int c = og * cPerOff;
            for (; c < cTo; c += 4) {
                int nc = Math.min(4, cTo - c);
                Arrays.fill(x, 0, 8 * stride, 0f);
                for (int r = 0; r < nc; r++) {
                    MemorySegment.copy(src, F, ((long) n * C + c + r) * plane * 4, x, r * stride, plane);
                }
                for (int kk = 0; kk < KK; kk++) {
                    long col = ((long) c * KK + kk) * BP + (long) bi * P;
                    for (int r = 0; r < 4; r++) {
                        if (r < nc) {
                            MemorySegment.copy(dcols, F, (col + (long) r * KK * BP) * 4, row, r * P, P);
                        } else {
                            Arrays.fill(row, r * P, (r + 1) * P, 0f); // a missing channel: zero gradient
                        }
                    }
                    int e = kk * P;
                    for (int p = 0; p < P; p++) {
                        int q = e + p;
                        int q0 = a00[q], q1 = a01[q], q2 = a10[q], q3 = a11[q];
                        float v0 = w00[q], v1 = w01[q], v2 = w10[q], v3 = w11[q];
                        float t0 = 0f, t1 = 0f, t2 = 0f, t3 = 0f;
                        for (int r = 0, o = 0; r < 4; r++, o += stride) {
                            float d = row[r * P + p];
                            t0 += d * x[o + q0];
                            t1 += d * x[o + q1];
                            t2 += d * x[o + q2];
                            t3 += d * x[o + q3];
                            int od = dxAt + o;
                            x[od + q0] += v0 * d;
                            x[od + q1] += v1 * d;
                            x[od + q2] += v2 * d;
                            x[od + q3] += v3 * d;
                        }
                        s00[q] += t0;
                        s01[q] += t1;
                        s10[q] += t2;
                        s11[q] += t3;
                    }
                }
                for (int r = 0; r < nc; r++) {
                    MemorySegment.copy(x, dxAt + r * stride, dsrc, F, ((long) n * C + c + r) * plane * 4, plane);
                }
            }
            storeCoordinateGradients(t, mask != null, tapBase, KK, P, doffset, dmask);
        });
    }

    /**
     * Copies the offsets (and the mask, when not null) of {@code taps} consecutive taps from tap
     * {@code firstTap} (counted over (image, offset group, tap)) into {@code off} ({@code 2 x taps x P}: dy rows
     * then dx rows per tap) and {@code msk} ({@code taps x P}). The kernels read these heap copies: per-element
     * segment reads in their loops left the compiled code to the JIT's luck (v2 fwd+bwd 35 or 100 ms from one
     * JVM to the next).
     */
    static void loadOffsets(MemorySegment offset, MemorySegment mask, long firstTap, int taps, int P,
            float[] off, float[] msk) {
        MemorySegment.copy(offset, F, firstTap * 2 * P * Float.BYTES, off, 0, taps * 2 * P);
        if (mask != null) {
            MemorySegment.copy(mask, F, firstTap * P * Float.BYTES, msk, 0, taps * P);
        }
    }

    /**
     * The offset and mask gradients of {@code taps} taps from the table's fractions and neighbour sums
     * ({@code s00..s11}, indexed {@code tap * P + pixel} from 0), computed on the heap and copied out in bulk to
     * tap {@code firstTap} of {@code doffset} and {@code dmask} (either may be null). With
     * {@code v = hy*hx*v00 + hy*lx*v01 + ly*hx*v10 + ly*lx*v11}:
     * {@code dv/dy = hx*(v10 - v00) + lx*(v11 - v01)}, {@code dv/dx = hy*(v01 - v00) + ly*(v11 - v10)}, both
     * times the mask; {@code d/dm = v}.
     */
    private static void storeCoordinateGradients(CoordTable t, boolean masked, long firstTap, int taps, int P,
            MemorySegment doffset, MemorySegment dmask) {
        float[] ly = t.ly, lx = t.lx, s00 = t.s00, s01 = t.s01, s10 = t.s10, s11 = t.s11;
        float[] msk = t.msk, dOff = t.dOff, dMsk = t.dMsk;
        for (int tap = 0; tap < taps; tap++) {
            int oyBase = 2 * tap * P;
            int oxBase = oyBase + P;
            int e = tap * P;
            for (int p = 0; p < P; p++) {
                int q = e + p;
                float fy = ly[q], fx = lx[q], hy = 1 - fy, hx = 1 - fx;
                float m = masked ? msk[q] : 1f;
                dOff[oyBase + p] = m * (hx * (s10[q] - s00[q]) + fx * (s11[q] - s01[q]));
                dOff[oxBase + p] = m * (hy * (s01[q] - s00[q]) + fy * (s11[q] - s10[q]));
                dMsk[q] = hy * (hx * s00[q] + fx * s01[q]) + fy * (hx * s10[q] + fx * s11[q]);
            }
        }
        if (doffset != null) {
            MemorySegment.copy(dOff, 0, doffset, F, firstTap * 2 * P * Float.BYTES, taps * 2 * P);
        }
        if (dmask != null) {
            MemorySegment.copy(dMsk, 0, dmask, F, firstTap * P * Float.BYTES, taps * P);
        }
    }

    /** Per-thread tables of {@link #coordinates}: four neighbours and two fractions per (tap, pixel), four sums. */
    private static final class CoordTable {
        int[] a00 = new int[0], a01 = a00, a10 = a00, a11 = a00;
        float[] ly = new float[0], lx = ly, s00 = ly, s01 = ly, s10 = ly, s11 = ly;
        /** Bilinear weights (mask folded in) of {@link #backwardFused}. */
        float[] w00 = ly, w01 = ly, w10 = ly, w11 = ly;
        /** Four input planes (each followed by a zero) and four column rows, copied in bulk. */
        float[] plane = new float[0], row = plane;
        /** {@link #backwardFused}: one (image, offset group)'s offsets, mask and their gradients. */
        float[] off = plane, msk = plane, dOff = plane, dMsk = plane;

        CoordTable ensure(int pixels, int planeSize, int rowSize) {
            if (plane.length < planeSize) {
                plane = new float[planeSize];
            }
            if (row.length < rowSize) {
                row = new float[rowSize];
            }
            if (a00.length < pixels) {
                a00 = new int[pixels];
                a01 = new int[pixels];
                a10 = new int[pixels];
                a11 = new int[pixels];
                ly = new float[pixels];
                lx = new float[pixels];
                s00 = new float[pixels];
                s01 = new float[pixels];
                s10 = new float[pixels];
                s11 = new float[pixels];
                w00 = new float[pixels];
                w01 = new float[pixels];
                w10 = new float[pixels];
                w11 = new float[pixels];
                off = new float[2 * pixels];
                msk = new float[pixels];
                dOff = new float[2 * pixels];
                dMsk = new float[pixels];
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
            if (bias == null) {
                MemorySegment.copy(out, from * 4, dst, to * 4, (long) P * 4);
                return;
            }
            float add = bias.getAtIndex(F, k);
            float[] row = TABLES.get().ensure(0, 0, P).row;
            MemorySegment.copy(out, F, from * 4, row, 0, P);
            for (int p = 0; p < P; p++) {
                row[p] += add;
            }
            MemorySegment.copy(row, 0, dst, F, to * 4, P);
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
            float[] row = dbias == null ? null : TABLES.get().ensure(0, 0, P).row;
            for (int bi = 0; bi < b; bi++) {
                long from = ((long) (n0 + bi) * K + k) * P;
                long to = k * BP + (long) bi * P;
                MemorySegment.copy(ddst, from * 4, out, to * 4, (long) P * 4);
                if (row != null) {
                    MemorySegment.copy(ddst, F, from * 4, row, 0, P);
                    for (int p = 0; p < P; p++) {
                        sum += row[p];
                    }
                }
            }
            if (dbias != null) {
                dbias.setAtIndex(F, k, (float) (dbias.getAtIndex(F, k) + sum));
            }
        });
    }

    /**
     * {@code acc[i] += part[i]} for {@code count} floats, through heap copies of 4096 floats at a time: it
     * runs once per backward, too rarely for the JIT to optimise element-wise off-heap accesses early.
     */
    static void accumulate(MemorySegment acc, MemorySegment part, long count) {
        final int block = 4096;
        Table t = TABLES.get().ensure(0, block, block);
        float[] a = t.plane, p = t.row;
        for (long i = 0; i < count; i += block) {
            int len = (int) Math.min(block, count - i);
            MemorySegment.copy(acc, F, i * Float.BYTES, a, 0, len);
            MemorySegment.copy(part, F, i * Float.BYTES, p, 0, len);
            for (int j = 0; j < len; j++) {
                a[j] += p[j];
            }
            MemorySegment.copy(a, 0, acc, F, i * Float.BYTES, len);
        }
    }
}
