package dev.stride.ops.deform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The backward's two routes through the column gradients agree: {@link DeformKernels#backwardFused} (taken for
 * large batches, as in the benchmark) and {@link DeformKernels#col2im} + {@link DeformKernels#coordinates}
 * (taken for small ones, and checked against finite differences in {@link DeformConvTest}).
 */
class DeformBackwardPathsTest {

    private static MemorySegment random(Arena arena, long count, SplittableRandom rnd, double lo, double hi) {
        MemorySegment s = arena.allocate(count * Float.BYTES, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(lo, hi));
        }
        return s;
    }

    private static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    @ParameterizedTest(name = "modulated={0}")
    @ValueSource(booleans = {false, true})
    void fusedAndSeparatePassesGiveTheSameGradients(boolean modulated) {
        // Both routes are called directly, whatever DeformKernels.fusable would choose for this batch.
        long[] src = {20, 6, 7, 6};
        DeformGeometry g = DeformGeometry.of("paths", src,
                DeformConv2d.Params.of(5, 3).padding(1).offsetGroups(2).modulated(modulated));
        int b = (int) g.n();
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = random(arena, count(g.src()), rnd, -1, 1);
            // Offsets up to 2.5 px: some samples fall outside the image, exercising the zero padding.
            MemorySegment off = random(arena, count(g.offset()), rnd, -2.5, 2.5);
            MemorySegment m = modulated ? random(arena, count(g.mask()), rnd, 0, 1) : null;
            long colRows = g.c() * g.kh() * g.kw();
            MemorySegment dcols = random(arena, colRows * b * g.h2() * g.w2(), rnd, -1, 1);
            long[] sizes = {count(g.src()), count(g.offset()), modulated ? count(g.mask()) : 1};
            MemorySegment[] fused = new MemorySegment[3];
            MemorySegment[] separate = new MemorySegment[3];
            for (int i = 0; i < 3; i++) {
                fused[i] = arena.allocate(sizes[i] * Float.BYTES, 64);
                separate[i] = arena.allocate(sizes[i] * Float.BYTES, 64);
            }
            DeformKernels.backwardFused(g, dcols, x, off, m, fused[0], fused[1], modulated ? fused[2] : null, 0, b);
            DeformKernels.col2im(g, dcols, off, m, separate[0], 0, b);
            DeformKernels.coordinates(g, dcols, x, off, m, separate[1], modulated ? separate[2] : null, 0, b);
            String[] what = {"diff_src", "diff_offset", "diff_mask"};
            for (int t = 0; t < (modulated ? 3 : 2); t++) {
                double maxAbs = 0;
                for (long i = 0; i < sizes[t]; i++) {
                    maxAbs = Math.max(maxAbs, Math.abs(separate[t].getAtIndex(ValueLayout.JAVA_FLOAT, i)));
                }
                assertTrue(maxAbs > 0.1, what[t] + " is all (near) zero: the comparison would prove nothing");
                for (long i = 0; i < sizes[t]; i++) {
                    float want = separate[t].getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    float got = fused[t].getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    assertEquals(want, got, 1e-5 * (1 + Math.abs(want)), what[t] + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void channelsLastTakesOneWeightGroupAndImagesThatFitItsHeapCopy() {
        DeformConv2d.Params p = DeformConv2d.Params.of(64, 3).padding(1);
        assertTrue(ChannelsLast.applies(DeformGeometry.of("cl", new long[] {8, 64, 28, 28}, p)));
        assertFalse(ChannelsLast.applies(DeformGeometry.of("cl", new long[] {8, 64, 28, 28}, p.groups(2))));
        // (96*96 + 1) * 256 floats > 2^21: four planes at a time instead
        assertFalse(ChannelsLast.applies(DeformGeometry.of("cl", new long[] {1, 256, 96, 96}, p)));
    }

    /**
     * {@link ChannelsLast} against {@link DeformKernels} (checked on their own by DeformConvTest's finite
     * differences and the torchvision goldens) on the same inputs: the column matrices are each other's
     * transpose, and the backward gives the same gradients from the same (transposed) column gradients.
     */
    @ParameterizedTest(name = "modulated={0}")
    @ValueSource(booleans = {false, true})
    void channelsLastAndPlanePerChannelKernelsAgree(boolean modulated) {
        long[] src = {3, 6, 7, 6};
        DeformGeometry g = DeformGeometry.of("paths", src,
                DeformConv2d.Params.of(5, 3).stride(2, 1).padding(1).offsetGroups(2).modulated(modulated));
        int b = (int) g.n();
        long rows = g.c() * g.kh() * g.kw();
        long bp = b * g.outputPixels();
        int kk = g.kh() * g.kw();
        int c = (int) g.c();
        SplittableRandom rnd = new SplittableRandom(11);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = random(arena, count(g.src()), rnd, -1, 1);
            MemorySegment off = random(arena, count(g.offset()), rnd, -2.5, 2.5);
            MemorySegment m = modulated ? random(arena, count(g.mask()), rnd, 0, 1) : null;
            MemorySegment cols = arena.allocate(rows * bp * Float.BYTES, 64);
            MemorySegment colsT = arena.allocate(rows * bp * Float.BYTES, 64);
            DeformKernels.im2col(g, x, off, m, cols, 0, b);
            ChannelsLast.im2col(g, x, off, m, colsT, 0, b);
            for (long r = 0; r < rows; r++) {
                long tr = (r % kk) * c + r / kk; // row c*KK + kk of cols is column kk*C + c of colsT
                for (long q = 0; q < bp; q++) {
                    assertEquals(cols.getAtIndex(ValueLayout.JAVA_FLOAT, r * bp + q),
                            colsT.getAtIndex(ValueLayout.JAVA_FLOAT, q * rows + tr), 1e-6, "column " + r + ", " + q);
                }
            }
            MemorySegment dcols = random(arena, rows * bp, rnd, -1, 1);
            MemorySegment dcolsT = arena.allocate(rows * bp * Float.BYTES, 64);
            for (long r = 0; r < rows; r++) {
                long tr = (r % kk) * c + r / kk;
                for (long q = 0; q < bp; q++) {
                    dcolsT.setAtIndex(ValueLayout.JAVA_FLOAT, q * rows + tr, dcols.getAtIndex(ValueLayout.JAVA_FLOAT, r * bp + q));
                }
            }
            long[] sizes = {count(g.src()), count(g.offset()), modulated ? count(g.mask()) : 1};
            MemorySegment[] planes = new MemorySegment[3];
            MemorySegment[] last = new MemorySegment[3];
            for (int i = 0; i < 3; i++) {
                planes[i] = arena.allocate(sizes[i] * Float.BYTES, 64);
                last[i] = arena.allocate(sizes[i] * Float.BYTES, 64);
            }
            DeformKernels.col2im(g, dcols, off, m, planes[0], 0, b);
            DeformKernels.coordinates(g, dcols, x, off, m, planes[1], modulated ? planes[2] : null, 0, b);
            ChannelsLast.backward(g, dcolsT, x, off, m, last[0], last[1], modulated ? last[2] : null, 0, b);
            String[] what = {"diff_src", "diff_offset", "diff_mask"};
            for (int t = 0; t < (modulated ? 3 : 2); t++) {
                for (long i = 0; i < sizes[t]; i++) {
                    float want = planes[t].getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    float got = last[t].getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    assertEquals(want, got, 1e-5 * (1 + Math.abs(want)), what[t] + "[" + i + "]");
                }
            }
        }
    }
}
