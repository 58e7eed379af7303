package dev.stride.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FloatLoops} on the Vector API, in the JVM's preferred vector width. Only loaded when
 * {@link FloatLoops#VECTORIZED} (the module is optional). The reductions keep two vector accumulators, enough
 * to hide the add latency at memory speed; the tails run one element at a time (the array kernels' tails are
 * {@link ScalarFloatLoops}'s).
 */
final class VectorFloatLoops {
    private VectorFloatLoops() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = S.vectorByteSize();
    /** The transposes' tiles are 8x8, whatever the preferred width. */
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;

    // Horizontal sums in one fixed order, a tree of lane-wise adds (lane i with lane i ^ d). reduceLanes(ADD) may
    // add in any order, and does differently before and after the JIT compiles it: training runs then differed.
    private static final VectorShuffle<Float> XOR1 = xor(1), XOR2 = xor(2), XOR4 = xor(4), XOR8 = xor(8);

    private static VectorShuffle<Float> xor(int d) {
        if (d >= LANES) {
            return null;
        }
        int[] from = new int[LANES];
        for (int i = 0; i < LANES; i++) {
            from[i] = i ^ d;
        }
        return VectorShuffle.fromValues(S, from);
    }

    /** The sum of {@code v}'s lanes, the same bits whether interpreted or compiled. */
    static float sumLanes(FloatVector v) {
        if (LANES > 16) { // wider than the shuffles above: lane order
            float s = 0f;
            for (int i = 0; i < LANES; i++) {
                s += v.lane(i);
            }
            return s;
        }
        if (LANES > 8) {
            v = v.add(v.rearrange(XOR8));
        }
        if (LANES > 4) {
            v = v.add(v.rearrange(XOR4));
        }
        if (LANES > 2) {
            v = v.add(v.rearrange(XOR2));
        }
        if (LANES > 1) {
            v = v.add(v.rearrange(XOR1));
        }
        return v.lane(0);
    }

    static float sum(MemorySegment a, long from, int len) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        long o = from * Float.BYTES;
        for (long end = o + (len / (2 * LANES)) * 2 * VECTOR_BYTES; o < end; o += 2 * VECTOR_BYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, a, o, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(S, a, o + VECTOR_BYTES, ORDER));
        }
        float s = sumLanes(s0.add(s1));
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            s += a.getAtIndex(F, i);
        }
        return s;
    }

    static float dot(MemorySegment a, MemorySegment b, long from, int len) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        long o = from * Float.BYTES;
        for (long end = o + (len / (2 * LANES)) * 2 * VECTOR_BYTES; o < end; o += 2 * VECTOR_BYTES) {
            s0 = FloatVector.fromMemorySegment(S, a, o, ORDER).fma(FloatVector.fromMemorySegment(S, b, o, ORDER), s0);
            long o1 = o + VECTOR_BYTES;
            s1 = FloatVector.fromMemorySegment(S, a, o1, ORDER).fma(FloatVector.fromMemorySegment(S, b, o1, ORDER), s1);
        }
        float s = sumLanes(s0.add(s1));
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            s += a.getAtIndex(F, i) * b.getAtIndex(F, i);
        }
        return s;
    }

    static void scaleShift(MemorySegment src, MemorySegment dst, long from, int len, float k, float g) {
        FloatVector kv = FloatVector.broadcast(S, k);
        FloatVector gv = FloatVector.broadcast(S, g);
        long o = from * Float.BYTES;
        for (long end = o + (len / LANES) * VECTOR_BYTES; o < end; o += VECTOR_BYTES) {
            FloatVector.fromMemorySegment(S, src, o, ORDER).fma(kv, gv).intoMemorySegment(dst, o, ORDER);
        }
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            dst.setAtIndex(F, i, k * src.getAtIndex(F, i) + g);
        }
    }

    /**
     * Per-channel sums down the pixels of {@code a}, or of {@code a * b} when {@code b} is not null: a vector of
     * channels at a time, with two accumulators (even and odd pixels) so that the add latency does not bound
     * them; channels beyond the last whole vector run as plain loops.
     */
    static void sumPixels(MemorySegment a, MemorySegment b, long from, int pixels, int stride, MemorySegment acc,
            long accFrom, int len) {
        long step = (long) stride * Float.BYTES;
        int i = 0;
        for (; i <= len - LANES; i += LANES) {
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = s0;
            long o = (from + i) * Float.BYTES;
            int p = 0;
            for (; p + 1 < pixels; p += 2, o += 2 * step) {
                s0 = addTerm(a, b, o, s0);
                s1 = addTerm(a, b, o + step, s1);
            }
            if (p < pixels) {
                s0 = addTerm(a, b, o, s0);
            }
            s0.add(s1).intoMemorySegment(acc, (accFrom + i) * Float.BYTES, ORDER);
        }
        ScalarFloatLoops.sumPixels(a, b, from + i, pixels, stride, acc, accFrom + i, len - i);
    }

    /** {@code sum + a[o]}, or {@code sum + a[o] * b[o]}; {@code o} in bytes. */
    private static FloatVector addTerm(MemorySegment a, MemorySegment b, long o, FloatVector sum) {
        FloatVector v = FloatVector.fromMemorySegment(S, a, o, ORDER);
        return b == null ? sum.add(v) : v.fma(FloatVector.fromMemorySegment(S, b, o, ORDER), sum);
    }

    static void scaleShiftPixels(MemorySegment a, MemorySegment dst, long from, int pixels, int len, MemorySegment s,
            MemorySegment t, long sFrom, float k) {
        int whole = len - len % LANES;
        long q0 = sFrom * Float.BYTES;
        if (whole == len) { // one run over all the pixels, the channel position cycling through the scales
            long qEnd = q0 + (long) len * Float.BYTES;
            long q = q0;
            for (long o = from * Float.BYTES, end = o + (long) pixels * len * Float.BYTES; o < end; o += VECTOR_BYTES) {
                scaleShiftVector(a, dst, o, s, t, q, k);
                q += VECTOR_BYTES;
                if (q == qEnd) {
                    q = q0;
                }
            }
            return;
        }
        for (int p = 0; p < pixels; p++) {
            long pixel = from + (long) p * len;
            long o = pixel * Float.BYTES;
            for (long q = q0, end = q0 + (long) whole * Float.BYTES; q < end; q += VECTOR_BYTES, o += VECTOR_BYTES) {
                scaleShiftVector(a, dst, o, s, t, q, k);
            }
            ScalarFloatLoops.scaleShiftChannels(a, dst, pixel, s, t, sFrom, k, whole, len);
        }
    }

    /** One vector of {@link #scaleShiftPixels}: pixel values at byte {@code o}, scales and shifts at byte {@code q}. */
    private static void scaleShiftVector(MemorySegment a, MemorySegment dst, long o, MemorySegment s, MemorySegment t,
            long q, float k) {
        FloatVector shift = t == null ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, t, q, ORDER).mul(k);
        FloatVector.fromMemorySegment(S, s, q, ORDER).fma(FloatVector.fromMemorySegment(S, a, o, ORDER), shift)
                .intoMemorySegment(dst, o, ORDER);
    }

    static void blend4(float[] x, int a0, int a1, int a2, int a3, float v0, float v1, float v2, float v3, float[] y,
            int yFrom, int len) {
        FloatVector w0 = FloatVector.broadcast(S, v0);
        FloatVector w1 = FloatVector.broadcast(S, v1);
        FloatVector w2 = FloatVector.broadcast(S, v2);
        FloatVector w3 = FloatVector.broadcast(S, v3);
        int c = 0;
        for (int end = len - LANES; c <= end; c += LANES) {
            FloatVector s = w0.mul(FloatVector.fromArray(S, x, a0 + c));
            s = w1.fma(FloatVector.fromArray(S, x, a1 + c), s);
            s = w2.fma(FloatVector.fromArray(S, x, a2 + c), s);
            s = w3.fma(FloatVector.fromArray(S, x, a3 + c), s);
            s.intoArray(y, yFrom + c);
        }
        ScalarFloatLoops.blend4(x, a0 + c, a1 + c, a2 + c, a3 + c, v0, v1, v2, v3, y, yFrom + c, len - c);
    }

    static void scatter4(float[] d, int dFrom, int len, float v0, float v1, float v2, float v3, float[] dx, int a0,
            int a1, int a2, int a3) {
        FloatVector w0 = FloatVector.broadcast(S, v0);
        FloatVector w1 = FloatVector.broadcast(S, v1);
        FloatVector w2 = FloatVector.broadcast(S, v2);
        FloatVector w3 = FloatVector.broadcast(S, v3);
        int c = 0;
        // One tap's load-add-store finishes before the next tap's load: taps that share elements add up.
        for (int end = len - LANES; c <= end; c += LANES) {
            FloatVector g = FloatVector.fromArray(S, d, dFrom + c);
            w0.fma(g, FloatVector.fromArray(S, dx, a0 + c)).intoArray(dx, a0 + c);
            w1.fma(g, FloatVector.fromArray(S, dx, a1 + c)).intoArray(dx, a1 + c);
            w2.fma(g, FloatVector.fromArray(S, dx, a2 + c)).intoArray(dx, a2 + c);
            w3.fma(g, FloatVector.fromArray(S, dx, a3 + c)).intoArray(dx, a3 + c);
        }
        ScalarFloatLoops.scatter4(d, dFrom + c, len - c, v0, v1, v2, v3, dx, a0 + c, a1 + c, a2 + c, a3 + c);
    }

    static void dot4(float[] d, int dFrom, int len, float[] x, int a0, int a1, int a2, int a3, float[] sums, int sFrom) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0, s2 = s0, s3 = s0;
        int c = 0;
        for (int end = len - LANES; c <= end; c += LANES) {
            FloatVector g = FloatVector.fromArray(S, d, dFrom + c);
            s0 = g.fma(FloatVector.fromArray(S, x, a0 + c), s0);
            s1 = g.fma(FloatVector.fromArray(S, x, a1 + c), s1);
            s2 = g.fma(FloatVector.fromArray(S, x, a2 + c), s2);
            s3 = g.fma(FloatVector.fromArray(S, x, a3 + c), s3);
        }
        ScalarFloatLoops.dot4(d, dFrom + c, len - c, x, a0 + c, a1 + c, a2 + c, a3 + c, sums, sFrom); // the tail
        sums[sFrom] += sumLanes(s0);
        sums[sFrom + 1] += sumLanes(s1);
        sums[sFrom + 2] += sumLanes(s2);
        sums[sFrom + 3] += sumLanes(s3);
    }

    // The 8x8 transpose swaps bit d of the row with bit d of the column, for d = 4, 2, 1. For a row pair
    // (i, i + d), lanes with bit d set take the partner's lane moved by d (UP: from col - d, DOWN: from col + d).
    private static final VectorShuffle<Float> UP4 = move(4, -1), DOWN4 = move(4, 1);
    private static final VectorShuffle<Float> UP2 = move(2, -1), DOWN2 = move(2, 1);
    private static final VectorShuffle<Float> UP1 = move(1, -1), DOWN1 = move(1, 1);
    private static final VectorMask<Float> BIT4 = bit(4), BIT2 = bit(2), BIT1 = bit(1);

    private static VectorShuffle<Float> move(int d, int sign) {
        int[] from = new int[8];
        for (int col = 0; col < 8; col++) {
            boolean set = (col & d) != 0;
            from[col] = sign < 0 ? (set ? col - d : col) : (set ? col : col + d);
        }
        return VectorShuffle.fromValues(S8, from);
    }

    private static VectorMask<Float> bit(int d) {
        boolean[] set = new boolean[8];
        for (int col = 0; col < 8; col++) {
            set[col] = (col & d) != 0;
        }
        return VectorMask.fromArray(S8, set, 0);
    }

    /**
     * {@code out[outFrom + c * rows + r] = in[inFrom + r * cols + c]} for a {@code rows x cols} row-major block:
     * whole 8x8 tiles in registers (needs vectors of 8 floats: {@link FloatLoops#transpose} checks), the edges
     * one element at a time. On Java arrays: the same tiles over {@code MemorySegment}s ran at half the speed.
     */
    static void transpose(float[] in, int inFrom, int rows, int cols, float[] out, int outFrom) {
        int rows8 = rows & ~7;
        int cols8 = cols & ~7;
        for (int r = 0; r < rows8; r += 8) {
            for (int c = 0; c < cols8; c += 8) {
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
        FloatVector r0 = FloatVector.fromArray(S8, in, i);
        FloatVector r1 = FloatVector.fromArray(S8, in, i + inStride);
        FloatVector r2 = FloatVector.fromArray(S8, in, i + 2 * inStride);
        FloatVector r3 = FloatVector.fromArray(S8, in, i + 3 * inStride);
        FloatVector r4 = FloatVector.fromArray(S8, in, i + 4 * inStride);
        FloatVector r5 = FloatVector.fromArray(S8, in, i + 5 * inStride);
        FloatVector r6 = FloatVector.fromArray(S8, in, i + 6 * inStride);
        FloatVector r7 = FloatVector.fromArray(S8, in, i + 7 * inStride);
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
}
