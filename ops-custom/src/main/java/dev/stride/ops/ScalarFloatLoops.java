package dev.stride.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link FloatLoops} as plain Java loops, for JVMs without the Vector API module. The reductions keep eight
 * partial sums, which breaks the add chain so that the loop is not bound by the latency of one accumulator
 * (the JIT does not reorder float additions by itself).
 */
final class ScalarFloatLoops {
    private ScalarFloatLoops() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static float sum(MemorySegment a, long from, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = from;
        for (long end8 = from + (len & ~7); i < end8; i += 8) {
            s0 += a.getAtIndex(F, i);
            s1 += a.getAtIndex(F, i + 1);
            s2 += a.getAtIndex(F, i + 2);
            s3 += a.getAtIndex(F, i + 3);
            s4 += a.getAtIndex(F, i + 4);
            s5 += a.getAtIndex(F, i + 5);
            s6 += a.getAtIndex(F, i + 6);
            s7 += a.getAtIndex(F, i + 7);
        }
        for (long end = from + len; i < end; i++) {
            s0 += a.getAtIndex(F, i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static float dot(MemorySegment a, MemorySegment b, long from, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = from;
        for (long end8 = from + (len & ~7); i < end8; i += 8) {
            s0 += a.getAtIndex(F, i) * b.getAtIndex(F, i);
            s1 += a.getAtIndex(F, i + 1) * b.getAtIndex(F, i + 1);
            s2 += a.getAtIndex(F, i + 2) * b.getAtIndex(F, i + 2);
            s3 += a.getAtIndex(F, i + 3) * b.getAtIndex(F, i + 3);
            s4 += a.getAtIndex(F, i + 4) * b.getAtIndex(F, i + 4);
            s5 += a.getAtIndex(F, i + 5) * b.getAtIndex(F, i + 5);
            s6 += a.getAtIndex(F, i + 6) * b.getAtIndex(F, i + 6);
            s7 += a.getAtIndex(F, i + 7) * b.getAtIndex(F, i + 7);
        }
        for (long end = from + len; i < end; i++) {
            s0 += a.getAtIndex(F, i) * b.getAtIndex(F, i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static void scaleShift(MemorySegment src, MemorySegment dst, long from, int len, float k, float g) {
        for (long i = from, end = from + len; i < end; i++) {
            dst.setAtIndex(F, i, k * src.getAtIndex(F, i) + g);
        }
    }

    static void sumPixels(MemorySegment a, MemorySegment b, long from, int pixels, int stride, MemorySegment acc,
            long accFrom, int len) {
        for (int i = 0; i < len; i++) {
            float sum = 0f;
            for (long q = from + i, end = q + (long) pixels * stride; q < end; q += stride) {
                sum += b == null ? a.getAtIndex(F, q) : a.getAtIndex(F, q) * b.getAtIndex(F, q);
            }
            acc.setAtIndex(F, accFrom + i, sum);
        }
    }

    static void scaleShiftPixels(MemorySegment a, MemorySegment dst, long from, int pixels, int len, MemorySegment s,
            MemorySegment t, long sFrom, float k) {
        for (int p = 0; p < pixels; p++) {
            scaleShiftChannels(a, dst, from + (long) p * len, s, t, sFrom, k, 0, len);
        }
    }

    /** {@link #scaleShiftPixels} for channels {@code [i0, len)} of the pixel at {@code from}. */
    static void scaleShiftChannels(MemorySegment a, MemorySegment dst, long from, MemorySegment s, MemorySegment t,
            long sFrom, float k, int i0, int len) {
        for (int i = i0; i < len; i++) {
            float shift = t == null ? 0f : k * t.getAtIndex(F, sFrom + i);
            dst.setAtIndex(F, from + i, s.getAtIndex(F, sFrom + i) * a.getAtIndex(F, from + i) + shift);
        }
    }

    static void blend4(float[] x, int a0, int a1, int a2, int a3, float v0, float v1, float v2, float v3, float[] y,
            int yFrom, int len) {
        for (int c = 0; c < len; c++) {
            y[yFrom + c] = v0 * x[a0 + c] + v1 * x[a1 + c] + v2 * x[a2 + c] + v3 * x[a3 + c];
        }
    }

    static void scatter4(float[] d, int dFrom, int len, float v0, float v1, float v2, float v3, float[] dx, int a0,
            int a1, int a2, int a3) {
        for (int c = 0; c < len; c++) {
            float g = d[dFrom + c];
            dx[a0 + c] += v0 * g;
            dx[a1 + c] += v1 * g;
            dx[a2 + c] += v2 * g;
            dx[a3 + c] += v3 * g;
        }
    }

    static void dot4(float[] d, int dFrom, int len, float[] x, int a0, int a1, int a2, int a3, float[] sums, int sFrom) {
        float t0 = 0f, t1 = 0f, t2 = 0f, t3 = 0f;
        for (int c = 0; c < len; c++) {
            float g = d[dFrom + c];
            t0 += g * x[a0 + c];
            t1 += g * x[a1 + c];
            t2 += g * x[a2 + c];
            t3 += g * x[a3 + c];
        }
        sums[sFrom] = t0;
        sums[sFrom + 1] = t1;
        sums[sFrom + 2] = t2;
        sums[sFrom + 3] = t3;
    }

    static void transpose(float[] in, int inFrom, int rows, int cols, float[] out, int outFrom) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[outFrom + c * rows + r] = in[inFrom + r * cols + c];
            }
        }
    }
}
