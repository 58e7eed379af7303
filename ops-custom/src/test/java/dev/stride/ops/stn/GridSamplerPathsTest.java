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
 * The sampler's two sets of kernels, channels-last on the Vector API ({@link FloatLoops}) and one plane per
 * channel: each forward against the double reference, and the two backwards against each other (each is also
 * checked by finite differences: the channels-last one in {@code GridSamplerTest}, the plane one before it
 * existed), with each output alone and both together. The sizes give the transposes whole 8x8 tiles, ragged
 * edges, and both (channels and plane sizes that are and are not multiples of 8).
 */
class GridSamplerPathsTest {

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
    void bothKernelsMatchTheReferenceAndEachOther(SamplerOptions o, int[] s) {
        int n = s[0], c = s[1], h = s[2], w = s[3], h2 = s[4], w2 = s[5];
        SplittableRandom r = new SplittableRandom(Arrays.hashCode(s) * 31L + o.hashCode());
        float[] grid = StnReference.random(r, n * h2 * w2 * 2, -1.25, 1.25);
        float[] x = StnReference.random(r, n * c * h * w, -1, 1);
        double[] want = StnReference.sample(Check.toDouble(x), n, c, h, w, Check.toDouble(grid), h2, w2, o);
        float[] dy = StnReference.random(r, n * c * h2 * w2, -1, 1);
        float[][][] grads = new float[2][][];
        try (Scope scope = Scope.leakChecked("grid-sampler-paths")) {
            Tensor src = Tensor.of(scope, "src", x, n, c, h, w);
            Tensor gridT = Tensor.of(scope, "grid", grid, n, h2, w2, 2);
            Tensor diffDst = Tensor.of(scope, "diffDst", dy, n, c, h2, w2);
            for (boolean channelsLast : new boolean[] {true, false}) {
                String path = channelsLast ? "channels-last " : "planes ";
                GridSampler sampler = GridSampler.create(scope, path, n, c, h, w, h2, w2, o, channelsLast);
                Tensor dst = Tensor.zeros(scope, path + "dst", n, c, h2, w2);
                sampler.forward(src, gridT, dst);
                Check.close(path + "dst", dst.dims(), want, dst.toFloatArray(), 1e-5, 1e-5);

                Tensor diffSrc = Tensor.zeros(scope, path + "diffSrc", n, c, h, w);
                Tensor diffGrid = Tensor.zeros(scope, path + "diffGrid", n, h2, w2, 2);
                sampler.backward(src, gridT, diffDst, diffSrc, diffGrid);
                Tensor onlySrc = Tensor.zeros(scope, path + "onlySrc", n, c, h, w);
                Tensor onlyGrid = Tensor.zeros(scope, path + "onlyGrid", n, h2, w2, 2);
                sampler.backward(src, gridT, diffDst, onlySrc, null);
                sampler.backward(src, gridT, diffDst, null, onlyGrid);
                // One output does not depend on whether the other is wanted.
                assertArrayEquals(diffSrc.toFloatArray(), onlySrc.toFloatArray(), path + "diffSrc alone");
                assertArrayEquals(diffGrid.toFloatArray(), onlyGrid.toFloatArray(), path + "diffGrid alone");
                grads[channelsLast ? 0 : 1] = new float[][] {diffSrc.toFloatArray(), diffGrid.toFloatArray()};
            }
        }
        // The same sums in other orders (and fused multiply-adds): agree to float rounding.
        long[] srcDims = {n, c, h, w};
        long[] gridDims = {n, h2, w2, 2};
        Check.close("diffSrc: channels-last against planes", srcDims, grads[1][0], grads[0][0], 1e-5, 1e-5);
        Check.close("diffGrid: channels-last against planes", gridDims, grads[1][1], grads[0][1], 1e-4, 1e-5);
    }
}
