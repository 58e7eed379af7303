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
}
