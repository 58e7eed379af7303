package dev.stride.tests;

import static dev.stride.tests.TensorOpsReference.count;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.conv.Convolution;
import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Layouts;
import dev.stride.testing.Check;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Reorder (core) across layouts: nchw, nhwc, and the blocked layout a convolution chooses. */
class ReorderTest {

    static java.util.stream.Stream<Arguments> shapes() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {2, 16, 5, 7}, 16),
                Arguments.of(new long[] {1, 19, 4, 3}, 24),  // channels not a multiple of the block: padded
                Arguments.of(new long[] {3, 64, 6, 6}, 64),
                Arguments.of(new long[] {1, 8, 3, 4, 5}, 16)); // 3D: ncdhw <-> ndhwc <-> blocked
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void roundTripThroughEveryLayoutKeepsTheValues(long[] dims, int filters) {
        SplittableRandom r = new SplittableRandom(dims.length * 7L + dims[1]);
        float[] x = Check.random(r, count(dims));
        try (Scope scope = Scope.leakChecked("reorder"); Stream s = Stream.create(scope);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", dims,
                        Convolution.Params.of(filters, 1))) {
            // A 1x1 conv over C channels: its chosen source layout is the blocked one we want.
            MemoryDesc blocked = conv.srcDesc();
            MemoryDesc plain = MemoryDesc.plain(scope, dims);
            FormatTag last = dims.length == 4 ? FormatTag.NHWC : FormatTag.ACDEB;
            MemoryDesc channelsLast = MemoryDesc.of(scope, DataType.F32, last, dims);
            Tensor p = Tensor.of(scope, "plain", x, dims);
            Tensor cl = p.reorder(scope, channelsLast, s);
            // nhwc by hand: element (n, c, h, w) sits at ((n*H + h)*W + w)*C + c.
            float[] raw = cl.segment().toArray(ValueLayout.JAVA_FLOAT);
            long c = dims[1];
            long spatial = count(dims) / dims[0] / c;
            for (int i = 0; i < x.length; i++) {
                long n = i / (c * spatial);
                long ch = (i / spatial) % c;
                long sp = i % spatial;
                assertEquals(x[i], raw[(int) ((n * spatial + sp) * c + ch)], "nhwc element " + Check.index(dims, i));
            }
            Tensor b = cl.reorder(scope, blocked, s);
            Tensor back = b.reorder(scope, plain, s);
            assertArrayEquals(x, back.segment().toArray(ValueLayout.JAVA_FLOAT), "nchw -> nhwc -> "
                    + blocked.layout() + " -> nchw");
            // The reusable form: bind once, run twice.
            try (Reorder re = Reorder.create(scope, blocked, channelsLast)) {
                Tensor cl2 = Tensor.allocate(scope, "cl2", channelsLast);
                var args = re.bind(scope, b, cl2);
                re.execute(s, args);
                re.execute(s, args);
                s.await();
                assertArrayEquals(raw, cl2.segment().toArray(ValueLayout.JAVA_FLOAT), blocked.layout() + " -> nhwc");
            }
        }
    }

    @Test
    void convolutionPicksABlockedLayoutHere() {
        try (Scope scope = Scope.leakChecked("blocked");
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", new long[] {2, 64, 8, 8},
                        Convolution.Params.of(64, 3).padding(1))) {
            assertFalse(conv.srcDesc().isPlain(), "expected a blocked layout, got " + conv.srcDesc().shapeString());
            assertEquals(true, conv.srcDesc().blockOf(1) > 1);
        }
    }

    @Test
    void transposedViewsAreReordersToo() {
        // A strided descriptor reads the same bytes as the transpose; reordering it to plain materialises it.
        float[] a = {1, 2, 3, 4, 5, 6}; // 2 x 3 row-major
        try (Scope scope = Scope.leakChecked("transpose"); Stream s = Stream.create(scope)) {
            Tensor t = Tensor.of(scope, "a", a, 6);
            Tensor at = Tensor.wrap(scope, "a^T", Layouts.strided(scope, new long[] {3, 2}, new long[] {1, 3}), t.segment());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, at.toFloatArray());
        }
    }

    @Test
    void dimsMustMatch() {
        try (Scope scope = Scope.leakChecked("mismatch")) {
            MemoryDesc a = MemoryDesc.plain(scope, 2, 3);
            MemoryDesc b = MemoryDesc.plain(scope, 3, 2);
            long before = scope.allocations();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reorder.create(scope, a, b));
            assertEquals("reorder from f32 [2, 3] ab to f32 [3, 2] ab: dims differ", e.getMessage());
            assertEquals(before, scope.allocations());
        }
    }
}
