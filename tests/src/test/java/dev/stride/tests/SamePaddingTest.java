package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.conv.Convolution.Params;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * "same" padding keeps its promise {@code W2 = ceil(W1/S)} for every extent, stride and dilation (also where the
 * window is shorter than the stride, so no padding is needed at all), and bad settings fail naming them.
 */
class SamePaddingTest {

    @Test
    void everyExtentStrideAndDilationGivesCeilOfInputOverStride() {
        for (int in = 1; in <= 12; in++) {
            for (int f = 1; f <= 5; f++) {
                for (int s = 1; s <= 4; s++) {
                    for (int d = 1; d <= 3; d++) {
                        Convolution.Geometry g = Convolution.Geometry.of("c", new long[] {1, 1, in, 3},
                                Params.of(1, f).stride(s).dilation(d).samePadding());
                        String what = "W1=" + in + " F=" + f + " S=" + s + " D=" + d;
                        assertEquals((in + s - 1) / s, g.dst()[2], what);
                        assertTrue(g.padLeft()[0] >= 0 && g.padRight()[0] >= g.padLeft()[0]
                                && g.padRight()[0] - g.padLeft()[0] <= 1, what + ": padding " + g.padLeft()[0] + "/" + g.padRight()[0]);
                    }
                }
            }
        }
    }

    @Test
    void oneByOneStrideTwoOnAnEvenInputRunsAndMatchesTheReference() {
        long[] src = {2, 3, 12, 12};
        Params p = Params.of(4, 1).stride(2).samePadding();
        Convolution.Geometry g = Convolution.Geometry.of("c", src, p);
        assertArrayEquals(new long[] {2, 4, 6, 6}, g.dst());
        SplittableRandom r = new SplittableRandom(3);
        float[] x = Check.random(r, Check.count(src));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] b = Check.random(r, 4);
        try (Scope scope = Scope.leakChecked("same"); Stream s = Stream.create(scope)) {
            for (PropKind mode : new PropKind[] {PropKind.INFERENCE, PropKind.TRAINING}) {
                try (Convolution.Forward f = Convolution.Forward.create(scope, "c", src, p, mode, null)) {
                    Tensor y = Tensor.zeros(scope, "y", g.dst());
                    f.executePlain(s, Tensor.of(scope, "x", x, src), Tensor.of(scope, "w", w, g.weights()),
                            Tensor.of(scope, "b", b, 4), y);
                    Check.close(mode + " 1x1/2 same", g.dst(), ConvolutionReference.forward(g, x, w, b), y.toFloatArray(),
                            1e-5, 1e-5);
                }
            }
        }
    }

    @Test
    void strideZeroWithSamePaddingIsAnIllegalArgumentNamingTheStride() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Convolution.Geometry.of("conv1", new long[] {1, 1, 8, 8}, Params.of(2, 3).stride(1, 0).samePadding()));
        assertEquals("conv1: stride SW must be >= 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Convolution.Geometry.of("conv1", new long[] {1, 1, 8, 8}, Params.of(2, 3).dilation(0).samePadding()));
        assertEquals("conv1: dilation H must be >= 1 (1 = none), got 0", e.getMessage());
    }

    @Test
    void dilationAlongAnExtentOfOneIsNoDilation() {
        Convolution.Geometry g = Convolution.Geometry.of("c", new long[] {1, 1, 5, 5},
                Params.of(1, 1, 3).dilation(3, 2).padding(0, 1));
        assertArrayEquals(new long[] {1, 2}, g.dilation(), "the single tap along H is not dilated");
        assertArrayEquals(new long[] {1, 1, 5, 3}, g.dst());
    }
}
