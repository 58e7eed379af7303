package dev.stride.tests;

import static dev.stride.tests.TensorOpsReference.count;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.MemoryDesc;
import dev.stride.core.FormatTag;
import dev.stride.core.DataType;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Reduction;
import dev.stride.tensor.Sum;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The sum primitive (weighted sum of equal shapes) and the reduction primitive against naive loops. */
class SumReductionTest {

    static java.util.stream.Stream<Arguments> sums() {
        return java.util.stream.Stream.of(
                Arguments.of(new float[] {1f, 1f}, new long[] {2, 3, 5, 5}),
                Arguments.of(new float[] {0.5f, -2f, 3f}, new long[] {1, 7, 3, 9}),
                Arguments.of(new float[] {2.5f}, new long[] {11}),
                Arguments.of(new float[] {1f, 1f, 1f, 1f}, new long[] {3, 4, 5}));
    }

    @ParameterizedTest
    @MethodSource("sums")
    void weightedSumMatchesTheFormula(float[] scales, long[] dims) {
        SplittableRandom r = new SplittableRandom(scales.length);
        int n = (int) count(dims);
        float[][] xs = new float[scales.length][];
        double[] want = new double[n];
        for (int i = 0; i < scales.length; i++) {
            xs[i] = Check.random(r, n);
            for (int j = 0; j < n; j++) want[j] += (double) scales[i] * xs[i][j];
        }
        try (Scope scope = Scope.leakChecked("sum"); Stream s = Stream.create(scope);
                Sum.Forward f = Sum.Forward.create(scope, "sum", scales, dims)) {
            Tensor[] in = new Tensor[xs.length];
            for (int i = 0; i < xs.length; i++) in[i] = Tensor.of(scope, "x" + i, xs[i], dims);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, y, in));
            s.await();
            Check.close("sum", dims, Check.toFloat(want), y.toFloatArray(), 1e-6, 1e-6);
        }
    }

    @Test
    void sumOfMixedLayoutsAccumulatesInPlace() {
        long[] dims = {2, 3, 4, 5};
        SplittableRandom r = new SplittableRandom(11);
        float[] a = Check.random(r, count(dims));
        float[] b = Check.random(r, count(dims));
        try (Scope scope = Scope.leakChecked("sum-nhwc"); Stream s = Stream.create(scope)) {
            MemoryDesc nchw = MemoryDesc.plain(scope, dims);
            MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, dims);
            Sum.Forward f = Sum.Forward.create(scope, "acc", new float[] {1f, 1f}, nchw, nhwc);
            assertEquals(nchw.layout(), f.dstDesc().layout(), "dst follows the first source");
            Tensor ta = Tensor.of(scope, "a", a, dims);
            Tensor tb = Tensor.allocate(scope, "b", nhwc);
            tb.copyFrom(b);
            f.execute(s, f.bind(scope, ta, ta, tb)); // a += b
            s.await();
            float[] want = new float[a.length];
            for (int i = 0; i < a.length; i++) want[i] = a[i] + b[i];
            Check.close("a += b", dims, want, ta.toFloatArray(), 1e-6, 1e-6);
        }
    }

    @Test
    void sumRejectsMismatchedInputsBeforeAnyNativeCall() {
        try (Scope scope = Scope.leakChecked("sum-invalid")) {
            MemoryDesc a = MemoryDesc.plain(scope, 2, 3);
            MemoryDesc b = MemoryDesc.plain(scope, 2, 4);
            long before = scope.allocations();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Sum.Forward.create(scope, "sum1", new float[] {1, 1}, a, b));
            assertEquals("sum1: sum needs sources of equal dims: source 0 is [2, 3], source 1 is [2, 4]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sum.Forward.create(scope, "sum1", new float[] {1}, a, a));
            assertEquals("sum1: sum of 2 sources needs 2 scales, got 1", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sum.Forward.create(scope, "sum1", null, new long[] {2, 3}));
            assertEquals("sum1: no scales given (one per source)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sum.Forward.create(scope, "sum1", null, a, a));
            assertEquals("sum1: no scales given (one per source)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Sum.Forward.create(scope, "sum1", new float[] {1, Float.NaN}, a, a));
            assertEquals("sum1: sum scale 1 is NaN, must be finite", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Sum.Forward.create(scope, "sum1", new float[] {1, 1}, new long[] {2, 1L << 61}));
            assertEquals("sum1: src dimension d1 = 2305843009213693952 is over oneDNN's limit of 2147483647"
                    + " (MemoryDesc.MAX_DIM; src dims [2, 2305843009213693952])", e.getMessage());
            assertEquals(before, scope.allocations());
        }
    }

    static java.util.stream.Stream<Arguments> reductions() {
        return java.util.stream.Stream.of(
                Arguments.of(Reduction.Algorithm.SUM, new long[] {2, 5, 3, 7}, new long[] {1, 5, 1, 1}),
                Arguments.of(Reduction.Algorithm.MEAN, new long[] {2, 5, 3, 7}, new long[] {2, 5, 1, 1}),
                Arguments.of(Reduction.Algorithm.MAX, new long[] {3, 4, 5}, new long[] {3, 1, 5}),
                Arguments.of(Reduction.Algorithm.MIN, new long[] {3, 4, 5}, new long[] {1, 1, 1}),
                Arguments.of(Reduction.Algorithm.SUM, new long[] {9}, new long[] {1}));
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @MethodSource("reductions")
    void reductionMatchesNaiveLoops(Reduction.Algorithm alg, long[] src, long[] dst) {
        SplittableRandom r = new SplittableRandom(src.length + alg.ordinal());
        float[] x = Check.random(r, count(src));
        int m = (int) count(dst);
        double[] acc = new double[m];
        int[] n = new int[m];
        java.util.Arrays.fill(acc, alg == Reduction.Algorithm.MAX ? Double.NEGATIVE_INFINITY
                : alg == Reduction.Algorithm.MIN ? Double.POSITIVE_INFINITY : 0);
        for (int i = 0; i < x.length; i++) {
            int j = TensorOpsReference.broadcastIndex(src, dst, i);
            n[j]++;
            acc[j] = switch (alg) {
                case MAX -> Math.max(acc[j], x[i]);
                case MIN -> Math.min(acc[j], x[i]);
                default -> acc[j] + x[i];
            };
        }
        if (alg == Reduction.Algorithm.MEAN) for (int j = 0; j < m; j++) acc[j] /= n[j];
        try (Scope scope = Scope.leakChecked("reduction"); Stream s = Stream.create(scope);
                Reduction.Forward f = Reduction.Forward.create(scope, "red", alg, src, dst)) {
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, Tensor.of(scope, "x", x, src), y));
            s.await();
            Check.close(alg.label(), dst, Check.toFloat(acc), y.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void reductionRejectsBadShapesBeforeAnyNativeCall() {
        try (Scope scope = Scope.leakChecked("red-invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Reduction.Forward.create(scope, "r", Reduction.Algorithm.SUM, new long[] {2, 3}, new long[] {2, 2}));
            assertEquals("r: reduction from [2, 3] to [2, 2]: dimension 1 is 2, must be 3 or 1", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Reduction.Forward.create(scope, "r", Reduction.Algorithm.SUM, new long[] {2, 3}, new long[] {2, 3}));
            assertEquals("r: reduction from [2, 3] to [2, 3] reduces no dimension", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Reduction.Forward.create(scope, "r", Reduction.Algorithm.SUM, new long[] {2, 3}, new long[] {1}));
            assertEquals("r: reduction from [2, 3] to [1]: ranks differ (2D vs 1D)", e.getMessage());
            // A bad src extent is named as such, not blamed on dst ("must be -7 or 1").
            e = assertThrows(IllegalArgumentException.class,
                    () -> Reduction.Forward.create(scope, "r", Reduction.Algorithm.SUM, new long[] {2, -7}, new long[] {1, -7}));
            assertEquals("r: src dimension d1 = -7 must be positive (src dims [2, -7])", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Reduction.Forward.create(scope, "r", Reduction.Algorithm.MAX, new long[] {1L << 61, 2}, new long[] {1, 2}));
            assertEquals("r: src dimension d0 = 2305843009213693952 is over oneDNN's limit of 2147483647"
                    + " (MemoryDesc.MAX_DIM; src dims [2305843009213693952, 2])", e.getMessage());
            assertEquals(0, scope.allocations());
        }
        assertArrayEquals(new int[] {0, 2}, Reduction.reducedDims("r", new long[] {2, 3, 4}, new long[] {1, 3, 1}));
    }
}
