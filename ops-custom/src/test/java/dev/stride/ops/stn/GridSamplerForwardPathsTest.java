package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.ops.FloatLoops;
import dev.stride.testing.Check;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sampler's two forward kernels, channels-last on the Vector API ({@link VectorSampling}) and one plane per
 * channel, each against the double reference, at sizes that give the channels-last transposes whole 8x8 tiles,
 * ragged edges, and both (channels and plane sizes that are and are not multiples of 8).
 */
class GridSamplerForwardPathsTest {

    static Stream<Arguments> cases() {
        int[][] shapes = {{2, 32, 28, 28, 28, 28}, {1, 13, 7, 9, 5, 11}, {3, 16, 8, 8, 6, 4}, {2, 5, 3, 3, 9, 9}};
        return AffineSamplerTest.allOptions().flatMap(o -> Stream.of(shapes).map(s -> Arguments.of(o, s)));
    }

    @Test
    void theChannelsLastKernelsRunInTheseTests() {
        assertTrue(FloatLoops.VECTOR_LANES >= 8, "the test JVM should have the Vector API: " + FloatLoops.describe());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void bothForwardKernelsMatchTheReference(SamplerOptions o, int[] s) {
        int n = s[0], c = s[1], h = s[2], w = s[3], h2 = s[4], w2 = s[5];
        SplittableRandom r = new SplittableRandom(Arrays.hashCode(s) * 31L + o.hashCode());
        float[] grid = StnReference.random(r, n * h2 * w2 * 2, -1.25, 1.25);
        float[] x = StnReference.random(r, n * c * h * w, -1, 1);
        double[] want = StnReference.sample(Check.toDouble(x), n, c, h, w, Check.toDouble(grid), h2, w2, o);
        try (Scope scope = Scope.leakChecked("grid-sampler-paths")) {
            Tensor src = Tensor.of(scope, "src", x, n, c, h, w);
            Tensor gridT = Tensor.of(scope, "grid", grid, n, h2, w2, 2);
            for (boolean channelsLast : new boolean[] {true, false}) {
                Tensor dst = Tensor.zeros(scope, "dst" + channelsLast, n, c, h2, w2);
                GridSampler.create(scope, "sampler" + channelsLast, n, c, h, w, h2, w2, o, channelsLast)
                        .forward(src, gridT, dst);
                StnReference.close((channelsLast ? "channels-last " : "planes ") + "dst", dst.dims(), want,
                        dst.toFloatArray(), 1e-5, 1e-5);
            }
        }
    }

    @Test
    void transposeMatchesTheDefinitionForTilesAndEdges() {
        int[][] sizes = {{8, 8}, {32, 784}, {13, 21}, {5, 3}, {16, 9}, {1, 17}, {24, 1}};
        for (int[] rc : sizes) {
            int rows = rc[0], cols = rc[1];
            float[] in = new float[3 + rows * cols];
            for (int i = 0; i < in.length; i++) {
                in[i] = i;
            }
            float[] want = new float[2 + rows * cols + 1];
            float[] got = new float[want.length];
            for (int row = 0; row < rows; row++) {
                for (int col = 0; col < cols; col++) {
                    want[2 + col * rows + row] = in[3 + row * cols + col];
                }
            }
            VectorSampling.transpose(in, 3, rows, cols, got, 2);
            assertArrayEquals(want, got, rows + " x " + cols);
        }
    }
}
