package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.ops.stn.SamplerOptions.Padding;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AffineSamplerTest {

    private static final SamplerOptions ZEROS = SamplerOptions.DEFAULT;
    private static final SamplerOptions ZEROS_ALIGN = SamplerOptions.DEFAULT.alignCorners(true);
    private static final SamplerOptions BORDER = SamplerOptions.DEFAULT.padding(Padding.BORDER);
    private static final SamplerOptions BORDER_ALIGN = BORDER.alignCorners(true);

    static Stream<SamplerOptions> allOptions() {
        return Stream.of(ZEROS, ZEROS_ALIGN, BORDER, BORDER_ALIGN);
    }

    /** The identity theta returns the input (metamorphic), for odd sizes, a single row/column, batch > 1. */
    static Stream<Arguments> identityCases() {
        int[][] shapes = {{2, 3, 5, 7}, {1, 1, 1, 4}, {3, 2, 6, 1}, {1, 4, 8, 8}, {2, 17, 3, 3}};
        return allOptions().flatMap(o -> Stream.of(shapes).map(s -> Arguments.of(o, s[0], s[1], s[2], s[3])));
    }

    @ParameterizedTest(name = "{0} N={1} C={2} {3}x{4}")
    @MethodSource("identityCases")
    void identityThetaReturnsTheInput(SamplerOptions o, int n, int c, int h, int w) {
        try (Scope scope = Scope.leakChecked("identity")) {
            float[] x = StnReference.random(new SplittableRandom(n * 100 + c * 10 + h + w), n * c * h * w, -1, 1);
            Tensor theta = Tensor.of(scope, "theta", LocalizationHead.identityTheta(n), n, 2, 3);
            Tensor src = Tensor.of(scope, "src", x, n, c, h, w);
            Tensor dst = Tensor.zeros(scope, "dst", n, c, h, w);
            AffineSampler.transform(theta, src, dst, o);
            // The grid is f32, so a pixel centre may come out a rounding error (~1e-7 px) off the integer.
            Check.close("identity " + o, dst.dims(), x, dst.toFloatArray(), 1e-6, 1e-6);
        }
    }

    /** align_corners: -1..1 spans the corner centres, so 2/(W-1) per pixel; translate by a quarter step. */
    @ParameterizedTest
    @MethodSource("translationCases")
    void translationAgainstHandComputed(SamplerOptions o, float tx, float[] want) {
        try (Scope scope = Scope.leakChecked("translation")) {
            // One image, 1 channel, 2 rows of 5: row 0 = 1..5, row 1 = 10..50.
            Tensor src = Tensor.of(scope, "src", new float[] {1, 2, 3, 4, 5, 10, 20, 30, 40, 50}, 1, 1, 2, 5);
            Tensor theta = Tensor.of(scope, "theta", new float[] {1, 0, tx, 0, 1, 0}, 1, 2, 3);
            Tensor dst = Tensor.zeros(scope, "dst", 1, 1, 2, 5);
            AffineSampler.transform(theta, src, dst, o);
            Check.close("translation " + tx + " " + o, dst.dims(), want, dst.toFloatArray(), 1e-6, 1e-6);
        }
    }

    static Stream<Arguments> translationCases() {
        return Stream.of(
                // One pixel right (2/(W-1) = 0.5): dst[w] = src[w+1]; the last column reads outside.
                Arguments.of(ZEROS_ALIGN, 0.5f, new float[] {2, 3, 4, 5, 0, 20, 30, 40, 50, 0}),
                Arguments.of(BORDER_ALIGN, 0.5f, new float[] {2, 3, 4, 5, 5, 20, 30, 40, 50, 50}),
                // Half a pixel right: the mean of neighbours; the last column is half outside.
                Arguments.of(ZEROS_ALIGN, 0.25f, new float[] {1.5f, 2.5f, 3.5f, 4.5f, 2.5f, 15, 25, 35, 45, 25}),
                Arguments.of(BORDER_ALIGN, 0.25f, new float[] {1.5f, 2.5f, 3.5f, 4.5f, 5, 15, 25, 35, 45, 50}),
                // Without align_corners -1..1 spans the outer edges: 2/W = 0.4 per pixel; one pixel left.
                Arguments.of(ZEROS, -0.4f, new float[] {0, 1, 2, 3, 4, 0, 10, 20, 30, 40}),
                Arguments.of(BORDER, -0.4f, new float[] {1, 1, 2, 3, 4, 10, 10, 20, 30, 40}));
    }

    @Test
    void scaleZoomsIntoTheCentreAndOut() {
        try (Scope scope = Scope.leakChecked("scale")) {
            float[] x = new float[16];
            for (int i = 0; i < 16; i++) {
                x[i] = i;
            }
            Tensor src = Tensor.of(scope, "src", x, 1, 1, 4, 4);
            // Half scale onto 2x2 without align_corners: base (-0.5, 0.5) -> (-0.25, 0.25) -> pixels 1 and 2.
            Tensor half = Tensor.of(scope, "half", new float[] {0.5f, 0, 0, 0, 0.5f, 0}, 1, 2, 3);
            Tensor crop = Tensor.zeros(scope, "crop", 1, 1, 2, 2);
            AffineSampler.transform(half, src, crop, ZEROS);
            assertArrayEquals(new float[] {5, 6, 9, 10}, crop.toFloatArray(), 1e-6f);

            // Double scale onto 3x3 with align_corners on a 3x3 input: pixels -1, 1, 3 in each direction.
            Tensor small = Tensor.of(scope, "small", new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
            Tensor twice = Tensor.of(scope, "twice", new float[] {2, 0, 0, 0, 2, 0}, 1, 2, 3);
            Tensor out = Tensor.zeros(scope, "out", 1, 1, 3, 3);
            AffineSampler.transform(twice, small, out, ZEROS_ALIGN);
            assertArrayEquals(new float[] {0, 0, 0, 0, 5, 0, 0, 0, 0}, out.toFloatArray(), 1e-6f);
            // Border clamps -1 -> 0 and 3 -> 2: the corners, edges and centre of the input, i.e. the input.
            AffineSampler.transform(twice, small, out, BORDER_ALIGN);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, out.toFloatArray(), 1e-6f);
            // A horizontal flip: theta = [[-1, 0, 0], [0, 1, 0]].
            Tensor flip = Tensor.of(scope, "flip", new float[] {-1, 0, 0, 0, 1, 0}, 1, 2, 3);
            AffineSampler.transform(flip, small, out, ZEROS);
            assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4, 9, 8, 7}, out.toFloatArray(), 1e-6f);
        }
    }

    /** Shapes for the reference and gradient checks: odd sizes, up/down-sampling, batch 1 with channel blocks. */
    static Stream<Arguments> gradientCases() {
        int[][] shapes = {{2, 3, 5, 7, 4, 6}, {1, 9, 4, 5, 5, 3}, {3, 2, 3, 4, 6, 5}};
        return allOptions().flatMap(o -> Stream.of(shapes).map(s -> Arguments.of(o, s)));
    }

    /**
     * Forward against the double reference, then finite differences for src and theta. The sampled value is
     * bilinear in src (linear) and, between pixel lines, quadratic in theta, so central differences are
     * exact there: a random theta is redrawn until every sample point, and every perturbed one, stays clear
     * of pixel rows and columns (and of the border clamp).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("gradientCases")
    void forwardAndGradientsMatchTheReference(SamplerOptions o, int[] s) {
        int n = s[0], c = s[1], h = s[2], w = s[3], h2 = s[4], w2 = s[5];
        boolean align = o.alignCorners();
        SplittableRandom r = new SplittableRandom(7 * n + 11 * c + h * w + h2 * w2 + o.hashCode());
        // A step of theta moves a point by at most step * (|x| + |y| + 1) <= 3 step normalized, i.e.
        // 1.5 step * max(H, W) pixels; keep twice that (plus a little) clear of every kink.
        double step = 1e-4;
        double[] theta;
        do {
            theta = Check.toDouble(thetaNearIdentity(r, n, 0.35));
        } while (StnReference.kinkMargin(StnReference.affineGrid(theta, n, h2, w2, align), h, w, align)
                < 1e-3 + 3 * step * Math.max(h, w));
        double[] x = Check.toDouble(StnReference.random(r, n * c * h * w, -1, 1));
        double[] dy = Check.toDouble(StnReference.random(r, n * c * h2 * w2, -1, 1));
        double[] thetaD = theta;
        java.util.function.Function<double[], double[]> bySrc =
                xs -> StnReference.sample(xs, n, c, h, w, StnReference.affineGrid(thetaD, n, h2, w2, align), h2, w2, o);
        java.util.function.Function<double[], double[]> byTheta =
                t -> StnReference.sample(x, n, c, h, w, StnReference.affineGrid(t, n, h2, w2, align), h2, w2, o);

        try (Scope scope = Scope.leakChecked("gradients")) {
            Tensor tT = Tensor.of(scope, "theta", Check.toFloat(theta), n, 2, 3);
            Tensor src = Tensor.of(scope, "src", Check.toFloat(x), n, c, h, w);
            Tensor dst = Tensor.zeros(scope, "dst", n, c, h2, w2);
            Tensor diffDst = Tensor.of(scope, "diffDst", Check.toFloat(dy), n, c, h2, w2);
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", n, c, h, w);
            Tensor diffTheta = Tensor.zeros(scope, "diffTheta", n, 2, 3);
            try (AffineSampler stn = AffineSampler.create(scope, "stn", n, c, h, w, h2, w2, o)) {
                stn.forward(tT, src, dst);
                Check.close("dst", dst.dims(), byTheta.apply(theta), dst.toFloatArray(), 1e-5, 1e-5);
                stn.backward(tT, src, diffDst, diffSrc, diffTheta);
                Check.close("diffSrc", diffSrc.dims(), StnReference.numericGradient(bySrc, x, dy, 0.5),
                        diffSrc.toFloatArray(), 1e-5, 1e-5);
                Check.close("diffTheta", diffTheta.dims(), StnReference.numericGradient(byTheta, theta, dy, step),
                        diffTheta.toFloatArray(), 1e-4, 1e-4);

                // Each output alone gives the same values (no shared state between the two paths).
                Tensor onlySrc = Tensor.zeros(scope, "onlySrc", n, c, h, w);
                Tensor onlyTheta = Tensor.zeros(scope, "onlyTheta", n, 2, 3);
                stn.backward(tT, src, diffDst, onlySrc, null);
                stn.backward(tT, src, diffDst, null, onlyTheta);
                assertArrayEquals(diffSrc.toFloatArray(), onlySrc.toFloatArray());
                assertArrayEquals(diffTheta.toFloatArray(), onlyTheta.toFloatArray());
            }
        }
    }

    static float[] thetaNearIdentity(SplittableRandom r, int n, double spread) {
        float[] t = LocalizationHead.identityTheta(n);
        for (int i = 0; i < t.length; i++) {
            t[i] += (float) (spread * (2 * r.nextDouble() - 1));
        }
        return t;
    }

    /** Once created, forward and backward allocate no native memory and leave the same results every time. */
    @Test
    void callsAllocateNothingAndAreDeterministic() {
        try (Scope scope = Scope.leakChecked("no-alloc")) {
            SplittableRandom r = new SplittableRandom(3);
            int n = 2, c = 5, h = 9, w = 11, h2 = 7, w2 = 8;
            Tensor theta = Tensor.of(scope, "theta", thetaNearIdentity(r, n, 0.3), n, 2, 3);
            Tensor src = Tensor.of(scope, "src", StnReference.random(r, n * c * h * w, -1, 1), n, c, h, w);
            Tensor dst = Tensor.zeros(scope, "dst", n, c, h2, w2);
            Tensor diffDst = Tensor.of(scope, "diffDst", StnReference.random(r, n * c * h2 * w2, -1, 1), n, c, h2, w2);
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", n, c, h, w);
            Tensor diffTheta = Tensor.zeros(scope, "diffTheta", n, 2, 3);
            AffineSampler stn = AffineSampler.create(scope, "stn", n, c, h, w, h2, w2, BORDER);
            stn.forward(theta, src, dst);
            stn.backward(theta, src, diffDst, diffSrc, diffTheta);
            float[] y0 = dst.toFloatArray();
            float[] dx0 = diffSrc.toFloatArray();
            float[] dt0 = diffTheta.toFloatArray();

            long allocations = scope.allocations();
            int live = NativeResource.liveCount();
            for (int i = 0; i < 20; i++) {
                stn.forward(theta, src, dst);
                stn.backward(theta, src, diffDst, diffSrc, diffTheta);
            }
            assertEquals(allocations, scope.allocations(), "allocations in the owning scope");
            assertEquals(live, NativeResource.liveCount(), "live native resources");
            assertArrayEquals(y0, dst.toFloatArray());
            assertArrayEquals(dx0, diffSrc.toFloatArray());
            assertArrayEquals(dt0, diffTheta.toFloatArray());
            assertTrue(stn.toString().contains("padding_mode=border"), stn.toString());
            stn.close();
        }
    }
}
