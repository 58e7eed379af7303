package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Layouts;
import dev.stride.testing.Check;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Windows of a larger tensor ({@link Layouts#submemory}): a reorder into a wrapped window writes exactly the
 * window's elements, nothing else of the parent and nothing outside the buffer (guard bytes on both sides),
 * for plain, channels-last and blocked parents. The expected parent is computed by index arithmetic. Every
 * write goes into a buffer as large as the whole parent, so a window that under-reports its span fails the
 * guard check instead of corrupting the heap.
 */
class SubMemoryBoundsTest {

    private static final long GUARD = 256;
    private static final byte FILL = (byte) 0xA5;
    private static final float SENTINEL = Float.intBitsToFloat(0xA5A5A5A5);

    static java.util.stream.Stream<Arguments> windows() {
        return java.util.stream.Stream.of(
                w(FormatTag.AB, d(6, 25), d(1, 12), d(2, 1)),     // the tester's case: oneDNN said 48 bytes
                w(FormatTag.AB, d(6, 25), d(6, 25), d(0, 0)),
                w(FormatTag.AB, d(6, 25), d(3, 1), d(3, 24)),
                w(FormatTag.AB, d(6, 25), d(1, 1), d(5, 24)),     // the very last element
                w(FormatTag.AB, d(6, 25), d(2, 25), d(4, 0)),
                w(FormatTag.BA, d(7, 4), d(3, 2), d(4, 2)),
                w(FormatTag.ABCD, d(2, 5, 4, 3), d(1, 3, 2, 2), d(1, 2, 1, 1)),
                w(FormatTag.ABCD, d(2, 5, 4, 3), d(2, 5, 4, 1), d(0, 0, 0, 2)),
                w(FormatTag.ABCD, d(2, 5, 4, 3), d(1, 1, 1, 1), d(1, 4, 3, 2)),
                w(FormatTag.ACDB, d(2, 5, 4, 3), d(1, 3, 2, 2), d(1, 1, 2, 1)),
                w(FormatTag.ACDB, d(2, 5, 4, 3), d(1, 5, 4, 3), d(1, 0, 0, 0)),
                w(FormatTag.ABCD8B, d(2, 19, 3, 3), d(2, 8, 3, 3), d(0, 8, 0, 0)),
                w(FormatTag.ABCD8B, d(2, 19, 3, 3), d(2, 3, 3, 3), d(0, 16, 0, 0)),  // right border: padded block
                w(FormatTag.ABCD8B, d(2, 19, 3, 3), d(1, 16, 2, 1), d(1, 0, 1, 2)),
                w(FormatTag.ABCD16B, d(1, 19, 2, 2), d(1, 3, 2, 2), d(0, 16, 0, 0)),
                w(FormatTag.ABCD16B, d(1, 19, 2, 2), d(1, 16, 1, 2), d(0, 0, 1, 0)),
                w(FormatTag.ABCD16B, d(3, 32, 2, 2), d(1, 16, 2, 1), d(2, 16, 0, 1)),
                w(FormatTag.ABCDE8B, d(1, 9, 2, 3, 2), d(1, 1, 2, 2, 1), d(0, 8, 0, 1, 1)));
    }

    private static Arguments w(FormatTag tag, long[] parent, long[] dims, long[] offsets) {
        return Arguments.of(tag, parent, dims, offsets);
    }

    private static long[] d(long... v) {
        return v;
    }

    @ParameterizedTest(name = "{0} {1}: {2} at {3}")
    @MethodSource("windows")
    void reorderIntoAWindowWritesOnlyTheWindow(FormatTag tag, long[] parentDims, long[] dims, long[] offsets) {
        float[] values = Check.random(new java.util.SplittableRandom(Arrays.hashCode(dims)), Check.count(dims));
        try (Scope scope = Scope.leakChecked("window"); Stream s = Stream.create(scope); Arena arena = Arena.ofConfined()) {
            MemoryDesc parent = MemoryDesc.of(scope, DataType.F32, tag, parentDims);
            MemoryDesc window = Layouts.submemory(scope, parent, dims, offsets);
            assertTrue(window.byteSize() <= parent.byteSize(), window + " reaches past its parent " + parent);
            boolean whole = Arrays.equals(dims, parentDims);
            assertEquals(whole && parent.isPlain(), window.isPlain(), "isPlain of " + window);

            MemorySegment all = arena.allocate(parent.byteSize() + 2 * GUARD, 64);
            all.fill(FILL);
            Tensor parentT = Tensor.wrap(scope, "parent", parent, all.asSlice(GUARD, parent.byteSize()));
            Tensor windowT = Layouts.view(scope, "window", parentT, window);
            Tensor.of(scope, "src", values, dims).reorderInto(windowT, s);

            assertGuardsIntact(all, GUARD, GUARD + parent.byteSize(), window);
            float[] got = parentT.toFloatArray();
            long[] idx = new long[parentDims.length];
            for (int i = 0; i < got.length; i++) {
                unravel(parentDims, i, idx);
                int inside = windowIndex(idx, dims, offsets);
                float want = inside >= 0 ? values[inside] : SENTINEL;
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]),
                        "parent element " + Arrays.toString(idx) + " after writing " + window);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}: {2} at {3}")
    @MethodSource("windows")
    void aWindowFitsTheBytesItReportsAndRefusesFewer(FormatTag tag, long[] parentDims, long[] dims, long[] offsets) {
        float[] values = Check.random(new java.util.SplittableRandom(7), Check.count(dims));
        try (Scope scope = Scope.leakChecked("window-size"); Stream s = Stream.create(scope); Arena arena = Arena.ofConfined()) {
            MemoryDesc parent = MemoryDesc.of(scope, DataType.F32, tag, parentDims);
            MemoryDesc window = Layouts.submemory(scope, parent, dims, offsets);
            long bytes = window.byteSize();
            // The buffer under the slice is the parent's whole span: a window that under-reports its span is
            // caught by the guard check below, and its writes still land inside this allocation (no crash).
            MemorySegment seg = arena.allocate(parent.byteSize() + GUARD, 64);
            seg.fill(FILL);
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(scope, "short", window, seg.asSlice(0, bytes - 1)));
            Tensor t = Tensor.wrap(scope, "exact", window, seg.asSlice(0, bytes));
            Tensor.of(scope, "src", values, dims).reorderInto(t, s);
            assertGuardsIntact(seg, 0, bytes, window);

            // Only now that the span is known to cover every write may oneDNN write into a buffer of that size.
            Tensor owned = Tensor.allocate(scope, "owned", window);
            assertEquals(bytes, owned.segment().byteSize(), "allocate must give the window's whole span");
            Tensor.of(scope, "src2", values, dims).reorderInto(owned, s);
            try (Reorder back = Reorder.create(scope, window, MemoryDesc.plain(scope, dims))) {
                Tensor out = Tensor.zeros(scope, "out", dims);
                back.execute(s, owned, out);
                s.await();
                assertEquals(Arrays.toString(values), Arrays.toString(out.toFloatArray()), "round trip through " + window);
            }
        }
    }

    static java.util.stream.Stream<Arguments> badWindows() {
        String in = " does not fit in f32 [4, 3] ab ";
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {4, 1}, new long[] {0, -1},
                        "sub-memory dims [4, 1] at offsets [0, -1]" + in + "(dimension 1: offset -1 must be in 0..2)"),
                Arguments.of(new long[] {4, 1}, new long[] {0, 3},
                        "sub-memory dims [4, 1] at offsets [0, 3]" + in + "(dimension 1: offset 3 must be in 0..2)"),
                // Offset + dim would overflow: the offset is refused on its own first.
                Arguments.of(new long[] {1, 1}, new long[] {Long.MAX_VALUE, 0}, "sub-memory dims [1, 1] at offsets ["
                        + Long.MAX_VALUE + ", 0]" + in + "(dimension 0: offset " + Long.MAX_VALUE + " must be in 0..3)"),
                Arguments.of(new long[] {4, 3}, new long[] {0, 1},
                        "sub-memory dims [4, 3] at offsets [0, 1]" + in + "(dimension 1: dim 3 at offset 1 must be at most 2)"),
                Arguments.of(new long[] {Long.MAX_VALUE, 1}, new long[] {1, 0}, "sub-memory dims [" + Long.MAX_VALUE
                        + ", 1] at offsets [1, 0]" + in + "(dimension 0: dim " + Long.MAX_VALUE + " at offset 1 must be at most 3)"),
                Arguments.of(new long[] {0, 1}, new long[] {0, 0},
                        "sub-memory dims [0, 1] at offsets [0, 0]" + in + "(dimension 0: dim 0 must be >= 1)"),
                Arguments.of(new long[] {1}, new long[] {0},
                        "sub-memory dims [1] at offsets [0] do not match the rank of f32 [4, 3] ab"));
    }

    @ParameterizedTest(name = "{0} at {1}")
    @MethodSource("badWindows")
    void aWindowOutsideItsParentNamesTheOffsetsOrTheDims(long[] dims, long[] offsets, String message) {
        try (Scope scope = Scope.leakChecked("bad-window")) {
            MemoryDesc parent = MemoryDesc.plain(scope, 4, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Layouts.submemory(scope, parent, dims, offsets));
            assertEquals(message, e.getMessage());
        }
    }

    @Test
    void theTestersWindowReportsItsOffsetAndRealSpan() {
        try (Scope scope = Scope.leakChecked("tester")) {
            MemoryDesc w = Layouts.submemory(scope, MemoryDesc.plain(scope, 6, 25), new long[] {1, 12}, new long[] {2, 1});
            assertEquals(2 * 25 + 1, w.offset());
            assertEquals((2 * 25 + 1 + 12) * 4L, w.byteSize());
            assertFalse(w.isPlain());
        }
    }

    private static void assertGuardsIntact(MemorySegment all, long from, long to, MemoryDesc what) {
        for (long b = 0; b < all.byteSize(); b++) {
            if (b >= from && b < to) {
                b = to - 1;
                continue;
            }
            assertEquals(FILL, all.get(ValueLayout.JAVA_BYTE, b), "byte " + (b - from) + " relative to the buffer of "
                    + what + " (" + (to - from) + " bytes) was written");
        }
    }

    private static void unravel(long[] dims, long flat, long[] idx) {
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = flat % dims[d];
            flat /= dims[d];
        }
    }

    /** Row-major index inside the window, or -1 when {@code idx} lies outside it. */
    private static int windowIndex(long[] idx, long[] dims, long[] offsets) {
        long flat = 0;
        for (int d = 0; d < idx.length; d++) {
            long local = idx[d] - offsets[d];
            if (local < 0 || local >= dims[d]) {
                return -1;
            }
            flat = flat * dims[d] + local;
        }
        return (int) flat;
    }
}
