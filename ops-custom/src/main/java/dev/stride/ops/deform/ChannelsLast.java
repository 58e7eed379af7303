package dev.stride.ops.deform;

import dev.stride.core.Dnnl;
import dev.stride.ops.FloatLoops;
import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The Java halves of deformable convolution with channels innermost, used when there is one weight group
 * ({@link #applies}). The column matrix is transposed against {@link DeformKernels}': {@code [b*P, KH*KW*C]},
 * row {@code bi*P + p}, column {@code kk*C + c}, and the GEMMs read it transposed. Each task copies its image
 * to the Java heap as {@code H*W x C} (channels last), so for one (output pixel, tap) the four bilinear
 * neighbours are four runs of {@code C/G_off} consecutive floats and the sampled column entries one run more:
 * the inner loops read and write memory in order instead of one plane per channel (measured 2.5x faster per
 * sample than the channel-strided loop).
 *
 * <p>Sampling is the same as {@link DeformKernels}' (bilinear, zero outside, torchvision's rule). A neighbour
 * outside the input reads an extra row of zeros after the image (index {@code H*W}); in the backward its
 * share is added to an extra row that is thrown away.
 */
final class ChannelsLast {
    private ChannelsLast() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Most floats of one image's heap copy ({@code (H*W + 1) * C}): 8 MiB, and two such copies per thread. */
    static final long MAX_IMAGE_FLOATS = 1L << 21;

    /**
     * Whether this path handles {@code g}: one weight group (a tap's columns are then one run over all
     * channels), and an image small enough to copy whole to the Java heap ({@link #MAX_IMAGE_FLOATS}; larger
     * images go through {@link DeformKernels}, which copies four planes at a time).
     */
    static boolean applies(DeformGeometry g) {
        return g.groups() == 1 && (g.h() * g.w() + 1) * g.c() <= MAX_IMAGE_FLOATS;
    }

    /** Per-thread heap scratch, grown on demand (it never leaves the JVM). */
    private static final class Scratch {
        /** One image channels-last plus the zero row; the backward's input-gradient accumulators, likewise. */
        float[] x = new float[0], dx = x;
        /** One row of the column matrix ({@code KK*C}), and one image in planes for the transposes. */
        float[] row = x, plane = x;
        /** One image's offsets and mask, all offset groups ({@code gOff*KK*2*P} and {@code gOff*KK*P}). */
        float[] off = x, msk = x;
        /** The backward's offset and mask gradients of one (image, offset group). */
        float[] dOff = x, dMsk = x;
        /** One sampling point's neighbours and fractions (see {@link #neighbours}). */
        final int[] at = new int[4];
        final float[] frac = new float[2];
        /** One sampling point's {@code sum_c dcol[c] * neighbour_k[c]}, {@code k = 0..3}. */
        final float[] sums = new float[4];

        Scratch ensure(int image, int rowSize, int planeSize, int offsets) {
            if (x.length < image) {
                x = new float[image];
                dx = new float[image];
            }
            if (row.length < rowSize) {
                row = new float[rowSize];
            }
            if (plane.length < planeSize) {
                plane = new float[planeSize];
            }
            if (off.length < 2 * offsets) {
                off = new float[2 * offsets];
                msk = new float[offsets];
                dOff = new float[2 * offsets];
                dMsk = new float[offsets];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Copies image {@code n} of {@code src} ({@code C x H*W}) to {@code x} as {@code H*W x C}, then a zero row. */
    private static void loadImage(MemorySegment src, long n, int C, int plane, float[] x, float[] tmp) {
        MemorySegment.copy(src, F, n * C * plane * Float.BYTES, tmp, 0, C * plane);
        FloatLoops.transpose(tmp, 0, C, plane, x, 0);
        Arrays.fill(x, plane * C, (plane + 1) * C, 0f);
    }

    /**
     * The bilinear sampling point of output pixel {@code (oy, ox)} for tap {@code (i, j)}: writes its four
     * neighbours' row indices (the zero row {@code H*W} for a neighbour outside the input) to {@code at} and
     * its fractions {@code (ly, lx)} to {@code frac}; false, writing nothing, when the point reads only zeros.
     */
    private static boolean neighbours(DeformGeometry g, int oy, int ox, int i, int j, float dyOff, float dxOff,
            int[] at, float[] frac) {
        final int H = (int) g.h();
        final int W = (int) g.w();
        float y = oy * g.sh() - g.ph() + i * g.dh() + dyOff;
        float x = ox * g.sw() - g.pw() + j * g.dw() + dxOff;
        if (!(y > -1 && y < H && x > -1 && x < W)) {
            return false;
        }
        int yl = (int) Math.floor(y);
        int xl = (int) Math.floor(x);
        frac[0] = y - yl;
        frac[1] = x - xl;
        boolean y0ok = yl >= 0;
        boolean y1ok = yl + 1 < H;
        boolean x0ok = xl >= 0;
        boolean x1ok = xl + 1 < W;
        int none = H * W;
        at[0] = y0ok && x0ok ? yl * W + xl : none;
        at[1] = y0ok && x1ok ? yl * W + xl + 1 : none;
        at[2] = y1ok && x0ok ? (yl + 1) * W + xl : none;
        at[3] = y1ok && x1ok ? (yl + 1) * W + xl + 1 : none;
        return true;
    }

    /**
     * Deformable im2col into {@code colsT[bi*P + p, kk*C + c] = m * bilinear(src[n0+bi, c], p0 + pn + dpn)}.
     * Split by (image, block of output rows): every task writes its own rows of the column matrix.
     */
    static void im2col(DeformGeometry g, MemorySegment src, MemorySegment offset, MemorySegment mask,
            MemorySegment colsT, int n0, int b) {
        final int C = (int) g.c();
        final int KW = g.kw();
        final int KK = g.kh() * KW;
        final int H2 = (int) g.h2();
        final int W2 = (int) g.w2();
        final int P = H2 * W2;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final int plane = (int) (g.h() * g.w());
        final int rowBlocks = Math.min(H2, Math.max(1, (4 * Math.max(1, Dnnl.threads()) + b - 1) / b));
        final int rowsPerBlock = (H2 + rowBlocks - 1) / rowBlocks;
        Parallel.forRange(b * rowBlocks, 1, idx -> {
            int bi = idx / rowBlocks;
            int oyFrom = (idx % rowBlocks) * rowsPerBlock;
            int oyTo = Math.min(H2, oyFrom + rowsPerBlock);
            long n = n0 + bi;
            Scratch s = SCRATCH.get().ensure((plane + 1) * C, KK * C, C * plane, gOff * KK * P);
            float[] x = s.x, row = s.row, off = s.off, msk = s.msk;
            loadImage(src, n, C, plane, x, s.plane);
            DeformKernels.loadOffsets(offset, mask, n * gOff * KK, gOff * KK, P, off, msk);
            int[] at = s.at;
            float[] frac = s.frac;
            for (int oy = oyFrom; oy < oyTo; oy++) {
                for (int ox = 0; ox < W2; ox++) {
                    int p = oy * W2 + ox;
                    for (int og = 0; og < gOff; og++) {
                        int c0 = og * cPerOff;
                        for (int kk = 0; kk < KK; kk++) {
                            int tap = og * KK + kk;
                            int r = kk * C + c0;
                            if (!neighbours(g, oy, ox, kk / KW, kk % KW, off[2 * tap * P + p],
                                    off[(2 * tap + 1) * P + p], at, frac)) {
                                Arrays.fill(row, r, r + cPerOff, 0f);
                                continue;
                            }
                            float m = mask == null ? 1f : msk[tap * P + p];
                            float ly = frac[0], lx = frac[1], hy = 1 - ly, hx = 1 - lx;
                            FloatLoops.blend4(x, at[0] * C + c0, at[1] * C + c0, at[2] * C + c0, at[3] * C + c0,
                                    m * hy * hx, m * hy * lx, m * ly * hx, m * ly * lx, row, r, cPerOff);
                        }
                    }
                    MemorySegment.copy(row, 0, colsT, F, ((long) bi * P + p) * KK * C * Float.BYTES, KK * C);
                }
            }
        });
    }

    /**
     * The backward of {@link #im2col} from the column gradients {@code dcolsT} (same layout) in one pass:
     * scatters them into {@code dsrc} through the bilinear weights (overwriting the chunk's images), and sums
     * {@code dcol * neighbour} over the channels of an offset group for the offset and mask gradients
     * ({@link DeformKernels#storeCoordinateGradients}'s formulas). Any of {@code dsrc}, {@code doffset},
     * {@code dmask} may be null. Split by (image, offset group): a task owns those channels' planes of
     * {@code dsrc} and those taps of {@code doffset} and {@code dmask}.
     */
    static void backward(DeformGeometry g, MemorySegment dcolsT, MemorySegment src, MemorySegment offset,
            MemorySegment mask, MemorySegment dsrc, MemorySegment doffset, MemorySegment dmask, int n0, int b) {
        final int C = (int) g.c();
        final int KW = g.kw();
        final int KK = g.kh() * KW;
        final int H2 = (int) g.h2();
        final int W2 = (int) g.w2();
        final int P = H2 * W2;
        final int gOff = g.offsetGroups();
        final int cPerOff = C / gOff;
        final int plane = (int) (g.h() * g.w());
        final boolean wantDx = dsrc != null;
        final boolean wantCoords = doffset != null || dmask != null;
        Parallel.forRange(b * gOff, 1, idx -> {
            int og = idx % gOff;
            int bi = idx / gOff;
            long n = n0 + bi;
            long tapBase = (n * gOff + og) * KK;
            Scratch s = SCRATCH.get().ensure((plane + 1) * C, KK * C, C * plane, KK * P);
            float[] x = s.x, dx = s.dx, row = s.row, off = s.off, msk = s.msk;
            if (wantCoords) {
                loadImage(src, n, C, plane, x, s.plane);
            }
            if (wantDx) {
                Arrays.fill(dx, 0, (plane + 1) * C, 0f);
            }
            DeformKernels.loadOffsets(offset, mask, tapBase, KK, P, off, msk);
            // The coordinate gradients of this (image, offset group), written out in bulk at the end.
            float[] dOff = s.dOff;
            float[] dMsk = dmask != null ? s.dMsk : null;
            int c0 = og * cPerOff;
            int[] at = s.at;
            float[] frac = s.frac;
            float[] sums = s.sums;
            for (int oy = 0; oy < H2; oy++) {
                for (int ox = 0; ox < W2; ox++) {
                    int p = oy * W2 + ox;
                    MemorySegment.copy(dcolsT, F, ((long) bi * P + p) * KK * C * Float.BYTES, row, 0, KK * C);
                    for (int kk = 0; kk < KK; kk++) {
                        if (!neighbours(g, oy, ox, kk / KW, kk % KW, off[2 * kk * P + p], off[(2 * kk + 1) * P + p],
                                at, frac)) {
                            // reads only zeros: no gradient anywhere
                            if (wantCoords) {
                                dOff[2 * kk * P + p] = 0f;
                                dOff[(2 * kk + 1) * P + p] = 0f;
                                if (dMsk != null) {
                                    dMsk[kk * P + p] = 0f;
                                }
                            }
                            continue;
                        }
                        float m = mask == null ? 1f : msk[kk * P + p];
                        float ly = frac[0], lx = frac[1], hy = 1 - ly, hx = 1 - lx;
                        int r = kk * C + c0;
                        int a0 = at[0] * C + c0, a1 = at[1] * C + c0, a2 = at[2] * C + c0, a3 = at[3] * C + c0;
                        if (wantDx) {
                            FloatLoops.scatter4(row, r, cPerOff, m * hy * hx, m * hy * lx, m * ly * hx, m * ly * lx,
                                    dx, a0, a1, a2, a3);
                        }
                        if (wantCoords) {
                            FloatLoops.dot4(row, r, cPerOff, x, a0, a1, a2, a3, sums, 0);
                            float s00 = sums[0], s01 = sums[1], s10 = sums[2], s11 = sums[3];
                            dOff[2 * kk * P + p] = m * (hx * (s10 - s00) + lx * (s11 - s01));
                            dOff[(2 * kk + 1) * P + p] = m * (hy * (s01 - s00) + ly * (s11 - s10));
                            if (dMsk != null) {
                                dMsk[kk * P + p] = hy * (hx * s00 + lx * s01) + ly * (hx * s10 + lx * s11);
                            }
                        }
                    }
                }
            }
            if (wantDx && cPerOff == C) { // back to planes: dsrc[n, c, :] = dx[:, c]
                FloatLoops.transpose(dx, 0, plane, C, s.plane, 0);
                MemorySegment.copy(s.plane, 0, dsrc, F, n * C * plane * Float.BYTES, C * plane);
            } else if (wantDx) { // this offset group's channels only, one plane at a time
                float[] out = s.plane;
                for (int c = c0; c < c0 + cPerOff; c++) {
                    for (int sp = 0, o = c; sp < plane; sp++, o += C) {
                        out[sp] = dx[o];
                    }
                    MemorySegment.copy(out, 0, dsrc, F, (n * C + c) * plane * Float.BYTES, plane);
                }
            }
            if (doffset != null) {
                MemorySegment.copy(dOff, 0, doffset, F, tapBase * 2 * P * Float.BYTES, KK * 2 * P);
            }
            if (dMsk != null) {
                MemorySegment.copy(dMsk, 0, dmask, F, tapBase * P * Float.BYTES, KK * P);
            }
        });
    }

    /** {@code wT[k, kk*C + c] = w[k, c*KK + kk]}: the weights in the column order of this path. */
    static void permuteWeights(MemorySegment w, MemorySegment wT, int K, int C, int KK) {
        Scratch s = SCRATCH.get().ensure(0, C * KK, C * KK, 0);
        float[] a = s.row, t = s.plane;
        for (int k = 0; k < K; k++) {
            MemorySegment.copy(w, F, (long) k * C * KK * Float.BYTES, a, 0, C * KK);
            for (int c = 0; c < C; c++) {
                for (int kk = 0; kk < KK; kk++) {
                    t[kk * C + c] = a[c * KK + kk];
                }
            }
            MemorySegment.copy(t, 0, wT, F, (long) k * C * KK * Float.BYTES, C * KK);
        }
    }

    /** {@code dw[k, c*KK + kk] += dwT[k, kk*C + c]}: this path's weight gradient back in the weights' order. */
    static void accumulateWeights(MemorySegment dw, MemorySegment dwT, int K, int C, int KK) {
        Scratch s = SCRATCH.get().ensure(0, C * KK, C * KK, 0);
        float[] a = s.row, t = s.plane;
        for (int k = 0; k < K; k++) {
            MemorySegment.copy(dw, F, (long) k * C * KK * Float.BYTES, a, 0, C * KK);
            MemorySegment.copy(dwT, F, (long) k * C * KK * Float.BYTES, t, 0, C * KK);
            for (int c = 0; c < C; c++) {
                for (int kk = 0; kk < KK; kk++) {
                    a[c * KK + kk] += t[kk * C + c];
                }
            }
            MemorySegment.copy(a, 0, dw, F, (long) k * C * KK * Float.BYTES, C * KK);
        }
    }
}
