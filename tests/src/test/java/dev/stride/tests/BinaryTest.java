package dev.stride.tests;

import static dev.stride.tests.TensorOpsReference.count;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.conv.Convolution;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Binary;
import dev.stride.tensor.Binary.Algorithm;
import dev.stride.tensor.Steps;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;
import java.util.stream.Stream.Builder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Binary ops with broadcasting, forward and the add/sub/mul gradients, against naive references. */
class BinaryTest {

    static DoubleBinaryOperator op(Algorithm alg) {
        return switch (alg) {
            case ADD -> Double::sum;
            case SUB -> (a, b) -> a - b;
            case MUL -> (a, b) -> a * b;
            case DIV -> (a, b) -> a / b;
            case MAX -> Math::max;
            case MIN -> Math::min;
        };
    }

    static java.util.stream.Stream<Arguments> shapes() {
        Builder<Arguments> b = java.util.stream.Stream.builder();
        for (Algorithm alg : Algorithm.values()) {
            b.add(Arguments.of(alg, new long[] {2, 5, 3, 7}, new long[] {1, 5, 1, 1}));  // per-channel
            b.add(Arguments.of(alg, new long[] {2, 3, 4, 5}, new long[] {1, 1, 1, 1}));  // scalar-like
            b.add(Arguments.of(alg, new long[] {3, 4, 5}, new long[] {3, 4, 5}));        // same shape
        }
        b.add(Arguments.of(Algorithm.ADD, new long[] {2, 3, 4}, new long[] {2, 1, 4}));       // middle dim
        b.add(Arguments.of(Algorithm.MUL, new long[] {1, 3, 5, 6}, new long[] {1, 3, 5, 1})); // batch 1, last dim
        b.add(Arguments.of(Algorithm.SUB, new long[] {4, 7}, new long[] {1, 7}));             // row vector
        b.add(Arguments.of(Algorithm.MUL, new long[] {2, 3, 3, 4, 5}, new long[] {2, 3, 1, 1, 1})); // 5D per (n, c)
        b.add(Arguments.of(Algorithm.ADD, new long[] {9}, new long[] {1}));
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} with {2}")
    @MethodSource("shapes")
    void forwardMatchesNaiveBroadcast(Algorithm alg, long[] d0, long[] d1) {
        SplittableRandom r = new SplittableRandom(d0.length * 31L + alg.ordinal());
        float[] a = Check.random(r, count(d0));
        float[] b = Check.random(r, count(d1));
        if (alg == Algorithm.DIV) {
            for (int i = 0; i < b.length; i++) b[i] = b[i] >= 0 ? b[i] + 0.5f : b[i] - 0.5f; // away from 0
        }
        double[] want = TensorOpsReference.binary(Check.toDouble(a), d0, Check.toDouble(b), d1, op(alg));
        try (Scope scope = Scope.leakChecked("binary"); Stream s = Stream.create(scope);
                Binary.Forward f = Binary.Forward.create(scope, "op", alg, d0, d1)) {
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.executeOnce(s, Tensor.of(scope, "a", a, d0), Tensor.of(scope, "b", b, d1), y);
            Check.close(alg.label(), d0, Check.toFloat(want), y.toFloatArray(), 1e-6, 1e-6);
        }
    }

    @Test
    void inPlaceAddOntoABlockedActivation() {
        // A residual add / per-channel bias on the layout a convolution chose (nChw16c), dst aliased to src0.
        long[] dims = {2, 32, 5, 5};
        long[] ch = {1, 32, 1, 1};
        SplittableRandom r = new SplittableRandom(5);
        float[] x = Check.random(r, count(dims));
        float[] c = Check.random(r, 32);
        try (Scope scope = Scope.leakChecked("blocked"); Stream s = Stream.create(scope);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", dims,
                        Convolution.Params.of(32, 3).padding(1))) {
            MemoryDesc blocked = conv.dstDesc();
            Binary.Forward f = Binary.Forward.create(scope, "bias", Algorithm.ADD, blocked, MemoryDesc.plain(scope, ch), null);
            assertEquals(blocked.layout(), f.dstDesc().layout());
            Tensor t = Tensor.allocate(scope, "t", blocked);
            t.copyFrom(x);
            ExecArgs args = f.bind(scope, t, Tensor.of(scope, "c", c, ch), t);
            f.execute(s, args);
            s.await();
            double[] want = TensorOpsReference.binary(Check.toDouble(x), dims, Check.toDouble(c), ch, Double::sum);
            Check.close("in-place blocked add", dims, Check.toFloat(want), t.toFloatArray(), 1e-6, 1e-6);
        }
    }

    static java.util.stream.Stream<Arguments> gradients() {
        Builder<Arguments> b = java.util.stream.Stream.builder();
        for (Algorithm alg : new Algorithm[] {Algorithm.ADD, Algorithm.SUB, Algorithm.MUL}) {
            b.add(Arguments.of(alg, new long[] {2, 3, 2, 3}, new long[] {1, 3, 1, 1}));
            b.add(Arguments.of(alg, new long[] {2, 2, 3, 2}, new long[] {1, 1, 1, 1}));
            b.add(Arguments.of(alg, new long[] {2, 3, 4}, new long[] {2, 3, 4}));
            b.add(Arguments.of(alg, new long[] {3, 4, 2}, new long[] {3, 1, 2}));
        }
        return b.build();
    }

    /** Both gradients by central differences of the double reference, with oneDNN's as the analytic ones. */
    @ParameterizedTest(name = "d {0} {1} with {2}")
    @MethodSource("gradients")
    void backwardMatchesFiniteDifferences(Algorithm alg, long[] d0, long[] d1) {
        SplittableRandom r = new SplittableRandom(77 + alg.ordinal());
        float[] a = Check.random(r, count(d0));
        float[] b = Check.random(r, count(d1));
        float[] dy = Check.random(r, count(d0));
        float[] da;
        float[] db;
        try (Scope scope = Scope.leakChecked("binary-bwd"); Stream s = Stream.create(scope);
                Binary.Forward f = Binary.Forward.create(scope, "op", alg, d0, d1);
                Binary.Backward bwd = Binary.Backward.create(scope, "op.bwd", f)) {
            Tensor ta = Tensor.of(scope, "a", a, d0);
            Tensor tb = Tensor.of(scope, "b", b, d1);
            Tensor tdy = Tensor.allocate(scope, "dy", bwd.diffDstDesc());
            tdy.copyFrom(dy);
            Tensor tda = Tensor.allocate(scope, "da", bwd.diffSrc0Desc());
            Tensor tdb = Tensor.allocate(scope, "db", bwd.diffSrc1Desc());
            Steps steps = bwd.bind(scope, ta, tb, tdy, tda, tdb);
            bwd.execute(s, steps);
            bwd.execute(s, steps); // a second pass overwrites (no accumulation)
            s.await();
            da = tda.toFloatArray();
            db = tdb.toFloatArray();
        }
        double[] ad = Check.toDouble(a);
        double[] bd = Check.toDouble(b);
        DoubleBinaryOperator o = op(alg);
        Check.gradient(alg.label() + " d/dsrc0", d0, x -> TensorOpsReference.binary(x, d0, bd, d1, o), ad,
                Check.toDouble(dy), da, 1e-4, 1e-5, 1e-4);
        Check.gradient(alg.label() + " d/dsrc1", d1, x -> TensorOpsReference.binary(ad, d0, x, d1, o), bd,
                Check.toDouble(dy), db, 1e-4, 1e-5, 1e-4);
    }

    @Test
    void gradientOfOneOperandOnlySkipsTheOther() {
        long[] d0 = {2, 4, 3, 3};
        long[] d1 = {1, 4, 1, 1};
        SplittableRandom r = new SplittableRandom(9);
        float[] dy = Check.random(r, count(d0));
        try (Scope scope = Scope.leakChecked("skip"); Stream s = Stream.create(scope);
                Binary.Forward f = Binary.Forward.create(scope, "bias", Algorithm.ADD, d0, d1);
                Binary.Backward bwd = Binary.Backward.create(scope, "bias.bwd", f)) {
            Tensor db = Tensor.zeros(scope, "db", d1);
            Steps steps = bwd.bind(scope, null, null, Tensor.of(scope, "dy", dy, d0), null, db);
            assertEquals(1, steps.size(), "only the reduction runs");
            bwd.execute(s, steps);
            s.await();
            float[] want = new float[4];
            for (int i = 0; i < dy.length; i++) want[(i / 9) % 4] += dy[i];
            Check.close("bias gradient", d1, want, db.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void mulGradientOnABlockedActivation() {
        // Squeeze-excitation style scaling x * s[1, C, 1, 1] with x in the layout a conv chose.
        long[] dims = {2, 32, 4, 3};
        long[] ch = {1, 32, 1, 1};
        SplittableRandom r = new SplittableRandom(12);
        float[] x = Check.random(r, count(dims));
        float[] c = Check.random(r, 32);
        float[] dy = Check.random(r, count(dims));
        try (Scope scope = Scope.leakChecked("blocked-bwd"); Stream s = Stream.create(scope);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", dims,
                        Convolution.Params.of(32, 1))) {
            MemoryDesc blocked = conv.dstDesc();
            Binary.Forward f = Binary.Forward.create(scope, "scale", Algorithm.MUL, blocked, MemoryDesc.plain(scope, ch), null);
            Binary.Backward bwd = Binary.Backward.create(scope, "scale.bwd", f);
            assertEquals(blocked.layout(), bwd.diffSrc0Desc().layout());
            Tensor tx = Tensor.allocate(scope, "x", blocked);
            tx.copyFrom(x);
            Tensor tdy = Tensor.allocate(scope, "dy", bwd.diffDstDesc());
            tdy.copyFrom(dy);
            Tensor dx = Tensor.allocate(scope, "dx", bwd.diffSrc0Desc());
            Tensor dc = Tensor.allocate(scope, "dc", bwd.diffSrc1Desc());
            bwd.execute(s, bwd.bind(scope, tx, Tensor.of(scope, "c", c, ch), tdy, dx, dc));
            s.await();
            float[] wantDx = new float[x.length];
            float[] wantDc = new float[32];
            for (int i = 0; i < x.length; i++) {
                int k = (i / 12) % 32;
                wantDx[i] = dy[i] * c[k];
                wantDc[k] += dy[i] * x[i];
            }
            Check.close("dx", dims, wantDx, dx.toFloatArray(), 1e-6, 1e-6);
            Check.close("dc", ch, wantDc, dc.toFloatArray(), 1e-5, 1e-5);
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(Algorithm.ADD, new long[] {2, 3, 4}, new long[] {2, 5, 4},
                        "add1: binary add: cannot broadcast [2, 3, 4] with [2, 5, 4]: dimension 1 is 3 vs 5"),
                Arguments.of(Algorithm.MUL, new long[] {2, 1, 4}, new long[] {2, 5, 4},
                        "add1: binary mul: cannot broadcast [2, 1, 4] with [2, 5, 4]: dimension 1 is 1 vs 5 (only src1 broadcasts: put the larger operand first)"),
                Arguments.of(Algorithm.SUB, new long[] {2, 3, 4, 4}, new long[] {3, 1, 1},
                        "add1: binary sub: cannot broadcast [2, 3, 4, 4] with [3, 1, 1]: ranks differ (4D vs 3D); give src1 the same rank with size-1 dims where it broadcasts"),
                Arguments.of(Algorithm.ADD, new long[] {2, 3}, new long[] {2, 2},
                        "add1: binary add: cannot broadcast [2, 3] with [2, 2]: dimension 1 is 3 vs 2"),
                Arguments.of(Algorithm.ADD, new long[] {2, 3}, new long[] {0, 3},
                        "add1: src1 dimension d0 = 0 must be positive (src1 dims [0, 3])"),
                Arguments.of(Algorithm.MUL, new long[] {2, 1L << 61}, new long[] {1, 1}, "add1: src0 dimension d1 ="
                        + " 2305843009213693952 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; src0 dims"
                        + " [2, 2305843009213693952])"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidShapesFailBeforeAnyNativeCall(Algorithm alg, long[] d0, long[] d1, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Binary.Forward.create(scope, "add1", alg, d0, d1));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void aNullDiffDstIsNamed() {
        try (Scope scope = Scope.leakChecked("null");
                Binary.Forward f = Binary.Forward.create(scope, "s", Algorithm.SUB, new long[] {2, 2}, new long[] {1, 2});
                Binary.Backward b = Binary.Backward.create(scope, "s.bwd", f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.bind(scope, null, null, null, Tensor.zeros(scope, "dx0", 2, 2), Tensor.zeros(scope, "dx1", 1, 2)));
            assertEquals("s.bwd: no diff_dst tensor given (every gradient of binary sub reads it)", e.getMessage());
        }
    }

    @Test
    void operatorsWithoutGradientAreRejected() {
        try (Scope scope = Scope.leakChecked("nograd");
                Binary.Forward f = Binary.Forward.create(scope, "m", Algorithm.MAX, new long[] {2, 2}, new long[] {1, 2})) {
            long before = scope.allocations();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Binary.Backward.create(scope, "m.bwd", f));
            assertEquals("m.bwd: binary max has no backward here (gradients are provided for add, sub and mul)", e.getMessage());
            assertEquals(before, scope.allocations());
        }
    }

    @Test
    void broadcastAxesAreReported() {
        assertArrayEquals(new int[] {0, 2, 3}, Binary.broadcastAxes(new long[] {2, 5, 3, 7}, new long[] {1, 5, 1, 1}));
        assertArrayEquals(new int[] {}, Binary.broadcastAxes(new long[] {1, 5}, new long[] {1, 5}));
    }
}
