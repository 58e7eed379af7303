package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.ops.stn.SamplerOptions.Padding;
import dev.stride.testing.Check;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class GridSamplerTest {

    static Stream<Arguments> cases() {
        // N, C, H, W, H2, W2: odd sizes; batch 1 with many channels (several channel blocks, summed
        // grid-gradient slices); a larger batch (one block per image); 1-pixel-wide input.
        int[][] shapes = {{2, 3, 5, 6, 3, 4}, {1, 9, 4, 7, 5, 5}, {16, 2, 3, 3, 2, 3}, {2, 2, 6, 1, 4, 2},
            {2, 1, 4, 5, 3, 3}, {1, 1, 1, 1, 2, 2}}; // one channel; one channel of one pixel
        return AffineSamplerTest.allOptions().flatMap(o -> Stream.of(shapes).map(s -> Arguments.of(o, s)));
    }

    /**
     * Arbitrary grids, a fifth of the points outside [-1, 1]: forward against the double reference, finite
     * differences for src and the grid (points drawn clear of pixel lines, so the differences are exact).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardAndGradientsMatchTheReference(SamplerOptions o, int[] s) {
        int n = s[0], c = s[1], h = s[2], w = s[3], h2 = s[4], w2 = s[5];
        SplittableRandom r = new SplittableRandom(Arrays.hashCode(s) * 31L + o.hashCode());
        double step = 1e-4;
        double[] grid;
        do {
            grid = Check.toDouble(StnReference.random(r, n * h2 * w2 * 2, -1.25, 1.25));
        } while (StnReference.kinkMargin(grid, h, w, o.alignCorners()) < 1e-3 + step * Math.max(h, w));
        double[] x = Check.toDouble(StnReference.random(r, n * c * h * w, -1, 1));
        double[] dy = Check.toDouble(StnReference.random(r, n * c * h2 * w2, -1, 1));
        double[] g = grid;
        Function<double[], double[]> bySrc = xs -> StnReference.sample(xs, n, c, h, w, g, h2, w2, o);
        Function<double[], double[]> byGrid = gs -> StnReference.sample(x, n, c, h, w, gs, h2, w2, o);

        try (Scope scope = Scope.leakChecked("grid-sampler")) {
            Tensor src = Tensor.of(scope, "src", Check.toFloat(x), n, c, h, w);
            Tensor gridT = Tensor.of(scope, "grid", Check.toFloat(grid), n, h2, w2, 2);
            Tensor dst = Tensor.zeros(scope, "dst", n, c, h2, w2);
            Tensor diffDst = Tensor.of(scope, "diffDst", Check.toFloat(dy), n, c, h2, w2);
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", n, c, h, w);
            Tensor diffGrid = Tensor.zeros(scope, "diffGrid", n, h2, w2, 2);
            GridSampler sampler = GridSampler.create(scope, "sampler", n, c, h, w, h2, w2, o);
            sampler.forward(src, gridT, dst);
            Check.close("dst", dst.dims(), bySrc.apply(x), dst.toFloatArray(), 1e-5, 1e-5);
            // Backward without a preceding forward on this grid state: the records are recomputed.
            sampler.backward(src, gridT, diffDst, diffSrc, diffGrid);
            Check.close("diffSrc", diffSrc.dims(), StnReference.numericGradient(bySrc, x, dy, 0.5),
                    diffSrc.toFloatArray(), 1e-5, 1e-5);
            Check.close("diffGrid", diffGrid.dims(), StnReference.numericGradient(byGrid, grid, dy, step),
                    diffGrid.toFloatArray(), 1e-4, 1e-4);

            // The one-off functions give the same values.
            Tensor dst2 = Tensor.zeros(scope, "dst2", n, c, h2, w2);
            Tensor diffGrid2 = Tensor.zeros(scope, "diffGrid2", n, h2, w2, 2);
            GridSampler.sample(src, gridT, dst2, o);
            GridSampler.sampleBackward(src, gridT, diffDst, null, diffGrid2, o);
            assertArrayEquals(dst.toFloatArray(), dst2.toFloatArray());
            assertArrayEquals(diffGrid.toFloatArray(), diffGrid2.toFloatArray(), 1e-6f);
        }
    }

    /** Points far outside (and huge coordinates that overflow an int) read zeros, or the nearest corner. */
    @ParameterizedTest
    @ValueSource(floats = {1e9f, -1e9f, 3f, Float.POSITIVE_INFINITY})
    void farAwayPoints(float v) {
        try (Scope scope = Scope.leakChecked("far")) {
            float[] x = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
            Tensor src = Tensor.of(scope, "src", x, 1, 2, 2, 3);
            Tensor grid = Tensor.of(scope, "grid", new float[] {v, v, v, -v}, 1, 1, 2, 2);
            Tensor dst = Tensor.zeros(scope, "dst", 1, 2, 1, 2);
            GridSampler.sample(src, grid, dst, SamplerOptions.DEFAULT);
            assertArrayEquals(new float[] {0, 0, 0, 0}, dst.toFloatArray());
            GridSampler.sample(src, grid, dst, SamplerOptions.DEFAULT.padding(Padding.BORDER));
            float[] want = v > 0 ? new float[] {6, 3, 60, 30} : new float[] {1, 4, 10, 40};
            assertArrayEquals(want, dst.toFloatArray());

            Tensor diffDst = Tensor.of(scope, "diffDst", new float[] {1, 1, 1, 1}, 1, 2, 1, 2);
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", 1, 2, 2, 3);
            Tensor diffGrid = Tensor.zeros(scope, "diffGrid", 1, 1, 2, 2);
            GridSampler.sampleBackward(src, grid, diffDst, diffSrc, diffGrid, SamplerOptions.DEFAULT);
            assertArrayEquals(new float[12], diffSrc.toFloatArray());
            assertArrayEquals(new float[4], diffGrid.toFloatArray());
            GridSampler.sampleBackward(src, grid, diffDst, diffSrc, diffGrid,
                    SamplerOptions.DEFAULT.padding(Padding.BORDER));
            // Clamped: the whole gradient goes to one corner per point and channel; none to the grid.
            float sum = 0;
            for (float f : diffSrc.toFloatArray()) {
                sum += f;
            }
            assertArrayEquals(new float[] {4}, new float[] {sum});
            assertArrayEquals(new float[4], diffGrid.toFloatArray());
        }
    }
}
