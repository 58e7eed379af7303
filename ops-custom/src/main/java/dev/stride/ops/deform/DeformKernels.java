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
 * <p>Work is split so that no two tasks write the same element: the gather by (image, channel), the
 * scatter into {@code dsrc} by (image, channel) because a column row of channel {@code c} only reaches
 * plane {@code c}, the coordinate gradients by (image, offset group, tap), the transposes by (image, filter).
 */
final class DeformKernels {
    private DeformKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Index granularity handed to {@link Parallel#forRange}: about 16k samples per task at least. */
    private static int grain(long workPerIndex) {
        return (int) Math.max(1, 16384 / Math.max(1, workPerIndex));
    }

    /** Bilinear sample of plane {@code base} of {@code x} at {@code (y, xx)}, zero outside. */
    private static float bilinear(MemorySegment x, long base, int h, int w, float y, float xx) {
        if (!(y > -1 && y < h && xx > -1 && xx < w)) {
            return 0f;
        }
        int yl = (int) Math.floor(y);
        int xl = (int) Math.floor(xx);
        float ly = y - yl;
        float lx = xx - xl;
        float hy = 1 - ly;
        float hx = 1 - lx;
        boolean y0 = yl >= 0;
        boolean y1 = yl + 1 < h;
        boolean x0 = xl >= 0;
        boolean x1 = xl + 1 < w;
        long row = base + (long) yl * w + xl;
        float v00 = y0 && x0 ? x.getAtIndex(F, row) : 0f;
        float v01 = y0 && x1 ? x.getAtIndex(F, row + 1) : 0f;
        float v10 = y1 && x0 ? x.getAtIndex(F, row + w) : 0f;
        float v11 = y1 && x1 ? x.getAtIndex(F, row + w + 1) : 0f;
        return hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11;
    }

    /**
     * Deformable im2col: {@code cols[c*KK + kk, bi*P + p] = m * bilinear(src[n0+bi, c], p0 + pn + dpn)}, with
     * {@code m} the mask value (1 without a mask).
     */
    static void im2col(DeformGeometry g, MemorySegment src, MemorySegment offset, MemorySegment mask,
            MemorySegment cols, int n0, int b) {
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
        final int sh = g.sh(), sw = g.sw(), ph = g.ph(), pw = g.pw(), dh = g.dh(), dw = g.dw();
        Parallel.forRange(b * C, grain((long) KK * P), idx -> {
            int bi = idx / C;
            int c = idx % C;
            int n = n0 + bi;
            int og = c / cPerOff;
            long xBase = ((long) n * C + c) * H * W;
            long offBase = ((long) n * gOff + og) * KK * 2 * P;
            long maskBase = ((long) n * gOff + og) * KK * P;
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    int kk = i * KW + j;
                    long colBase = ((long) c * KK + kk) * BP + (long) bi * P;
                    long oyBase = offBase + 2L * kk * P;
                    long oxBase = oyBase + P;
                    long mBase = maskBase + (long) kk * P;
                    for (int oy = 0; oy < H2; oy++) {
                        int y0 = oy * sh - ph + i * dh;
                        for (int ox = 0; ox < W2; ox++) {
                            int p = oy * W2 + ox;
                            float y = y0 + offset.getAtIndex(F, oyBase + p);
                            float xx = (ox * sw - pw + j * dw) + offset.getAtIndex(F, oxBase + p);
                            float v = bilinear(src, xBase, H, W, y, xx);
                            if (mask != null) {
                                v *= mask.getAtIndex(F, mBase + p);
                            }
                            cols.setAtIndex(F, colBase + p, v);
                        }
                    }
                }
            }
        });
    }

    /**
     * The adjoint of {@link #im2col} in the input: {@code dsrc[n0+bi, c]} = the column gradients of channel
     * {@code c} scattered through the same bilinear weights (times the mask). Overwrites the chunk's planes.
     */
    static void col2im(DeformGeometry g, MemorySegment dcols, MemorySegment offset, MemorySegment mask,
            MemorySegment dsrc, int n0, int b) {
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
        final int sh = g.sh(), sw = g.sw(), ph = g.ph(), pw = g.pw(), dh = g.dh(), dw = g.dw();
        Parallel.forRange(b * C, grain((long) KK * P), idx -> {
            int bi = idx / C;
            int c = idx % C;
            int n = n0 + bi;
            int og = c / cPerOff;
            long xBase = ((long) n * C + c) * H * W;
            dsrc.asSlice(xBase * 4, (long) H * W * 4).fill((byte) 0);
            long offBase = ((long) n * gOff + og) * KK * 2 * P;
            long maskBase = ((long) n * gOff + og) * KK * P;
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    int kk = i * KW + j;
                    long colBase = ((long) c * KK + kk) * BP + (long) bi * P;
                    long oyBase = offBase + 2L * kk * P;
                    long oxBase = oyBase + P;
                    long mBase = maskBase + (long) kk * P;
                    for (int oy = 0; oy < H2; oy++) {
                        int y0 = oy * sh - ph + i * dh;
                        for (int ox = 0; ox < W2; ox++) {
                            int p = oy * W2 + ox;
                            float y = y0 + offset.getAtIndex(F, oyBase + p);
                            float xx = (ox * sw - pw + j * dw) + offset.getAtIndex(F, oxBase + p);
                            if (!(y > -1 && y < H && xx > -1 && xx < W)) {
                                continue;
                            }
                            float grad = dcols.getAtIndex(F, colBase + p);
                            if (mask != null) {
                                grad *= mask.getAtIndex(F, mBase + p);
                            }
                            int yl = (int) Math.floor(y);
                            int xl = (int) Math.floor(xx);
                            float ly = y - yl;
                            float lx = xx - xl;
                            float hy = 1 - ly;
                            float hx = 1 - lx;
                            long at = xBase + (long) yl * W + xl;
                            boolean y0ok = yl >= 0;
                            boolean y1ok = yl + 1 < H;
                            boolean x0ok = xl >= 0;
                            boolean x1ok = xl + 1 < W;
                            if (y0ok && x0ok) add(dsrc, at, hy * hx * grad);
                            if (y0ok && x1ok) add(dsrc, at + 1, hy * lx * grad);
                            if (y1ok && x0ok) add(dsrc, at + W, ly * hx * grad);
                            if (y1ok && x1ok) add(dsrc, at + W + 1, ly * lx * grad);
                        }
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
        final long colStride = KK * BP;
        final int sh = g.sh(), sw = g.sw(), ph = g.ph(), pw = g.pw(), dh = g.dh(), dw = g.dw();
        Parallel.forRange(b * gOff * KK, grain((long) cPerOff * P), idx -> {
            int kk = idx % KK;
            int og = (idx / KK) % gOff;
            int bi = idx / (KK * gOff);
            int n = n0 + bi;
            int i = kk / KW;
            int j = kk % KW;
            long xGroup = ((long) n * C + (long) og * cPerOff) * plane;
            long colGroup = ((long) og * cPerOff * KK + kk) * BP + (long) bi * P;
            long oyBase = (((long) n * gOff + og) * KK + kk) * 2 * P;
            long oxBase = oyBase + P;
            long mBase = (((long) n * gOff + og) * KK + kk) * P;
            for (int oy = 0; oy < H2; oy++) {
                int y0 = oy * sh - ph + i * dh;
                for (int ox = 0; ox < W2; ox++) {
                    int p = oy * W2 + ox;
                    float y = y0 + offset.getAtIndex(F, oyBase + p);
                    float xx = (ox * sw - pw + j * dw) + offset.getAtIndex(F, oxBase + p);
                    float gy = 0f;
                    float gx = 0f;
                    float gm = 0f;
                    if (y > -1 && y < H && xx > -1 && xx < W) {
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
                        long at = xGroup + (long) yl * W + xl;
                        long col = colGroup + p;
                        for (int c = 0; c < cPerOff; c++, at += plane, col += colStride) {
                            float dcol = dcols.getAtIndex(F, col);
                            float v00 = y0ok && x0ok ? src.getAtIndex(F, at) : 0f;
                            float v01 = y0ok && x1ok ? src.getAtIndex(F, at + 1) : 0f;
                            float v10 = y1ok && x0ok ? src.getAtIndex(F, at + W) : 0f;
                            float v11 = y1ok && x1ok ? src.getAtIndex(F, at + W + 1) : 0f;
                            gy += dcol * (hx * (v10 - v00) + lx * (v11 - v01));
                            gx += dcol * (hy * (v01 - v00) + ly * (v11 - v10));
                            gm += dcol * (hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11);
                        }
                        if (mask != null) {
                            float m = mask.getAtIndex(F, mBase + p);
                            gy *= m;
                            gx *= m;
                        }
                    }
                    if (doffset != null) {
                        doffset.setAtIndex(F, oyBase + p, gy);
                        doffset.setAtIndex(F, oxBase + p, gx);
                    }
                    if (dmask != null) {
                        dmask.setAtIndex(F, mBase + p, gm);
                    }
                }
            }
        });
    }

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
