package dev.stride.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Both implementations of {@link FloatLoops} against loops written from the definitions (in double where they
 * sum), at lengths around the vector width (empty, tails only, whole vectors plus tails) and at unaligned starts.
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
    void theVectorApiIsOnlyUsedWhenC2CompilesIt() {
        assertTrue(FloatLoops.optimisingJit("mixed mode, sharing", "true", "4"));
        assertTrue(FloatLoops.optimisingJit("mixed mode", "false", "1")); // C2 only
        assertTrue(FloatLoops.optimisingJit("", null, null)); // not HotSpot
        assertFalse(FloatLoops.optimisingJit("mixed mode", "true", "1")); // C1 only, a common dev setting
        assertFalse(FloatLoops.optimisingJit("mixed mode", "true", "3"));
        assertFalse(FloatLoops.optimisingJit("interpreted mode, sharing", "true", "4")); // -Xint
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

    /**
     * The channels-last blocks: per-channel sums and dot products down pixels {@code stride} apart, and the
     * per-channel scale and shift of consecutive pixels (with and without the shift), against the definitions.
     */
    @Test
    void channelsLastBlocksMatchTheDefinition() {
        int stride = 37; // channels per pixel; the blocks read len <= stride of them, from channel c0
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = random(arena, 40 * stride + 8, 6);
            MemorySegment b = random(arena, 40 * stride + 8, 7);
            MemorySegment s = random(arena, 64, 8);
            MemorySegment t = random(arena, 64, 9);
            float k = 0.37f;
            for (int pixels : new int[] {0, 1, 2, 7, 40}) {
                for (int len : new int[] {0, 1, 7, 8, 9, 17, 33, 37}) {
                    int c0 = Math.min(3, stride - len);
                    for (boolean vector : new boolean[] {true, false}) {
                        String at = (vector ? "vector" : "scalar") + ", " + pixels + " pixels, len " + len;
                        MemorySegment sums = arena.allocate(64L * Float.BYTES).fill((byte) 0x7f);
                        MemorySegment dots = arena.allocate(64L * Float.BYTES).fill((byte) 0x7f);
                        MemorySegment shifted = arena.allocate((long) pixels * len * Float.BYTES + 8);
                        MemorySegment scaled = arena.allocate((long) pixels * len * Float.BYTES + 8);
                        if (vector) {
                            VectorFloatLoops.sumPixels(a, null, c0, pixels, stride, sums, 5, len);
                            VectorFloatLoops.sumPixels(a, b, c0, pixels, stride, dots, 5, len);
                            VectorFloatLoops.scaleShiftPixels(a, shifted, 1, pixels, len, s, t, 2, k);
                            VectorFloatLoops.scaleShiftPixels(a, scaled, 1, pixels, len, s, null, 2, k);
                        } else {
                            ScalarFloatLoops.sumPixels(a, null, c0, pixels, stride, sums, 5, len);
                            ScalarFloatLoops.sumPixels(a, b, c0, pixels, stride, dots, 5, len);
                            ScalarFloatLoops.scaleShiftPixels(a, shifted, 1, pixels, len, s, t, 2, k);
                            ScalarFloatLoops.scaleShiftPixels(a, scaled, 1, pixels, len, s, null, 2, k);
                        }
                        for (int i = 0; i < 64; i++) {
                            double sum = 0;
                            double dot = 0;
                            for (int p = 0; p < pixels; p++) {
                                long q = c0 + (long) p * stride + (i - 5);
                                if (i >= 5 && i < 5 + len) {
                                    sum += a.getAtIndex(F, q);
                                    dot += (double) a.getAtIndex(F, q) * b.getAtIndex(F, q);
                                }
                            }
                            boolean in = i >= 5 && i < 5 + len;
                            float marker = Float.intBitsToFloat(0x7f7f7f7f);
                            assertEquals(in ? sum : marker, sums.getAtIndex(F, i), 1e-5 * (1 + pixels), at + ", sum " + i);
                            assertEquals(in ? dot : marker, dots.getAtIndex(F, i), 1e-5 * (1 + pixels), at + ", dot " + i);
                        }
                        for (int p = 0; p < pixels; p++) {
                            for (int i = 0; i < len; i++) {
                                long q = 1 + (long) p * len + i;
                                float sc = s.getAtIndex(F, 2 + i) * a.getAtIndex(F, q);
                                assertEquals(sc + k * t.getAtIndex(F, 2 + i), shifted.getAtIndex(F, q), 1e-5f,
                                        at + ", scale and shift, pixel " + p + " channel " + i);
                                assertEquals(sc, scaled.getAtIndex(F, q), 1e-6f, at + ", scale, pixel " + p + " channel " + i);
                            }
                        }
                        assertEquals(0f, shifted.getAtIndex(F, 0), at + ": wrote before from");
                    }
                }
            }
        }
    }

    @Test
    void transposeMatchesTheDefinitionForTilesAndEdges() {
        int[][] sizes = {{8, 8}, {32, 784}, {13, 21}, {5, 3}, {16, 9}, {1, 17}, {24, 1}, {0, 5}};
        for (int[] rc : sizes) {
            int rows = rc[0], cols = rc[1];
            float[] in = new float[3 + rows * cols];
            for (int i = 0; i < in.length; i++) {
                in[i] = i;
            }
            float[] want = new float[2 + rows * cols + 1];
            for (int row = 0; row < rows; row++) {
                for (int col = 0; col < cols; col++) {
                    want[2 + col * rows + row] = in[3 + row * cols + col];
                }
            }
            float[] vector = new float[want.length];
            float[] scalar = new float[want.length];
            VectorFloatLoops.transpose(in, 3, rows, cols, vector, 2);
            ScalarFloatLoops.transpose(in, 3, rows, cols, scalar, 2);
            assertArrayEquals(want, vector, "vector " + rows + " x " + cols);
            assertArrayEquals(want, scalar, "scalar " + rows + " x " + cols);
        }
    }

    /** blend4, scatter4 (with two taps on the same elements) and dot4 on rows of a random image. */
    @Test
    void fourTapKernelsMatchTheDefinition() {
        Random rnd = new Random(4);
        float[] x = new float[2000];
        float[] d = new float[1100];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rnd.nextGaussian();
        }
        float[] v = {0.1f, -0.7f, 1.3f, 0.45f};
        for (int len : LENGTHS) {
            int[] a = {5, 900, 5, 17}; // taps 0 and 2 share their elements, as taps outside an image do
            String at = "len " + len;
            float[] blendV = new float[len + 3];
            float[] blendS = new float[len + 3];
            VectorFloatLoops.blend4(x, a[0], a[1], a[2], a[3], v[0], v[1], v[2], v[3], blendV, 3, len);
            ScalarFloatLoops.blend4(x, a[0], a[1], a[2], a[3], v[0], v[1], v[2], v[3], blendS, 3, len);
            float[] dxV = x.clone();
            float[] dxS = x.clone();
            double[] dxWant = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                dxWant[i] = x[i];
            }
            VectorFloatLoops.scatter4(d, 7, len, v[0], v[1], v[2], v[3], dxV, a[0], a[1], a[2], a[3]);
            ScalarFloatLoops.scatter4(d, 7, len, v[0], v[1], v[2], v[3], dxS, a[0], a[1], a[2], a[3]);
            float[] sumsV = new float[6];
            float[] sumsS = new float[6];
            VectorFloatLoops.dot4(d, 7, len, x, a[0], a[1], a[2], a[3], sumsV, 2);
            ScalarFloatLoops.dot4(d, 7, len, x, a[0], a[1], a[2], a[3], sumsS, 2);
            double[] dots = new double[4];
            for (int c = 0; c < len; c++) {
                double blend = 0;
                for (int k = 0; k < 4; k++) {
                    blend += (double) v[k] * x[a[k] + c];
                    dxWant[a[k] + c] += (double) v[k] * d[7 + c];
                    dots[k] += (double) d[7 + c] * x[a[k] + c];
                }
                assertEquals(blend, blendV[3 + c], 1e-5, "vector blend4, " + at + ", channel " + c);
                assertEquals(blend, blendS[3 + c], 1e-5, "scalar blend4, " + at + ", channel " + c);
            }
            assertEquals(0f, blendV[0] + blendV[1] + blendV[2], "blend4 wrote before yFrom");
            for (int i = 0; i < x.length; i++) {
                assertEquals(dxWant[i], dxV[i], 1e-5, "vector scatter4, " + at + ", element " + i);
                assertEquals(dxWant[i], dxS[i], 1e-5, "scalar scatter4, " + at + ", element " + i);
            }
            for (int k = 0; k < 4; k++) {
                double tol = 1e-5 * (1 + len);
                assertEquals(dots[k], sumsV[2 + k], tol, "vector dot4, " + at + ", tap " + k);
                assertEquals(dots[k], sumsS[2 + k], tol, "scalar dot4, " + at + ", tap " + k);
            }
        }
    }

    /**
     * The reductions give the same bits on every call, from the first (interpreted) to the last (compiled by
     * C2), so that a training run repeats exactly. The values span many magnitudes, so that another order of
     * additions would round differently.
     */
    @Test
    void reductionsGiveTheSameBitsInterpretedAndCompiled() {
        Random rnd = new Random(5);
        int len = 3 * FloatLoops.VECTOR_LANES * 2 + 5;
        float[] x = new float[len];
        float[] d = new float[len];
        for (int i = 0; i < len; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9)));
            d[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9)));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) len * Float.BYTES);
            MemorySegment b = arena.allocate((long) len * Float.BYTES);
            MemorySegment.copy(x, 0, a, F, 0, len);
            MemorySegment.copy(d, 0, b, F, 0, len);
            float[] first = null;
            float[] sums = new float[4];
            for (int call = 0; call < 30_000; call++) {
                VectorFloatLoops.dot4(d, 0, len, x, 0, 0, 0, 0, sums, 0);
                float[] got = {VectorFloatLoops.sum(a, 0, len), VectorFloatLoops.dot(a, b, 0, len), sums[0]};
                if (first == null) {
                    first = got;
                }
                assertArrayEquals(first, got, "call " + call + " (sum, dot, dot4)");
            }
        }
    }
}
