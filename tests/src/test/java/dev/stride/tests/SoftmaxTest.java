package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.softmax.Softmax;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Softmax and log-softmax along an axis, forward against the formula and backward against finite differences. */
class SoftmaxTest {

    static java.util.stream.Stream<Arguments> cases() {
        java.util.stream.Stream.Builder<Arguments> b = java.util.stream.Stream.builder();
        for (Softmax.Algorithm alg : Softmax.Algorithm.values()) {
            b.add(Arguments.of(alg, "2D batch 1", new long[] {1, 10}, 1));
            b.add(Arguments.of(alg, "2D batch 3", new long[] {3, 7}, 1));
            b.add(Arguments.of(alg, "2D axis -1", new long[] {4, 5}, -1));
            b.add(Arguments.of(alg, "2D over the batch axis", new long[] {6, 3}, 0));
            b.add(Arguments.of(alg, "3D axis -2", new long[] {2, 3, 4}, -2));
            b.add(Arguments.of(alg, "4D channels", new long[] {2, 5, 3, 3}, 1));
            b.add(Arguments.of(alg, "4D width", new long[] {2, 3, 2, 5}, 3));
        }
        return b.build();
    }

    private static int axis(long[] dims, int axis) {
        return axis < 0 ? axis + dims.length : axis;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesFormula(Softmax.Algorithm alg, String label, long[] dims, int axis) {
        float[] x = scaled(Check.random(new SplittableRandom(label.hashCode()), Check.count(dims)), 3);
        double[] want = LinearReference.softmax(dims, axis(dims, axis), alg == Softmax.Algorithm.LOG, Check.toDouble(x));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x, dims);
            Tensor dst = Tensor.zeros(scope, "y", dims);
            Softmax.Forward f = Softmax.Forward.create(scope, "sm", src.desc(), alg, axis, PropKind.INFERENCE);
            assertEquals(axis(dims, axis), f.axis());
            f.execute(s, f.bind(scope, src, dst));
            s.await();
            // Log-probabilities are differences of terms as large as the inputs: absolute error of a few float ulps of 3.
            Check.close(alg + " " + label, dims, Check.toFloat(want), dst.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(Softmax.Algorithm alg, String label, long[] dims, int axis) {
        float[] x = scaled(Check.random(new SplittableRandom(label.hashCode()), Check.count(dims)), 3);
        float[] dy = Check.random(new SplittableRandom(label.hashCode() + 1), x.length);
        int ax = axis(dims, axis);
        boolean log = alg == Softmax.Algorithm.LOG;
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x, dims);
            Tensor dst = Tensor.zeros(scope, "y", dims);
            Tensor diffDst = Tensor.of(scope, "dy", dy, dims);
            Tensor diffSrc = Tensor.zeros(scope, "dx", dims);
            Softmax.Forward f = Softmax.Forward.create(scope, "sm", src.desc(), alg, axis, PropKind.TRAINING);
            Softmax.Backward b = Softmax.Backward.create(scope, "sm.bwd", f);
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, dst, diffDst, diffSrc));
            s.await();
            Check.gradient(alg + " " + label + " diff_src", dims, v -> LinearReference.softmax(dims, ax, log, v),
                    Check.toDouble(x), Check.toDouble(dy), diffSrc.toFloatArray(), 1e-3, 1e-5, 1e-3);
        }
    }

    @Test
    void logSoftmaxStaysFiniteWhereProbabilitiesUnderflow() {
        // exp(-1000) is 0 in float: log(softmax) would be -inf, log-softmax gives the exact -1000.
        float[] x = {1000, 0, -5, 1000.5f};
        try (Scope scope = Scope.leakChecked("extreme"); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x, 1, 4);
            Tensor dst = Tensor.zeros(scope, "y", 1, 4);
            Softmax.Forward f = Softmax.Forward.create(scope, "lsm", src.desc(), Softmax.Algorithm.LOG, 1, PropKind.INFERENCE);
            f.execute(s, f.bind(scope, src, dst));
            s.await();
            float[] got = dst.toFloatArray();
            for (float v : got) {
                assertTrue(Float.isFinite(v), "finite log-probabilities");
            }
            Check.close("extreme", new long[] {1, 4},
                    Check.toFloat(LinearReference.softmax(new long[] {1, 4}, 1, true, Check.toDouble(x))), got, 1e-4, 1e-6);
        }
    }

    @Test
    void channelsLastLayoutIsKept() {
        long[] dims = {2, 6, 3, 4};
        float[] x = scaled(Check.random(new SplittableRandom(3), Check.count(dims)), 2);
        float[] dy = Check.random(new SplittableRandom(4), x.length);
        try (Scope scope = Scope.leakChecked("nhwc"); Stream s = Stream.create(scope)) {
            MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, dims);
            Tensor src = Tensor.of(scope, "x", x, dims).reorder(scope, nhwc, s);
            Tensor diffDst = Tensor.of(scope, "dy", dy, dims).reorder(scope, nhwc, s);
            Tensor dst = Tensor.allocate(scope, "y", nhwc);
            Tensor diffSrc = Tensor.allocate(scope, "dx", nhwc);
            Softmax.Forward f = Softmax.Forward.create(scope, "sm", nhwc, Softmax.Algorithm.ACCURATE, 1, PropKind.TRAINING);
            Softmax.Backward b = Softmax.Backward.create(scope, "sm.bwd", f);
            assertEquals("acdb", f.dstDesc().layout());
            assertEquals("acdb", b.diffSrcDesc().layout());
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, dst, diffDst, diffSrc));
            s.await();
            Check.close("nhwc dst", dims, Check.toFloat(LinearReference.softmax(dims, 1, false, Check.toDouble(x))),
                    dst.toPlain(scope, s).toFloatArray(), 1e-6, 1e-5);
            Check.gradient("nhwc diff_src", dims, v -> LinearReference.softmax(dims, 1, false, v), Check.toDouble(x),
                    Check.toDouble(dy), diffSrc.toPlain(scope, s).toFloatArray(), 1e-3, 1e-5, 1e-3);
        }
    }

    static java.util.stream.Stream<Arguments> invalidAxes() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {4, 10}, 2, "sm1: axis 2 is out of range for a 2D input [4, 10] (expected -2..1)"),
                Arguments.of(new long[] {4, 10}, -3, "sm1: axis -3 is out of range for a 2D input [4, 10] (expected -2..1)"),
                Arguments.of(new long[] {2, 3, 4, 5}, 4, "sm1: axis 4 is out of range for a 4D input [2, 3, 4, 5] (expected -4..3)"));
    }

    @ParameterizedTest
    @MethodSource("invalidAxes")
    void axisOutOfRangeFailsBeforeAnyNativeCall(long[] dims, int axis, String message) {
        try (Scope descs = Scope.leakChecked("descs"); Scope scope = Scope.open("invalid")) {
            MemoryDesc src = MemoryDesc.plain(descs, dims);
            for (Softmax.Algorithm alg : Softmax.Algorithm.values()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Softmax.Forward.create(scope, "sm1", src, alg, axis, PropKind.TRAINING));
                assertEquals(message, e.getMessage());
            }
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void anyLayoutAndInferenceForwardAreRejected() {
        try (Scope scope = Scope.leakChecked("misuse")) {
            MemoryDesc any = MemoryDesc.any(scope, 2, 3);
            assertEquals("sm1: log-softmax needs a concrete source layout, not 'any'",
                    assertThrows(IllegalArgumentException.class, () -> Softmax.Forward.create(scope, "sm1", any,
                            Softmax.Algorithm.LOG, 1, PropKind.TRAINING)).getMessage());
            Softmax.Forward infer = Softmax.Forward.create(scope, "sm2", MemoryDesc.plain(scope, 2, 3),
                    Softmax.Algorithm.ACCURATE, 1, PropKind.INFERENCE);
            long before = scope.allocations();
            assertEquals("sm2.bwd: a backward pass needs a forward created for TRAINING, 'sm2' was created for INFERENCE",
                    assertThrows(IllegalArgumentException.class, () -> Softmax.Backward.create(scope, "sm2.bwd", infer)).getMessage());
            assertEquals(before, scope.allocations());
        }
    }

    static float[] scaled(float[] v, float k) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= k;
        }
        return v;
    }
}
