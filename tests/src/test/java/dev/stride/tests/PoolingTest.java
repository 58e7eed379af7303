package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.pool.Pooling;
import dev.stride.pool.Pooling.Params;
import dev.stride.testing.Check;
import dev.stride.tests.support.PoolingReference;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream.Builder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Pooling forward and backward through oneDNN against naive double loops and finite differences. */
class PoolingTest {

    static java.util.stream.Stream<Arguments> shapes() {
        int[] asymL = {0, 1};
        int[] asymR = {2, 1};
        Builder<Arguments> b = java.util.stream.Stream.builder();
        b.add(Arguments.of("max 2x2/2", new long[] {2, 3, 8, 8}, Params.max(2)));
        b.add(Arguments.of("max 3x3/2 odd 9x9", new long[] {1, 2, 9, 9}, Params.max(3).stride(2)));
        b.add(Arguments.of("max 3x3/2 p1 7x7", new long[] {2, 2, 7, 7}, Params.max(3).stride(2).padding(1)));
        b.add(Arguments.of("max 3x2/2 asymmetric pad", new long[] {1, 3, 7, 6}, Params.max(3, 2).stride(2).padding(asymL, asymR)));
        b.add(Arguments.of("max 3x3/1 overlapping", new long[] {2, 2, 5, 5}, Params.max(3).stride(1)));
        b.add(Arguments.of("max 1x1/2 subsampling", new long[] {1, 2, 5, 5}, Params.max(1).stride(2)));
        b.add(Arguments.of("avg 3x3/2 p1 incl", new long[] {2, 3, 7, 7}, Params.avg(3).stride(2).padding(1)));
        b.add(Arguments.of("avg 3x3/2 p1 excl", new long[] {2, 3, 7, 7}, Params.avg(3).stride(2).padding(1).excludePadding()));
        b.add(Arguments.of("avg 3x2/2 asymmetric incl", new long[] {1, 2, 7, 6}, Params.avg(3, 2).stride(2).padding(asymL, asymR)));
        b.add(Arguments.of("avg 3x2/2 asymmetric excl", new long[] {1, 2, 7, 6}, Params.avg(3, 2).stride(2).padding(asymL, asymR).excludePadding()));
        b.add(Arguments.of("avg 2x2/2 batch 3", new long[] {3, 5, 6, 6}, Params.avg(2)));
        b.add(Arguments.of("l2 2x2/2", new long[] {2, 3, 6, 6}, Params.l2(2)));
        b.add(Arguments.of("l2 3x3/2 p1", new long[] {1, 2, 7, 7}, Params.l2(3).stride(2).padding(1)));
        b.add(Arguments.of("l2 3x2/2 asymmetric", new long[] {2, 2, 7, 6}, Params.l2(3, 2).stride(2).padding(asymL, asymR)));
        b.add(Arguments.of("l2 3x3/1 overlapping", new long[] {1, 2, 5, 5}, Params.l2(3).stride(1)));
        b.add(Arguments.of("global avg", new long[] {2, 3, 5, 7}, Params.globalAvg()));
        b.add(Arguments.of("global max", new long[] {2, 3, 5, 7}, Params.globalMax()));
        b.add(Arguments.of("3d max 2/2", new long[] {2, 2, 4, 6, 6}, Params.max(2)));
        b.add(Arguments.of("3d max 3/2 p1", new long[] {1, 2, 5, 5, 5}, Params.max(3).stride(2).padding(1)));
        b.add(Arguments.of("3d avg 3/2 p1 incl", new long[] {1, 2, 5, 7, 5}, Params.avg(3).stride(2).padding(1)));
        b.add(Arguments.of("3d avg asymmetric excl", new long[] {1, 2, 5, 6, 7},
                Params.avg(3, 2, 3).stride(2).padding(new int[] {0, 0, 1}, new int[] {2, 0, 1}).excludePadding()));
        b.add(Arguments.of("3d l2 2/2", new long[] {2, 2, 4, 4, 6}, Params.l2(2)));
        b.add(Arguments.of("3d l2 3/2 p1", new long[] {1, 1, 5, 5, 5}, Params.l2(3).stride(2).padding(1)));
        b.add(Arguments.of("3d global avg", new long[] {2, 3, 3, 4, 5}, Params.globalAvg()));
        b.add(Arguments.of("3d global max", new long[] {1, 2, 3, 4, 5}, Params.globalMax()));
        return b.build();
    }

    /** Distinct values spread over [-1, 1), shuffled: max pooling never sees a tie, so FD is exact there. */
    static float[] distinct(SplittableRandom r, long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((i + 0.5) / v.length * 2 - 1);
        }
        for (int i = v.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        return v;
    }

    record Result(float[] y, float[] dx) {}

    /** Training forward + backward with tensors in the layouts the primitives chose for {@code src}. */
    static Result forwardBackward(Scope scope, MemoryDesc src, Params p, float[] x, float[] dy) {
        try (Stream s = Stream.create(scope);
                Pooling.Forward fwd = Pooling.Forward.create(scope, "pool", src, p, PropKind.TRAINING);
                Pooling.Backward bwd = Pooling.Backward.create(scope, "pool.backward", fwd);
                Tensor xt = Tensor.allocate(scope, "x", fwd.srcDesc());
                Tensor yt = Tensor.allocate(scope, "y", fwd.dstDesc());
                Tensor ws = fwd.hasWorkspace() ? Tensor.allocate(scope, "ws", fwd.workspaceDesc()) : null;
                Tensor dyt = Tensor.allocate(scope, "dy", bwd.diffDstDesc());
                Tensor dxt = Tensor.allocate(scope, "dx", bwd.diffSrcDesc())) {
            xt.copyFrom(x);
            dyt.copyFrom(dy);
            Pooling.Bound fa = fwd.bind(scope, xt, yt, ws);
            Pooling.Bound ba = bwd.bind(scope, fa, dyt, dxt);
            // Twice: a bound pooling is reusable, and the L2 backward's temporaries must not carry over.
            for (int i = 0; i < 2; i++) {
                fwd.execute(s, fa);
                bwd.execute(s, ba);
            }
            s.await();
            return new Result(yt.toFloatArray(), dxt.toFloatArray());
        }
    }

    static Result forwardBackward(String label, long[] dims, Params p, float[] x, float[] dy) {
        try (Scope scope = Scope.leakChecked(label); MemoryDesc src = MemoryDesc.plain(scope, dims)) {
            return forwardBackward(scope, src, p, x, dy);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void forwardMatchesReferenceAndBackwardMatchesFiniteDifferences(String label, long[] dims, Params p) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        Pooling.Geometry g = Pooling.Geometry.of(label, dims, p);
        float[] x = distinct(r, Check.count(dims));
        float[] dy = Check.random(r, Check.count(g.dst()));
        Result got = forwardBackward(label, dims, p, x, dy);
        double[] xd = Check.toDouble(x);
        Check.close(label + " forward", g.dst(), Check.toFloat(PoolingReference.forward(g, xd)), got.y(), 1e-6, 1e-5);
        Function<double[], double[]> f = v -> PoolingReference.forward(g, v);
        Check.gradient(label + " backward", dims, f, xd, Check.toDouble(dy), got.dx(), 1e-4, 1e-5, 1e-4);
    }

    @Test
    void blockedAndChannelsLastLayoutsGiveTheSameResults() {
        long[] dims = {2, 16, 7, 7};
        SplittableRandom r = new SplittableRandom(11);
        float[] x = distinct(r, Check.count(dims));
        for (Params p : new Params[] {Params.max(3).stride(2).padding(1), Params.avg(3).stride(2).padding(1).excludePadding(),
                Params.l2(3).stride(2).padding(1), Params.globalMax()}) {
            Pooling.Geometry g = Pooling.Geometry.of("p", dims, p);
            float[] dy = Check.random(r, Check.count(g.dst()));
            Result plain = forwardBackward("plain " + p, dims, p, x, dy);
            try (Scope scope = Scope.leakChecked("layouts " + p)) {
                // A layout a convolution chose (nChw16c on AVX-512) and channels-last.
                MemoryDesc blocked = Convolution.Forward.create(scope, "c", dims, Convolution.Params.of(16, 3).padding(1)).dstDesc();
                MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.ACDB, dims);
                for (MemoryDesc src : new MemoryDesc[] {blocked, nhwc}) {
                    Result got = forwardBackward(scope, src, p, x, dy);
                    Check.close(p + " " + src.layout() + " forward", g.dst(), plain.y(), got.y(), 1e-6, 1e-5);
                    Check.close(p + " " + src.layout() + " backward", dims, plain.dx(), got.dx(), 1e-6, 1e-5);
                }
            }
        }
    }

    /**
     * The L2 backward divides by the window's norm; where that norm is 0 (all-zero windows, or values whose
     * squares underflow f32) it must give finite gradients (the subgradient 0), never NaN or Inf. Finite
     * differences mean nothing at the cone's tip, so this is checked against the analytic formula instead.
     */
    @Test
    void l2BackwardIsFiniteWhereAWindowIsAllZeros() {
        long[] dims = {2, 2, 6, 6};
        SplittableRandom r = new SplittableRandom(5);
        float[] x = Check.random(r, Check.count(dims));
        // Zero out whole 2x2 windows (first channel) and a 3x3 block (second sample) so that the overlapping
        // 3x3/1 windows see both all-zero and partly-zero inputs.
        for (int h = 0; h < 4; h++) {
            for (int w = 0; w < 2; w++) {
                x[h * 6 + w] = 0;
            }
        }
        for (int h = 2; h < 5; h++) {
            for (int w = 1; w < 4; w++) {
                x[72 + h * 6 + w] = 0;
            }
        }
        for (Params p : new Params[] {Params.l2(2), Params.l2(3).stride(1).padding(1), Params.l2(2).stride(2).padding(1)}) {
            Pooling.Geometry g = Pooling.Geometry.of("l2", dims, p);
            float[] dy = Check.random(r, Check.count(g.dst()));
            for (int i = 0; i < dy.length; i++) {
                dy[i] *= 1000;
            }
            Result got = forwardBackward("l2 zeros " + p, dims, p, x, dy);
            assertAllFinite(p + " dy", got.dx());
            float[] want = Check.toFloat(PoolingReference.l2Backward(g, Check.toDouble(x), Check.toDouble(dy)));
            Check.close(p + " backward with zero windows", dims, want, got.dx(), 1e-3, 1e-4);
            float[] y = got.y();
            assertTrue(min(y) == 0, p + ": some window is all zeros");
        }
        // Values whose squares underflow f32 (1e-30^2 = 1e-60): the forward sees a zero norm, the backward
        // must still be finite (and negligible), not 1e-30 * dy / 0.
        float[] tiny = x.clone();
        for (int i = 0; i < 12; i++) {
            tiny[i] = (i % 2 == 0 ? 1e-30f : -3e-25f);
        }
        Params p = Params.l2(2);
        Pooling.Geometry g = Pooling.Geometry.of("l2", dims, p);
        float[] dy = Check.random(r, Check.count(g.dst()));
        Result got = forwardBackward("l2 tiny", dims, p, tiny, dy);
        assertAllFinite("tiny y", got.y());
        assertAllFinite("tiny dx", got.dx());
        for (int i = 0; i < 12; i++) {
            assertTrue(Math.abs(got.dx()[i]) < 1e-20, "dx[" + i + "] = " + got.dx()[i]);
        }
    }

    @Test
    void inferenceForwardMatchesTrainingAndHasNoWorkspace() {
        long[] dims = {2, 3, 7, 7};
        SplittableRandom r = new SplittableRandom(9);
        float[] x = distinct(r, Check.count(dims));
        for (Params p : new Params[] {Params.max(3).stride(2).padding(1), Params.l2(3).stride(2).padding(1), Params.globalAvg()}) {
            Pooling.Geometry g = Pooling.Geometry.of("p", dims, p);
            try (Scope scope = Scope.leakChecked("inference " + p); Stream s = Stream.create(scope)) {
                Pooling.Forward inf = Pooling.Forward.create(scope, "pool", dims, p, PropKind.INFERENCE);
                assertFalse(inf.hasWorkspace());
                Tensor xt = Tensor.of(scope, "x", x, dims);
                Tensor yt = Tensor.zeros(scope, "y", g.dst());
                inf.executePlain(s, xt, yt);
                Check.close(p + " inference", g.dst(), Check.toFloat(PoolingReference.forward(g, Check.toDouble(x))),
                        yt.toFloatArray(), 1e-6, 1e-5);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Pooling.Backward.create(scope, "pool.backward", inf));
                assertEquals("pool.backward: backward needs a forward created in TRAINING mode (pool is INFERENCE)", e.getMessage());
                Pooling.Forward train = Pooling.Forward.create(scope, "pool", dims, p);
                assertEquals(p.algorithm() == Pooling.Algorithm.MAX, train.hasWorkspace());
                Tensor y2 = Tensor.zeros(scope, "y2", g.dst());
                train.executePlain(s, xt, y2);
                Check.close(p + " training = inference", g.dst(), yt.toFloatArray(), y2.toFloatArray(), 0, 0);
            }
        }
    }

    @Test
    void executePlainNamesANullTensor() {
        try (Scope scope = Scope.leakChecked("nulls"); Stream s = Stream.create(scope);
                Pooling.Forward f = Pooling.Forward.create(scope, "pool1", new long[] {1, 2, 4, 4}, Params.max(2))) {
            Tensor x = Tensor.zeros(scope, "x", 1, 2, 4, 4);
            Tensor y = Tensor.zeros(scope, "y", 1, 2, 2, 2);
            assertEquals("pool1: no tensor given for src",
                    assertThrows(IllegalArgumentException.class, () -> f.executePlain(s, null, y)).getMessage());
            assertEquals("pool1: no tensor given for dst",
                    assertThrows(IllegalArgumentException.class, () -> f.executePlain(s, x, null)).getMessage());
            assertEquals("pool1: dst must have dims [1, 2, 2, 2], got tensor 'x' f32 [1, 2, 4, 4] abcd",
                    assertThrows(IllegalArgumentException.class, () -> f.executePlain(s, x, x)).getMessage());
        }
    }

    @Test
    void maxWorkspaceMustBeBoundAndOnlyForMax() {
        long[] dims = {1, 2, 4, 4};
        try (Scope scope = Scope.leakChecked("workspace")) {
            Pooling.Forward max = Pooling.Forward.create(scope, "pool1", dims, Params.max(2));
            assertTrue(max.workspaceDesc().byteSize() > 0);
            Tensor x = Tensor.allocate(scope, "x", max.srcDesc());
            Tensor y = Tensor.allocate(scope, "y", max.dstDesc());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> max.bind(scope, x, y));
            assertEquals("pool1: max pooling in TRAINING mode needs its workspace (allocate one in workspaceDesc() "
                    + "and pass it to the backward too)", e.getMessage());
            Pooling.Backward back = Pooling.Backward.create(scope, "pool1.backward", max);
            Tensor dy = Tensor.allocate(scope, "dy", back.diffDstDesc());
            Tensor dx = Tensor.allocate(scope, "dx", back.diffSrcDesc());
            e = assertThrows(IllegalArgumentException.class, () -> back.bind(scope, dy, dx, null, null, null));
            assertEquals("pool1.backward: max pooling backward needs the workspace its forward filled", e.getMessage());

            Pooling.Forward avg = Pooling.Forward.create(scope, "pool2", dims, Params.avg(2));
            e = assertThrows(IllegalArgumentException.class, avg::workspaceDesc);
            assertEquals("pool2: only max pooling in TRAINING mode has a workspace (this is avg, TRAINING)", e.getMessage());
            Tensor ws = Tensor.allocate(scope, "ws", max.workspaceDesc());
            e = assertThrows(IllegalArgumentException.class, () -> avg.bind(scope, x, y, ws));
            assertEquals("pool2: avg pooling in TRAINING mode has no workspace", e.getMessage());

            Pooling.Forward l2 = Pooling.Forward.create(scope, "pool3", dims, Params.l2(2));
            Pooling.Backward l2back = Pooling.Backward.create(scope, "pool3.backward", l2);
            e = assertThrows(IllegalArgumentException.class, () -> l2back.bind(scope, dy, dx, x, null, null));
            assertEquals("pool3.backward: L2 pooling backward needs the forward's src and dst", e.getMessage());
            Pooling.Bound maxArgs = max.bind(scope, x, y, ws);
            assertThrows(IllegalArgumentException.class, () -> l2back.bind(scope, maxArgs, dy, dx));
            assertThrows(IllegalArgumentException.class, () -> avg.execute(null, maxArgs));
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {1, 1, 29, 28}, Params.max(5).stride(2),
                        "pool1: W2 = (W1 - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5 is not an integer"),
                Arguments.of(new long[] {1, 1, 9, 10}, Params.avg(3).stride(2).padding(new int[] {1, 0}, new int[] {0, 0}),
                        "pool1: H2 = (H1 - F + PL + PR)/S + 1 = (9 - 3 + 1 + 0)/2 + 1 = 4.5 is not an integer"),
                Arguments.of(new long[] {1, 1, 5, 8, 8}, Params.l2(2),
                        "pool1: D2 = (D1 - F + 2P)/S + 1 = (5 - 2 + 0)/2 + 1 = 2.5 is not an integer"),
                Arguments.of(new long[] {1, 28, 28}, Params.max(2), "pool1: expected 4D or 5D input (got 3D: [1, 28, 28])"),
                Arguments.of(new long[] {1, 1, 2, 2, 2, 2}, Params.globalAvg(),
                        "pool1: expected 4D or 5D input (got 6D: [1, 1, 2, 2, 2, 2])"),
                Arguments.of(new long[] {1, 1, 8, 4}, Params.max(7).stride(1),
                        "pool1: W2 = (W1 - F + 2P)/S + 1 = (4 - 7 + 0)/1 + 1 = -2 is not positive: the window (7 wide) is larger than the padded input (4)"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(2).padding(2),
                        "pool1: padding PH=2 must be smaller than the extent FH=2 (a window would lie entirely in the padding)"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.avg(3).stride(1).padding(new int[] {0, 0}, new int[] {0, 3}),
                        "pool1: padding PW=0/3 must be smaller than the extent FW=3 (a window would lie entirely in the padding)"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(2).stride(0), "pool1: stride SH must be >= 1, got 0"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(0), "pool1: extent FH must be >= 1, got 0"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(3, 3, 3), "pool1: extent F needs 1 or 2 values, got [3, 3, 3]"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(3).stride(1).padding(-1), "pool1: padding PH must be >= 0, got -1"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.globalAvg().padding(1),
                        "pool1: global avg pooling takes no extent, stride or padding (the window is the whole input)"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(null, 2), "pool1: pooling algorithm must be given"),
                Arguments.of(new long[] {1, 0, 8, 8}, Params.max(2), "pool1: src dimension C = 0 must be positive (src dims [1, 0, 8, 8])"),
                Arguments.of(new long[] {1, 1, Long.MAX_VALUE, 8}, Params.max(2),
                        "pool1: src dimension H = 9223372036854775807 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; src dims [1, 1, 9223372036854775807, 8])"),
                Arguments.of(new long[] {1 << 16, 1 << 16, 2, 2}, Params.max(2),
                        "pool1: src [65536, 65536, 2, 2] (N x C x H x W) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS)"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.max(Integer.MAX_VALUE).stride(1).padding(Integer.MAX_VALUE - 1),
                        "pool1: dst dimension H2 = 2147483654 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; dst dims [1, 1, 2147483654, 2147483654]); it follows from the input's spatial dims with padding P, extent F and stride S"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidConfigurationsFailBeforeAnyNativeCallQuotingTheFormula(long[] dims, Params p, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Pooling.Forward.create(scope, "pool1", dims, p));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void paramsPrintOnlyWhatIsNotDefault() {
        assertEquals("max, F=2", Params.max(2).toString());
        assertEquals("avg(exclude padding), F=3, S=2, P=1", Params.avg(3).stride(2).padding(1).excludePadding().toString());
        assertEquals("l2, F=[3, 2], P=[0, 1]/[2, 1]", Params.l2(3, 2).padding(new int[] {0, 1}, new int[] {2, 1}).toString());
        assertEquals("global max", Params.globalMax().toString());
        assertEquals(Params.max(2).stride(2), Params.max(2).stride(2));
        assertThrows(IllegalArgumentException.class, () -> Params.max(2).excludePadding());
    }

    static void assertAllFinite(String what, float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new AssertionError(what + ": element " + i + " is " + v[i] + " " + Arrays.toString(Arrays.copyOf(v, 8)));
            }
        }
    }

    static float min(float[] v) {
        float m = Float.MAX_VALUE;
        for (float x : v) m = Math.min(m, x);
        return m;
    }
}
