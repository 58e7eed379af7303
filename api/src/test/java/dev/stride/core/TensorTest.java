package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TensorTest {

    private static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.5f - 3;
        }
        return v;
    }

    @Test
    void roundTripsThroughPlainMemory() {
        try (Scope scope = Scope.leakChecked("roundtrip"); Tensor t = Tensor.of(scope, "t", iota(24), 2, 3, 4)) {
            assertArrayEquals(iota(24), t.toFloatArray());
            assertEquals("abc", t.desc().layout());
            assertTrue(t.desc().isPlain());
            assertEquals(96, t.segment().byteSize());
        }
    }

    @Test
    void reordersToABlockedLayoutAndBack() {
        int n = 2 * 32 * 3 * 5;
        try (Scope scope = Scope.leakChecked("blocked"); Stream s = Stream.create(scope);
                Tensor plain = Tensor.of(scope, "plain", iota(n), 2, 32, 3, 5);
                MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, 2, 32, 3, 5);
                Tensor cl = plain.reorder(scope, nhwc, s)) {
            assertEquals("acdb", cl.desc().layout());
            assertFalse(cl.desc().isPlain());
            // Channels-last really moved the bytes: element (0, 1, 0, 0) is the second float in memory.
            assertEquals(iota(n)[15], cl.segment().getAtIndex(ValueLayout.JAVA_FLOAT, 1));
            assertArrayEquals(iota(n), cl.toFloatArray());
            try (Tensor back = cl.toPlain(scope, s)) {
                assertArrayEquals(iota(n), back.segment().toArray(ValueLayout.JAVA_FLOAT));
            }
            float[] other = iota(n);
            other[7] = 100;
            cl.copyFrom(other);
            assertArrayEquals(other, cl.toFloatArray());
        }
    }

    @Test
    void wrapsAnExistingSegmentWithoutCopying() {
        try (Arena arena = Arena.ofConfined(); Scope scope = Scope.leakChecked("wrap");
                MemoryDesc d = MemoryDesc.plain(scope, 4, 4)) {
            MemorySegment seg = arena.allocate(64, 64);
            try (Tensor t = Tensor.wrap(scope, "mapped", d, seg)) {
                assertFalse(t.ownsMemory());
                assertEquals(0, t.nativeBytes());
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, 5, 42f);
                assertEquals(42f, t.toFloatArray()[5], "a wrapped tensor sees writes to the segment");
                assertEquals(seg.address(), t.segment().address());
            }
        }
    }

    @Test
    void wrappingATooSmallSegmentIsRejectedBeforeAnyNativeCall() {
        try (Arena arena = Arena.ofConfined(); Scope scope = Scope.leakChecked("wrap-small");
                MemoryDesc d = MemoryDesc.plain(scope, 2, 3, 8, 8)) {
            MemorySegment seg = arena.allocate(100);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(scope, "x", d, seg));
            assertEquals("tensor 'x': f32 [2, 3, 8, 8] abcd needs 1536 bytes but the segment has 100", e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(scope, "heap", d, MemorySegment.ofArray(new float[384])));
            MemorySegment odd = arena.allocate(2000, 8).asSlice(2);
            IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(scope, "odd", d, odd));
            assertTrue(misaligned.getMessage().contains("not aligned to 4 bytes"), misaligned.getMessage());
        }
    }

    @Test
    void badDimsAndValueCountsAreClearErrors() {
        try (Scope scope = Scope.leakChecked("bad")) {
            assertEquals("dimension 1 of [2, 0, 3] is 0; every dimension must be positive",
                    assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(scope, "z", 2, 0, 3)).getMessage());
            assertEquals("tensor 'v': 5 values do not fill dims [2, 3] (6 elements)",
                    assertThrows(IllegalArgumentException.class, () -> Tensor.of(scope, "v", new float[5], 2, 3)).getMessage());
            assertEquals("format abcd describes 4D data but dims [2, 3] are 2D",
                    assertThrows(IllegalArgumentException.class,
                            () -> MemoryDesc.of(scope, DataType.F32, FormatTag.NCHW, 2, 3)).getMessage());
            try (MemoryDesc any = MemoryDesc.any(scope, 2, 3)) {
                assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(scope, "any", any));
            }
        }
    }
}
