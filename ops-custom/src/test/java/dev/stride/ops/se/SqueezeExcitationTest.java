package dev.stride.ops.se;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.DataType;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.ops.se.SqueezeExcitation.Layout;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream.Builder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The block against the double-precision reference, finite differences, identities, errors and memory. */
class SqueezeExcitationTest {

    /** One block with random input and upstream gradient, its tensors in the block's layout. */
    private record Setup(SqueezeExcitation se, SeReference ref, Tensor u, Tensor x, Tensor dx, Tensor du, float[] uv,
            float[] dxv) {}

    private static Tensor activation(Scope scope, String name, Layout layout, float[] nchwValues, long... dims) {
        Tensor t = Tensor.allocate(scope, name, MemoryDesc.of(scope, DataType.F32, layout.tag(), dims));
        if (nchwValues != null) {
            t.copyFrom(nchwValues);
        }
        return t;
    }

    private static Setup setup(Scope scope, int n, int c, int h, int w, int r, Layout layout, long seed) {
        SqueezeExcitation se = SqueezeExcitation.create(scope, "se", n, c, h, w, r, layout, seed);
        SeReference ref = new SeReference(n, c, h, w, r);
        SplittableRandom rnd = new SplittableRandom(seed + 17);
        // A per-channel offset spreads the squeezed values, so the gates differ across channels.
        float[] uv = SeReference.random(rnd, ref.size(), -1, 1);
        float[] offset = SeReference.random(rnd, c, -1.5, 1.5);
        for (int i = 0; i < uv.length; i++) {
            uv[i] += offset[(i / (h * w)) % c];
        }
        float[] dxv = SeReference.random(rnd, ref.size(), -1, 1);
        long[] dims = {n, c, h, w};
        return new Setup(se, ref, activation(scope, "u", layout, uv, dims), activation(scope, "x", layout, null, dims),
                activation(scope, "dx", layout, dxv, dims), activation(scope, "du", layout, null, dims), uv, dxv);
    }

    static java.util.stream.Stream<Arguments> shapes() {
        Builder<Arguments> b = java.util.stream.Stream.builder();
        for (Layout layout : Layout.values()) {
            b.add(Arguments.of(2, 16, 5, 7, 4, layout));   // odd plane, 4 hidden units
            b.add(Arguments.of(1, 8, 1, 1, 8, layout));    // 1x1 plane, one hidden unit, batch 1
            b.add(Arguments.of(3, 6, 9, 3, 1, layout));    // r = 1, plane not a multiple of 8
            b.add(Arguments.of(4, 96, 4, 4, 16, layout));  // more than one 64-channel block (channels-last)
            b.add(Arguments.of(2, 32, 28, 28, 16, layout)); // the benchmark's plane and ratio
            b.add(Arguments.of(2, 1, 3, 4, 1, layout));    // one channel: nhwc and nchw are the same bytes
            b.add(Arguments.of(1, 1, 1, 1, 1, layout));    // one channel, one pixel
        }
        return b.build();
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} r={4} {5}")
    @MethodSource("shapes")
    void forwardAndBackwardMatchTheReference(int n, int c, int h, int w, int r, Layout layout) {
        try (Scope scope = Scope.leakChecked("se reference"); Stream stream = Stream.create(scope)) {
            Setup t = setup(scope, n, c, h, w, r, layout, 7);
            t.se.forward(stream, t.u, t.x);
            t.se.backward(stream, t.u, t.dx, t.du);

            double[] u = Check.toDouble(t.uv);
            double[] w1 = Check.toDouble(t.se.weights1().toFloatArray());
            double[] b1 = Check.toDouble(t.se.bias1().toFloatArray());
            double[] w2 = Check.toDouble(t.se.weights2().toFloatArray());
            double[] b2 = Check.toDouble(t.se.bias2().toFloatArray());
            SeReference.Pass f = t.ref.forward(u, w1, b1, w2, b2);
            SeReference.Grads g = t.ref.backward(u, w1, w2, f, Check.toDouble(t.dxv));

            Check.close("z", f.z(), t.se.squeezed().toFloatArray(), 1e-6, 1e-5);
            Check.close("a", f.a(), t.se.hidden().toFloatArray(), 1e-6, 1e-5);
            Check.close("s", f.s(), t.se.excitation().toFloatArray(), 1e-6, 1e-5);
            Check.close("x", f.x(), t.x.toFloatArray(), 1e-6, 1e-5);
            Check.close("du", g.du(), t.du.toFloatArray(), 1e-6, 1e-5);
            Check.close("dW1", g.dw1(), t.se.diffWeights1().toFloatArray(), 1e-5, 1e-4);
            Check.close("db1", g.db1(), t.se.diffBias1().toFloatArray(), 1e-5, 1e-4);
            Check.close("dW2", g.dw2(), t.se.diffWeights2().toFloatArray(), 1e-5, 1e-4);
            Check.close("db2", g.db2(), t.se.diffBias2().toFloatArray(), 1e-5, 1e-4);
        }
    }

    @Test
    void finiteDifferenceGradientsForEveryInput() {
        int n = 2, c = 6, h = 3, w = 3, r = 2;
        try (Scope scope = Scope.leakChecked("se gradcheck"); Stream stream = Stream.create(scope)) {
            // A seed whose ReLU inputs stay clear of the kink at 0 (central differences straddle it otherwise).
            Setup t = null;
            double[] w1 = null, b1 = null, w2 = null, b2 = null;
            for (long seed = 1; ; seed++) {
                if (t != null) {
                    t.se.close();
                }
                t = setup(scope, n, c, h, w, r, Layout.NCHW, seed);
                w1 = Check.toDouble(t.se.weights1().toFloatArray());
                b1 = Check.toDouble(t.se.bias1().toFloatArray());
                w2 = Check.toDouble(t.se.weights2().toFloatArray());
                b2 = Check.toDouble(t.se.bias2().toFloatArray());
                SeReference.Pass f = t.ref.forward(Check.toDouble(t.uv), w1, b1, w2, b2);
                if (SeReference.reluMargin(f) > 0.02 && java.util.Arrays.stream(f.a()).filter(v -> v == 0).count() > 0) {
                    break; // clear of the kink, and with some units switched off (their zero gradient is checked too)
                }
                assertTrue(seed < 200, "no seed with a ReLU margin found");
            }
            t.se.forward(stream, t.u, t.x);
            t.se.backward(stream, t.u, t.dx, t.du);

            double[] u = Check.toDouble(t.uv);
            double[] dy = Check.toDouble(t.dxv);
            SeReference ref = t.ref;
            double[] fw1 = w1, fb1 = b1, fw2 = w2, fb2 = b2;
            gradient("du", x -> ref.forward(x, fw1, fb1, fw2, fb2).x(), u, dy, t.du.toFloatArray());
            gradient("dW1", x -> ref.forward(u, x, fb1, fw2, fb2).x(), w1, dy, t.se.diffWeights1().toFloatArray());
            gradient("db1", x -> ref.forward(u, fw1, x, fw2, fb2).x(), b1, dy, t.se.diffBias1().toFloatArray());
            gradient("dW2", x -> ref.forward(u, fw1, fb1, x, fb2).x(), w2, dy, t.se.diffWeights2().toFloatArray());
            gradient("db2", x -> ref.forward(u, fw1, fb1, fw2, x).x(), b2, dy, t.se.diffBias2().toFloatArray());
        }
    }

    /** Central differences of {@code sum(dy * f(x))} against the analytic gradient (PyTorch's gradcheck, as a VJP). */
    private static void gradient(String what, Function<double[], double[]> f, double[] x, double[] dy, float[] analytic) {
        double step = 1e-4;
        assertEquals(x.length, analytic.length, what + ": gradient length");
        double[] probe = x.clone();
        for (int i = 0; i < x.length; i++) {
            probe[i] = x[i] + step;
            double plus = dot(dy, f.apply(probe));
            probe[i] = x[i] - step;
            double minus = dot(dy, f.apply(probe));
            probe[i] = x[i];
            double numeric = (plus - minus) / (2 * step);
            double err = Math.abs(numeric - analytic[i]);
            if (!(err <= 1e-4 + 1e-3 * Math.abs(numeric))) {
                throw new AssertionError(what + ": d(sum(dy*x))/d[" + i + "]: numeric " + numeric + " vs analytic "
                        + analytic[i] + " (|diff| " + err + ")");
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void channelsLastGivesTheSameResultsAsNchw() {
        try (Scope scope = Scope.leakChecked("se layouts"); Stream stream = Stream.create(scope)) {
            Setup a = setup(scope, 3, 80, 5, 6, 8, Layout.NCHW, 11);
            Setup b = setup(scope, 3, 80, 5, 6, 8, Layout.NHWC, 11);
            for (Setup t : new Setup[] {a, b}) {
                t.se.forward(stream, t.u, t.x);
                t.se.backward(stream, t.u, t.dx, t.du);
            }
            // toFloatArray returns nchw order for both.
            Check.close("x", a.x.toFloatArray(), b.x.toFloatArray(), 1e-6, 1e-5);
            Check.close("du", a.du.toFloatArray(), b.du.toFloatArray(), 1e-6, 1e-5);
            Check.close("dW1", a.se.diffWeights1().toFloatArray(), b.se.diffWeights1().toFloatArray(), 1e-6, 1e-5);
            Check.close("dW2", a.se.diffWeights2().toFloatArray(), b.se.diffWeights2().toFloatArray(), 1e-6, 1e-5);
            // And the nhwc bytes really are channels-last: element (n=0, h=0, w=1, c=0) sits at index C.
            float[] raw = b.x.segment().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertEquals(a.x.toFloatArray()[1], raw[80], 0f);
        }
    }

    @Test
    void zeroSecondLayerGatesEveryChannelByAHalf() {
        // W2 = 0, b2 = 0: s = sigmoid(0) = 1/2 whatever the squeeze, so x = u / 2 exactly; and then
        // du = dx / 2 + dz/HW with dz = W1^T (relu' * W2^T ...) = 0, so du = dx / 2 exactly too.
        try (Scope scope = Scope.leakChecked("se half"); Stream stream = Stream.create(scope)) {
            Setup t = setup(scope, 2, 12, 4, 5, 3, Layout.NCHW, 5);
            int c = 12, hid = 4;
            t.se.setParameters(t.se.weights1().toFloatArray(), t.se.bias1().toFloatArray(), new float[c * hid], new float[c]);
            t.se.forward(stream, t.u, t.x);
            t.se.backward(stream, t.u, t.dx, t.du);
            float[] x = t.x.toFloatArray();
            float[] du = t.du.toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(t.uv[i] / 2, x[i], 0f, "x[" + i + "]");
                assertEquals(t.dxv[i] / 2, du[i], 0f, "du[" + i + "]");
            }
            assertArrayEquals(new float[c * hid], t.se.diffWeights1().toFloatArray());
        }
    }

    @Test
    void hiddenLayerAndGatesOfAHandComputedCase() {
        // N=1, C=2, 1x2 plane, r=2 (one hidden unit): u = [[1, 3], [-2, 0]] -> z = [2, -1].
        // W1 = [0.5, 1], b1 = 0.25 -> a = relu(1 - 1 + 0.25) = 0.25; W2 = [[4], [-4]], b2 = [0, 1]
        // -> s = [sigmoid(1), sigmoid(0)] = [0.7310586, 0.5]; x = [[0.7310586, 2.1931758], [-1, 0]].
        try (Scope scope = Scope.leakChecked("se by hand"); Stream stream = Stream.create(scope)) {
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se", 1, 2, 1, 2, 2);
            se.setParameters(new float[] {0.5f, 1f}, new float[] {0.25f}, new float[] {4f, -4f}, new float[] {0f, 1f});
            Tensor u = Tensor.of(scope, "u", new float[] {1, 3, -2, 0}, 1, 2, 1, 2);
            Tensor x = Tensor.zeros(scope, "x", 1, 2, 1, 2);
            se.forward(stream, u, x);
            assertArrayEquals(new float[] {2, -1}, se.squeezed().toFloatArray(), 0f);
            assertArrayEquals(new float[] {0.25f}, se.hidden().toFloatArray(), 1e-7f);
            float s0 = (float) (1 / (1 + Math.exp(-1)));
            assertArrayEquals(new float[] {s0, 0.5f}, se.excitation().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {s0, 3 * s0, -1, 0}, x.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void initialisationIsPyTorchsLinearDefaultAndFollowsTheSeed() {
        try (Scope scope = Scope.leakChecked("se init")) {
            SqueezeExcitation a = SqueezeExcitation.create(scope, "a", 2, 64, 3, 3, 16, Layout.NCHW, 42);
            SqueezeExcitation b = SqueezeExcitation.create(scope, "b", 2, 64, 3, 3, 16, Layout.NHWC, 42);
            SqueezeExcitation c = SqueezeExcitation.create(scope, "c", 2, 64, 3, 3, 16, Layout.NCHW, 43);
            assertArrayEquals(a.weights1().toFloatArray(), b.weights1().toFloatArray());
            assertArrayEquals(a.bias2().toFloatArray(), b.bias2().toFloatArray());
            assertNotEquals(a.weights1().toFloatArray()[0], c.weights1().toFloatArray()[0]);
            // fan_in is C = 64 for FC1 (bound 1/8) and C/r = 4 for FC2 (bound 1/2).
            checkUniform("W1", a.weights1().toFloatArray(), 1 / 8.0);
            checkUniform("b1", a.bias1().toFloatArray(), 1 / 8.0);
            checkUniform("W2", a.weights2().toFloatArray(), 1 / 2.0);
            checkUniform("b2", a.bias2().toFloatArray(), 1 / 2.0);
            assertArrayEquals(new long[] {4, 64}, a.weights1().dims());
            assertArrayEquals(new long[] {64, 4}, a.weights2().dims());
            assertEquals(2 * 64 * 4 + 4 + 64, a.geometry().parameterCount());
        }
    }

    private static void checkUniform(String what, float[] v, double bound) {
        double mean = 0;
        double maxAbs = 0;
        for (float f : v) {
            mean += f;
            maxAbs = Math.max(maxAbs, Math.abs(f));
        }
        mean /= v.length;
        assertTrue(maxAbs <= bound, what + " exceeds the bound " + bound + ": " + maxAbs);
        assertTrue(v.length < 16 || maxAbs > 0.7 * bound, what + " does not fill [-bound, bound]: max " + maxAbs);
        // Uniform on [-b, b] has standard deviation b/sqrt(3); the mean of k draws is within 4 sd/sqrt(k).
        assertTrue(Math.abs(mean) < 4 * bound / Math.sqrt(3 * v.length), what + " mean " + mean);
    }

    @Test
    void forwardAndBackwardAllocateNoNativeMemory() {
        try (Scope scope = Scope.leakChecked("se allocations"); Stream stream = Stream.create(scope)) {
            for (Layout layout : Layout.values()) {
                Setup t = setup(scope, 4, 64, 14, 14, 16, layout, 3);
                t.se.forward(stream, t.u, t.x); // first run: warm up
                t.se.backward(stream, t.u, t.dx, t.du);
                long allocations = scope.allocations();
                long bytes = scope.bytesAllocated();
                int live = NativeResource.liveCount();
                long liveBytes = NativeResource.liveBytes();
                for (int i = 0; i < 5; i++) {
                    t.se.forward(stream, t.u, t.x);
                    t.se.backward(stream, t.u, t.dx, t.du);
                }
                assertEquals(allocations, scope.allocations(), layout + ": resources created by forward/backward");
                assertEquals(bytes, scope.bytesAllocated(), layout + ": native bytes allocated by forward/backward");
                assertEquals(live, NativeResource.liveCount(), layout + ": live native resources");
                assertEquals(liveBytes, NativeResource.liveBytes(), layout + ": live native bytes");
            }
        }
    }

    @Test
    void closingTheBlockFreesEverythingAndLaterUseThrows() {
        try (Scope scope = Scope.leakChecked("se close"); Stream stream = Stream.create(scope)) {
            Tensor u = Tensor.zeros(scope, "u", 2, 8, 3, 3);
            int before = NativeResource.liveCount();
            long bytesBefore = NativeResource.liveBytes();
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se", 2, 8, 3, 3, 2);
            assertTrue(NativeResource.liveCount() > before + 20, "primitives, descriptors, tensors, bound arguments");
            se.close();
            assertEquals(before, NativeResource.liveCount(), "everything the block created is freed");
            assertEquals(bytesBefore, NativeResource.liveBytes());
            se.close(); // idempotent
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> se.forward(stream, u, u));
            assertTrue(e.getMessage().contains("SqueezeExcitation se"), e.getMessage());
        }
    }

    // ---- rejected configurations: exact messages, nothing allocated ----

    static java.util.stream.Stream<Arguments> badShapes() {
        return java.util.stream.Stream.of(
                Arguments.of(2, 10, 4, 4, 3, "se1: channels C=10 are not divisible by the reduction ratio r=3 (C/r = 10/3 = 3.33 hidden units; need C % r == 0)"),
                Arguments.of(2, 8, 4, 4, 16, "se1: channels C=8 are not divisible by the reduction ratio r=16 (C/r = 8/16 = 0.500 hidden units; need C % r == 0)"),
                Arguments.of(2, 8, 4, 4, 0, "se1: reduction ratio r must be >= 1, got r=0"),
                Arguments.of(2, 8, 0, 4, 2, "se1: input dimension H = 0 must be positive (input dims [2, 8, 0, 4])"),
                Arguments.of(-1, 8, 4, 4, 2, "se1: input dimension N = -1 must be positive (input dims [-1, 8, 4, 4])"),
                Arguments.of(2, 8, 1L << 61, 4, 2, "se1: input dimension H = 2305843009213693952 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; input dims [2, 8, 2305843009213693952, 4])"),
                Arguments.of(1 << 16, 1 << 16, 1, 1, 2, "se1: input [65536, 65536, 1, 1] (N x C x H x W) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS)"),
                // An input of 2^16 values, but C^2/r = 2^32 excitation weights.
                Arguments.of(1, 1 << 16, 1, 1, 1, "se1: excitation weights [65536, 65536] (C/r x C) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from channels C and reduction ratio r"));
    }

    @ParameterizedTest(name = "{5}")
    @MethodSource("badShapes")
    void invalidConfigurationsAreRejectedBeforeAnyNativeCall(long n, long c, long h, long w, long r, String message) {
        try (Scope scope = Scope.leakChecked("se bad")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SqueezeExcitation.create(scope, "se1", n, c, h, w, r));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations());
        }
    }

    @Test
    void tensorsOfTheWrongShapeOrLayoutAreRejectedBeforeAnyWork() {
        try (Scope scope = Scope.leakChecked("se bad tensors"); Stream stream = Stream.create(scope)) {
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se1", 2, 8, 4, 4, 2);
            Tensor good = Tensor.zeros(scope, "u", 2, 8, 4, 4);
            Tensor small = Tensor.zeros(scope, "x", 2, 8, 4, 3);
            Tensor nhwc = activation(scope, "v", Layout.NHWC, null, 2, 8, 4, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> se.forward(stream, good, small));
            assertEquals("se1: dst must be f32 [2, 8, 4, 4] abcd (N x C x H x W, NCHW), got tensor 'x' f32 [2, 8, 4, 3] abcd",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> se.backward(stream, good, nhwc, good));
            assertEquals("se1: diff_dst must be f32 [2, 8, 4, 4] abcd (N x C x H x W, NCHW), got tensor 'v' f32 [2, 8, 4, 4] acdb",
                    e.getMessage());
            float[] before = se.excitation().toFloatArray();
            assertArrayEquals(new float[16], before, "nothing ran");
        }
    }

    @Test
    void statelessKernelsCheckShapesAndLayouts() {
        try (Scope scope = Scope.leakChecked("se kernels")) {
            Tensor u = Tensor.of(scope, "u", new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2);
            Tensor z = Tensor.zeros(scope, "z", 1, 2);
            SeKernels.squeeze(Layout.NCHW, u, z);
            assertArrayEquals(new float[] {2.5f, 6.5f}, z.toFloatArray());
            Tensor s = Tensor.of(scope, "s", new float[] {2, -1}, 1, 2);
            Tensor x = Tensor.zeros(scope, "x", 1, 2, 2, 2);
            SeKernels.scale(Layout.NCHW, u, s, x);
            assertArrayEquals(new float[] {2, 4, 6, 8, -5, -6, -7, -8}, x.toFloatArray());
            Tensor ds = Tensor.zeros(scope, "ds", 1, 2);
            SeKernels.scaleBackward(Layout.NCHW, u, x, ds);
            assertArrayEquals(new float[] {2 * (1 + 4 + 9 + 16), -(25 + 36 + 49 + 64)}, ds.toFloatArray());
            Tensor du = Tensor.zeros(scope, "du", 1, 2, 2, 2);
            SeKernels.inputBackward(Layout.NCHW, u, s, Tensor.of(scope, "dz", new float[] {4, 8}, 1, 2), du);
            assertArrayEquals(new float[] {3, 5, 7, 9, -3, -4, -5, -6}, du.toFloatArray());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SeKernels.squeeze(Layout.NCHW, u, Tensor.zeros(scope, "z3", 1, 3)));
            assertEquals("squeeze-excitation squeeze: expected z [1, 2], got [1, 3]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> SeKernels.squeeze(Layout.NHWC, u, z));
            assertEquals("squeeze-excitation squeeze: u must be dense f32 in layout acdb (NHWC), got tensor 'u' "
                    + "f32 [1, 2, 2, 2] abcd (reorder it first)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> SeKernels.squeeze(Layout.NCHW, z, z));
            assertEquals("squeeze-excitation squeeze: expected 4D u (N x C x H x W), got 2D: [1, 2]", e.getMessage());
        }
    }
}
