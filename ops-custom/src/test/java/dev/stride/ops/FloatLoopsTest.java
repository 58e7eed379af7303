package dev.stride.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Both implementations of {@link FloatLoops} against double-precision loops written from the definitions, at
 * lengths around the vector width (empty, tails only, whole vectors plus tails) and at unaligned starts.
 */
class FloatLoopsTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int[] LENGTHS = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 784, 1001};

    @Test
    void testJvmHasTheVectorModuleSoTheSimdPathIsTheOneTested() {
        // Surefire's argLine adds the module; without it every test of the custom ops would run the plain loops.
        assertTrue(FloatLoops.VECTORIZED, FloatLoops.describe());
    }

    @Test
    void sumAndDotMatchTheDefinition() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = random(arena, 1200, 1);
            MemorySegment b = random(arena, 1200, 2);
            for (int len : LENGTHS) {
                for (int from = 0; from < 4; from++) {
                    double sum = 0;
                    double dot = 0;
                    for (int i = from; i < from + len; i++) {
                        sum += a.getAtIndex(F, i);
                        dot += (double) a.getAtIndex(F, i) * b.getAtIndex(F, i);
                    }
                    String at = "len " + len + " from " + from;
                    double tol = 1e-5 * (1 + len);
                    assertEquals(sum, VectorFloatLoops.sum(a, from, len), tol, "vector sum, " + at);
                    assertEquals(sum, ScalarFloatLoops.sum(a, from, len), tol, "scalar sum, " + at);
                    assertEquals(dot, VectorFloatLoops.dot(a, b, from, len), tol, "vector dot, " + at);
                    assertEquals(dot, ScalarFloatLoops.dot(a, b, from, len), tol, "scalar dot, " + at);
                }
            }
        }
    }

    @Test
    void scaleShiftWritesExactlyItsRangeAndMayRunInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = random(arena, 1200, 3);
            for (int len : LENGTHS) {
                for (int from = 0; from < 4; from++) {
                    for (boolean vector : new boolean[] {true, false}) {
                        for (boolean inPlace : new boolean[] {true, false}) {
                            MemorySegment dst = arena.allocate(1200L * Float.BYTES);
                            dst.fill((byte) 0x7f); // a marker outside the range: must survive
                            MemorySegment in = src;
                            if (inPlace) {
                                dst.copyFrom(src);
                                in = dst;
                            }
                            float k = -1.75f;
                            float g = 0.3f;
                            if (vector) {
                                VectorFloatLoops.scaleShift(in, dst, from, len, k, g);
                            } else {
                                ScalarFloatLoops.scaleShift(in, dst, from, len, k, g);
                            }
                            String at = (vector ? "vector" : "scalar") + (inPlace ? " in place" : "") + ", len " + len
                                    + " from " + from;
                            for (int i = 0; i < 1200; i++) {
                                float want = i >= from && i < from + len ? k * src.getAtIndex(F, i) + g
                                        : inPlace ? src.getAtIndex(F, i) : Float.intBitsToFloat(0x7f7f7f7f);
                                assertEquals(want, dst.getAtIndex(F, i), 1e-6f, at + ", element " + i);
                            }
                        }
                    }
                }
            }
        }
    }

    private static MemorySegment random(Arena arena, int n, long seed) {
        MemorySegment s = arena.allocate((long) n * Float.BYTES);
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            s.setAtIndex(F, i, (float) rnd.nextGaussian());
        }
        return s;
    }
}
