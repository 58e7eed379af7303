package dev.stride.ops.stn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The grid sampler's kernels on the Vector API, channels-last: a task's planes are transposed to
 * {@code pixel x channel} on the heap, so that the four taps of an output point are four runs of consecutive
 * channels, blended 8 channels per instruction, and the result is transposed back to planes.
 *
 * <p>Why: one plane per channel makes the taps of 8 neighbouring points a gather, and this machine's gathers are
 * slower than scalar loads (2.0 against 1.7 ms for the batch's blend, one thread); channels-last makes them plain
 * loads (0.33 ms). The transposes are 8x8 tiles through register shuffles (0.64 ms for both, against 1.5-1.9 ms as
 * scalar loops), on the heap copies that the plane-per-channel kernels make as well. Used only when the JVM has
 * the Vector API with vectors of 8 floats or more; otherwise this class is never loaded (it needs the module).
 */
final class VectorSampling {
    private VectorSampling() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = 8;

    // The 8x8 transpose swaps bit d of the row with bit d of the column, for d = 4, 2, 1. For a row pair
    // (i, i + d), lanes with bit d set take the partner's lane moved by d (UP: from col - d, DOWN: from col + d).
    private static final VectorShuffle<Float> UP4 = move(4, -1), DOWN4 = move(4, 1);
    private static final VectorShuffle<Float> UP2 = move(2, -1), DOWN2 = move(2, 1);
    private static final VectorShuffle<Float> UP1 = move(1, -1), DOWN1 = move(1, 1);
    private static final VectorMask<Float> BIT4 = bit(4), BIT2 = bit(2), BIT1 = bit(1);

    private static VectorShuffle<Float> move(int d, int sign) {
        int[] from = new int[L];
        for (int col = 0; col < L; col++) {
            boolean set = (col & d) != 0;
            from[col] = sign < 0 ? (set ? col - d : col) : (set ? col : col + d);
        }
        return VectorShuffle.fromValues(S, from);
    }

    private static VectorMask<Float> bit(int d) {
        boolean[] set = new boolean[L];
        for (int col = 0; col < L; col++) {
            set[col] = (col & d) != 0;
        }
        return VectorMask.fromArray(S, set, 0);
    }

    /**
     * {@code out[outFrom + c * rows + r] = in[inFrom + r * cols + c]} for a {@code rows x cols} row-major block:
     * whole 8x8 tiles in registers, the edges one element at a time. On Java arrays: the same tiles over
     * {@code MemorySegment}s ran at half the speed.
     */
    static void transpose(float[] in, int inFrom, int rows, int cols, float[] out, int outFrom) {
        int rows8 = rows & ~(L - 1);
        int cols8 = cols & ~(L - 1);
        for (int r = 0; r < rows8; r += L) {
            for (int c = 0; c < cols8; c += L) {
                tile(in, inFrom + r * cols + c, cols, out, outFrom + c * rows + r, rows);
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int c = r < rows8 ? cols8 : 0; c < cols; c++) {
                out[outFrom + c * rows + r] = in[inFrom + r * cols + c];
            }
        }
    }

    /** One 8x8 tile: 8 rows {@code inStride} floats apart to 8 rows {@code outStride} floats apart. */
    private static void tile(float[] in, int i, int inStride, float[] out, int o, int outStride) {
        FloatVector r0 = FloatVector.fromArray(S, in, i);
        FloatVector r1 = FloatVector.fromArray(S, in, i + inStride);
        FloatVector r2 = FloatVector.fromArray(S, in, i + 2 * inStride);
        FloatVector r3 = FloatVector.fromArray(S, in, i + 3 * inStride);
        FloatVector r4 = FloatVector.fromArray(S, in, i + 4 * inStride);
        FloatVector r5 = FloatVector.fromArray(S, in, i + 5 * inStride);
        FloatVector r6 = FloatVector.fromArray(S, in, i + 6 * inStride);
        FloatVector r7 = FloatVector.fromArray(S, in, i + 7 * inStride);
        FloatVector a0 = r0.blend(r4.rearrange(UP4), BIT4);
        FloatVector a4 = r0.rearrange(DOWN4).blend(r4, BIT4);
        FloatVector a1 = r1.blend(r5.rearrange(UP4), BIT4);
        FloatVector a5 = r1.rearrange(DOWN4).blend(r5, BIT4);
        FloatVector a2 = r2.blend(r6.rearrange(UP4), BIT4);
        FloatVector a6 = r2.rearrange(DOWN4).blend(r6, BIT4);
        FloatVector a3 = r3.blend(r7.rearrange(UP4), BIT4);
        FloatVector a7 = r3.rearrange(DOWN4).blend(r7, BIT4);
        r0 = a0.blend(a2.rearrange(UP2), BIT2);
        r2 = a0.rearrange(DOWN2).blend(a2, BIT2);
        r1 = a1.blend(a3.rearrange(UP2), BIT2);
        r3 = a1.rearrange(DOWN2).blend(a3, BIT2);
        r4 = a4.blend(a6.rearrange(UP2), BIT2);
        r6 = a4.rearrange(DOWN2).blend(a6, BIT2);
        r5 = a5.blend(a7.rearrange(UP2), BIT2);
        r7 = a5.rearrange(DOWN2).blend(a7, BIT2);
        r0.blend(r1.rearrange(UP1), BIT1).intoArray(out, o);
        r0.rearrange(DOWN1).blend(r1, BIT1).intoArray(out, o + outStride);
        r2.blend(r3.rearrange(UP1), BIT1).intoArray(out, o + 2 * outStride);
        r2.rearrange(DOWN1).blend(r3, BIT1).intoArray(out, o + 3 * outStride);
        r4.blend(r5.rearrange(UP1), BIT1).intoArray(out, o + 4 * outStride);
        r4.rearrange(DOWN1).blend(r5, BIT1).intoArray(out, o + 5 * outStride);
        r6.blend(r7.rearrange(UP1), BIT1).intoArray(out, o + 6 * outStride);
        r6.rearrange(DOWN1).blend(r7, BIT1).intoArray(out, o + 7 * outStride);
    }

    /**
     * One output row of the blend, channels-last: for each of the row's {@code points} (taps {@code at}, weights
     * {@code wt}, 4 per point, as {@code GridSampler} computes them), {@code y[yFrom + p * nc + ch] = sum_k wt_k *
     * x[at_k * nc + ch]} over the {@code nc} channels.
     */
    static void blendRow(int[] at, float[] wt, int points, float[] x, int nc, float[] y, int yFrom) {
        int nc8 = nc & ~(L - 1);
        for (int k = 0, yo = yFrom; k < 4 * points; k += 4, yo += nc) {
            int a0 = at[k] * nc, a1 = at[k + 1] * nc, a2 = at[k + 2] * nc, a3 = at[k + 3] * nc;
            float v0 = wt[k], v1 = wt[k + 1], v2 = wt[k + 2], v3 = wt[k + 3];
            FloatVector w0 = FloatVector.broadcast(S, v0);
            FloatVector w1 = FloatVector.broadcast(S, v1);
            FloatVector w2 = FloatVector.broadcast(S, v2);
            FloatVector w3 = FloatVector.broadcast(S, v3);
            int ch = 0;
            for (; ch < nc8; ch += L) {
                FloatVector s = w0.mul(FloatVector.fromArray(S, x, a0 + ch));
                s = w1.fma(FloatVector.fromArray(S, x, a1 + ch), s);
                s = w2.fma(FloatVector.fromArray(S, x, a2 + ch), s);
                s = w3.fma(FloatVector.fromArray(S, x, a3 + ch), s);
                s.intoArray(y, yo + ch);
            }
            for (; ch < nc; ch++) {
                y[yo + ch] = Math.fma(v3, x[a3 + ch], Math.fma(v2, x[a2 + ch], Math.fma(v1, x[a1 + ch], v0 * x[a0 + ch])));
            }
        }
    }

    /**
     * One output row of the backward, channels-last: for each of the row's {@code points}, with {@code g} the
     * point's {@code nc} channels of {@code dy} (from {@code dyFrom}, {@code nc} apart), scatters
     * {@code dx[at_k * nc + ch] += wt_k * g[ch]} when {@code dx} is given, and when {@code x} is given stores
     * {@code sums[4j + k] = sum_ch g[ch] * x[at_k * nc + ch]} (what the grid gradient needs). The sums are the
     * same whether or not {@code dx} is wanted.
     */
    static void scatterRow(int[] at, float[] wt, int points, float[] x, float[] dy, int dyFrom, int nc, float[] dx,
            float[] sums) {
        int nc8 = nc & ~(L - 1);
        for (int k = 0, yo = dyFrom; k < 4 * points; k += 4, yo += nc) {
            int a0 = at[k] * nc, a1 = at[k + 1] * nc, a2 = at[k + 2] * nc, a3 = at[k + 3] * nc;
            float v0 = wt[k], v1 = wt[k + 1], v2 = wt[k + 2], v3 = wt[k + 3];
            if (dx != null) {
                FloatVector w0 = FloatVector.broadcast(S, v0);
                FloatVector w1 = FloatVector.broadcast(S, v1);
                FloatVector w2 = FloatVector.broadcast(S, v2);
                FloatVector w3 = FloatVector.broadcast(S, v3);
                int ch = 0;
                // Taps outside the image carry weight 0 at offset 0: adding 0 there is harmless.
                for (; ch < nc8; ch += L) {
                    FloatVector g = FloatVector.fromArray(S, dy, yo + ch);
                    w0.fma(g, FloatVector.fromArray(S, dx, a0 + ch)).intoArray(dx, a0 + ch);
                    w1.fma(g, FloatVector.fromArray(S, dx, a1 + ch)).intoArray(dx, a1 + ch);
                    w2.fma(g, FloatVector.fromArray(S, dx, a2 + ch)).intoArray(dx, a2 + ch);
                    w3.fma(g, FloatVector.fromArray(S, dx, a3 + ch)).intoArray(dx, a3 + ch);
                }
                for (; ch < nc; ch++) {
                    float g = dy[yo + ch];
                    dx[a0 + ch] = Math.fma(v0, g, dx[a0 + ch]);
                    dx[a1 + ch] = Math.fma(v1, g, dx[a1 + ch]);
                    dx[a2 + ch] = Math.fma(v2, g, dx[a2 + ch]);
                    dx[a3 + ch] = Math.fma(v3, g, dx[a3 + ch]);
                }
            }
            if (x != null) {
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = s0, s2 = s0, s3 = s0;
                int ch = 0;
                for (; ch < nc8; ch += L) {
                    FloatVector g = FloatVector.fromArray(S, dy, yo + ch);
                    s0 = g.fma(FloatVector.fromArray(S, x, a0 + ch), s0);
                    s1 = g.fma(FloatVector.fromArray(S, x, a1 + ch), s1);
                    s2 = g.fma(FloatVector.fromArray(S, x, a2 + ch), s2);
                    s3 = g.fma(FloatVector.fromArray(S, x, a3 + ch), s3);
                }
                float t0 = s0.reduceLanes(VectorOperators.ADD), t1 = s1.reduceLanes(VectorOperators.ADD);
                float t2 = s2.reduceLanes(VectorOperators.ADD), t3 = s3.reduceLanes(VectorOperators.ADD);
                for (; ch < nc; ch++) {
                    float g = dy[yo + ch];
                    t0 = Math.fma(g, x[a0 + ch], t0);
                    t1 = Math.fma(g, x[a1 + ch], t1);
                    t2 = Math.fma(g, x[a2 + ch], t2);
                    t3 = Math.fma(g, x[a3 + ch], t3);
                }
                sums[k] = t0;
                sums[k + 1] = t1;
                sums[k + 2] = t2;
                sums[k + 3] = t3;
            }
        }
    }
}
