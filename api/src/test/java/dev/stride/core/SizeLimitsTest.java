package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.tensor.Layouts;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sizes oneDNN cannot handle are refused in Java with the numbers, by every descriptor factory, and nothing
 * leaks on the way (leak-checked scopes). Layouts are checked against the span computed here by hand.
 */
class SizeLimitsTest {

    private static final long BIG = MemoryDesc.MAX_DIM + 1;

    static java.util.stream.Stream<Arguments> refusedDims() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {1L << 61}, "MAX_DIM"),
                Arguments.of(new long[] {Long.MAX_VALUE}, "MAX_DIM"),
                Arguments.of(new long[] {BIG, 2}, "MAX_DIM"),
                Arguments.of(new long[] {2, BIG}, "MAX_DIM"),
                Arguments.of(new long[] {1L << 30, 4}, "MAX_ELEMENTS"),        // oneDNN itself refused this one
                Arguments.of(new long[] {4, 1L << 30}, "MAX_ELEMENTS"),        // ... but took this one
                Arguments.of(new long[] {1L << 30, 1L << 30, 1L << 30, 1L << 30}, "MAX_ELEMENTS"), // product overflows
                Arguments.of(new long[] {2, 0}, "positive"),
                Arguments.of(new long[] {-1}, "positive"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedDims")
    void everyFactoryRefusesDimsOneDnnCannotHandle(long[] dims, String limit) {
        try (Scope scope = Scope.leakChecked("dims")) {
            for (Supplier<Object> f : java.util.List.<Supplier<Object>>of(
                    () -> MemoryDesc.plain(scope, dims),
                    () -> MemoryDesc.any(scope, dims),
                    () -> MemoryDesc.of(scope, DataType.S8, FormatTag.plain(dims.length), dims),
                    () -> Layouts.strided(scope, dims, Layouts.rowMajorStrides(dims)),
                    () -> Tensor.zeros(scope, "huge", dims))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f::get);
                assertTrue(e.getMessage().contains(limit) && e.getMessage().contains(java.util.Arrays.toString(dims)),
                        e.getMessage());
            }
        }
    }

    @Test
    void theLargestAllowedShapesAreDescribedExactly() {
        try (Scope scope = Scope.leakChecked("edge")) {
            MemoryDesc m = MemoryDesc.plain(scope, MemoryDesc.MAX_ELEMENTS);
            assertEquals(MemoryDesc.MAX_ELEMENTS * 4, m.byteSize());
            assertTrue(m.isPlain());
            MemoryDesc two = MemoryDesc.plain(scope, 2, (1L << 30) - 1);
            assertEquals(8 * ((1L << 30) - 1), two.byteSize());
        }
    }

    static java.util.stream.Stream<Arguments> badStrides() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {1, 6, 1}, new long[] {6, 0, 1}, "dimension 1 (size 6) has stride 0"),
                Arguments.of(new long[] {2, 3}, new long[] {3, 0}, "dimension 1 (size 3) has stride 0"),
                Arguments.of(new long[] {2, 3}, new long[] {-3, 1}, "dimension 0 (size 2) has stride -3"),
                Arguments.of(new long[] {2, 3}, new long[] {1, 1}, "overlaps"),
                Arguments.of(new long[] {2, 3}, new long[] {2, 1}, "overlaps"),
                Arguments.of(new long[] {2, 3, 4}, new long[] {12, 4, 2}, "overlaps"),
                Arguments.of(new long[] {2, 2}, new long[] {1L << 46, 1}, "MAX_BYTES"),
                Arguments.of(new long[] {2, 2}, new long[] {Long.MAX_VALUE / 2, 1}, "MAX_BYTES"),
                // Huge dims are named before any segment is sized from them.
                Arguments.of(new long[] {1L << 61}, new long[] {1}, "Layouts.strided: layout dimension d0 ="
                        + " 2305843009213693952 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; layout dims"
                        + " [2305843009213693952])"));
    }

    @ParameterizedTest(name = "{0} strides {1}")
    @MethodSource("badStrides")
    void stridedLayoutsRefuseAliasingAndHugeStrides(long[] dims, long[] strides, String message) {
        try (Scope scope = Scope.leakChecked("strides")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Layouts.strided(scope, dims, strides));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        }
    }

    static java.util.stream.Stream<Arguments> goodStrides() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {2, 3}, new long[] {3, 1}, true),
                Arguments.of(new long[] {2, 3}, new long[] {1, 2}, false),
                Arguments.of(new long[] {2, 3}, new long[] {10, 1}, false),   // padded rows
                Arguments.of(new long[] {1, 3}, new long[] {0, 1}, true),     // a dimension of 1 takes any stride
                Arguments.of(new long[] {3, 1}, new long[] {1, 1}, true),
                Arguments.of(new long[] {2, 3, 4}, new long[] {12, 1, 3}, false),
                Arguments.of(new long[] {2, 2}, new long[] {1L << 40, 1}, false));
    }

    @ParameterizedTest(name = "{0} strides {1}")
    @MethodSource("goodStrides")
    void stridedLayoutsSpanTheirLastElement(long[] dims, long[] strides, boolean plain) {
        long last = 0;
        for (int d = 0; d < dims.length; d++) {
            last += (dims[d] - 1) * strides[d];
        }
        try (Scope scope = Scope.leakChecked("strides")) {
            MemoryDesc m = Layouts.strided(scope, dims, strides);
            assertTrue(m.byteSize() >= (last + 1) * 4, m + " reports " + m.byteSize() + " bytes, needs " + (last + 1) * 4);
            assertEquals(plain, m.isPlain(), m.toString());
        }
    }

    @Test
    void aTensorLargerThanTheMachineFailsClearlyAndLeaksNothing() {
        try (Scope scope = Scope.leakChecked("oom")) {
            // 4 TiB of span in a two-element descriptor: more than any test machine has.
            MemoryDesc huge = Layouts.strided(scope, new long[] {2}, new long[] {1L << 40});
            OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> Tensor.allocate(scope, "huge", huge));
            assertTrue(e.getMessage().contains("'huge'") && e.getMessage().contains("[2]")
                    && e.getMessage().contains(Long.toString(huge.byteSize())), e.getMessage());
            assertEquals(1, scope.liveCount(), "only the descriptor itself is left");
        }
    }

    @Test
    void reordersRefuseAnyOnEitherSide() {
        try (Scope scope = Scope.leakChecked("any"); Stream s = Stream.create(scope)) {
            MemoryDesc any = MemoryDesc.any(scope, 2, 3);
            MemoryDesc plain = MemoryDesc.plain(scope, 2, 3);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Reorder.create(scope, any, plain))
                    .getMessage().contains("source layout is 'any'"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Reorder.create(scope, plain, any))
                    .getMessage().contains("destination layout is 'any'"));
            Tensor t = Tensor.zeros(scope, "t", 2, 3);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> t.reorder(scope, any, s))
                    .getMessage().contains("target layout is 'any'"));
            assertFalse(t.isClosed());
        }
    }
}
