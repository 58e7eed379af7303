package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every eltwise algorithm forward against its formula and backward against finite differences. */
class EltwiseTest {

    private static final long[] DIMS = {2, 3, 4, 5};

    /** Algorithm, alpha, beta, input range, and the kinks the inputs keep away from. */
    static java.util.stream.Stream<Arguments> algorithms() {
        double[] none = {};
        double[] zero = {0};
        return java.util.stream.Stream.of(
                row("relu", Eltwise.Algorithm.RELU, 0, 0, -2, 2, zero),
                row("leaky relu 0.1", Eltwise.Algorithm.RELU, 0.1f, 0, -2, 2, zero),
                row("relu from dst", Eltwise.Algorithm.RELU_USE_DST, 0, 0, -2, 2, zero),
                row("leaky relu 0.2 from dst", Eltwise.Algorithm.RELU_USE_DST, 0.2f, 0, -2, 2, zero),
                row("elu 1", Eltwise.Algorithm.ELU, 1, 0, -3, 2, zero),
                row("elu 0.5", Eltwise.Algorithm.ELU, 0.5f, 0, -3, 2, zero),
                row("elu 1 from dst", Eltwise.Algorithm.ELU_USE_DST, 1, 0, -3, 2, zero),
                row("gelu tanh", Eltwise.Algorithm.GELU_TANH, 0, 0, -3, 3, none),
                row("gelu erf", Eltwise.Algorithm.GELU_ERF, 0, 0, -3, 3, none),
                row("sigmoid", Eltwise.Algorithm.LOGISTIC, 0, 0, -4, 4, none),
                row("sigmoid from dst", Eltwise.Algorithm.LOGISTIC_USE_DST, 0, 0, -4, 4, none),
                row("tanh", Eltwise.Algorithm.TANH, 0, 0, -3, 3, none),
                row("tanh from dst", Eltwise.Algorithm.TANH_USE_DST, 0, 0, -3, 3, none),
                row("swish 1 (silu)", Eltwise.Algorithm.SWISH, 1, 0, -4, 4, none),
                row("swish 1.5", Eltwise.Algorithm.SWISH, 1.5f, 0, -4, 4, none),
                row("square", Eltwise.Algorithm.SQUARE, 0, 0, -2, 2, none),
                row("sqrt", Eltwise.Algorithm.SQRT, 0, 0, 0.1, 3, none),
                row("sqrt from dst", Eltwise.Algorithm.SQRT_USE_DST, 0, 0, 0.1, 3, none),
                row("abs", Eltwise.Algorithm.ABS, 0, 0, -2, 2, zero),
                row("linear 2x - 0.5", Eltwise.Algorithm.LINEAR, 2, -0.5f, -2, 2, none),
                row("linear -0.3x + 1", Eltwise.Algorithm.LINEAR, -0.3f, 1, -2, 2, none),
                row("clip [-0.5, 0.7]", Eltwise.Algorithm.CLIP, -0.5f, 0.7f, -2, 2, new double[] {-0.5, 0.7}),
                row("clip [0, 6] (relu6)", Eltwise.Algorithm.CLIP, 0, 6, -3, 8, new double[] {0, 6}),
                row("exp", Eltwise.Algorithm.EXP, 0, 0, -2, 2, none),
                row("exp from dst", Eltwise.Algorithm.EXP_USE_DST, 0, 0, -2, 2, none));
    }

    private static Arguments row(String label, Eltwise.Algorithm alg, float alpha, float beta, double lo, double hi,
            double[] kinks) {
        return Arguments.of(label, alg, alpha, beta, lo, hi, kinks);
    }

    /** Uniform inputs in [lo, hi], each at least 0.05 from every kink (finite differences use h = 1e-3). */
    static float[] inputs(String label, double lo, double hi, double[] kinks) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        float[] x = new float[(int) Check.count(DIMS)];
        for (int i = 0; i < x.length; i++) {
            double v;
            boolean near;
            do {
                v = lo + (hi - lo) * r.nextDouble();
                near = false;
                for (double k : kinks) {
                    near |= Math.abs(v - k) < 0.05;
                }
            } while (near);
            x[i] = (float) v;
        }
        return x;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("algorithms")
    void forwardMatchesFormula(String label, Eltwise.Algorithm alg, float alpha, float beta, double lo, double hi,
            double[] kinks) {
        float[] x = inputs(label, lo, hi, kinks);
        float[] want = Check.toFloat(LinearReference.eltwise(alg, alpha, beta, Check.toDouble(x)));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x, DIMS);
            Tensor dst = Tensor.zeros(scope, "y", DIMS);
            Eltwise.Forward f = Eltwise.Forward.create(scope, "act", src.desc(), alg, alpha, beta, PropKind.INFERENCE);
            f.execute(s, f.bind(scope, src, dst));
            s.await();
            Check.close(label, DIMS, want, dst.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("algorithms")
    void backwardMatchesFiniteDifferences(String label, Eltwise.Algorithm alg, float alpha, float beta, double lo,
            double hi, double[] kinks) {
        float[] x = inputs(label, lo, hi, kinks);
        float[] dy = Check.random(new SplittableRandom(label.hashCode() + 1), x.length);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x, DIMS);
            Tensor dst = Tensor.zeros(scope, "y", DIMS);
            Tensor diffDst = Tensor.of(scope, "dy", dy, DIMS);
            Tensor diffSrc = Tensor.zeros(scope, "dx", DIMS);
            Eltwise.Forward f = Eltwise.Forward.create(scope, "act", src.desc(), alg, alpha, beta, PropKind.TRAINING);
            Eltwise.Backward b = Eltwise.Backward.create(scope, "act.bwd", f);
            assertEquals(Eltwise.usesDstForBackward(alg), b.usesDst());
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, b.usesDst() ? dst : src, diffDst, diffSrc));
            s.await();
            Check.gradient(label + " diff_src", DIMS, v -> LinearReference.eltwise(alg, alpha, beta, v),
                    Check.toDouble(x), Check.toDouble(dy), diffSrc.toFloatArray(), 1e-3, 1e-4, 1e-3);
        }
    }

    @Test
    void useDstVariantRunsInPlaceAndStillDifferentiates() {
        // The point of *_USE_DST: the forward may overwrite its source, the backward needs only dst.
        float[] x = inputs("inplace", -3, 3, new double[] {0});
        float[] dy = Check.random(new SplittableRandom(9), x.length);
        try (Scope scope = Scope.leakChecked("inplace"); Stream s = Stream.create(scope)) {
            Tensor t = Tensor.of(scope, "x", x, DIMS);
            Tensor dyT = Tensor.of(scope, "dy", dy, DIMS);
            Eltwise.Forward f = Eltwise.Forward.create(scope, "elu", t.desc(), Eltwise.Algorithm.ELU_USE_DST, 1, 0, PropKind.TRAINING);
            Eltwise.Backward b = Eltwise.Backward.create(scope, "elu.bwd", f);
            f.execute(s, f.bind(scope, t, t));
            b.execute(s, b.bind(scope, t, dyT, dyT));
            s.await();
            Check.close("in-place elu", DIMS, Check.toFloat(LinearReference.eltwise(Eltwise.Algorithm.ELU, 1, 0, Check.toDouble(x))),
                    t.toFloatArray(), 1e-5, 1e-5);
            Check.gradient("in-place elu diff_src", DIMS, v -> LinearReference.eltwise(Eltwise.Algorithm.ELU, 1, 0, v),
                    Check.toDouble(x), Check.toDouble(dy), dyT.toFloatArray(), 1e-3, 1e-4, 1e-3);
        }
    }

    @Test
    void channelsLastLayoutIsKeptThroughForwardAndBackward() {
        float[] x = inputs("nhwc", -2, 2, new double[] {0});
        float[] dy = Check.random(new SplittableRandom(11), x.length);
        try (Scope scope = Scope.leakChecked("nhwc"); Stream s = Stream.create(scope)) {
            MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, DIMS);
            Tensor src = Tensor.of(scope, "x", x, DIMS).reorder(scope, nhwc, s);
            Tensor diffDst = Tensor.of(scope, "dy", dy, DIMS).reorder(scope, nhwc, s);
            Tensor dst = Tensor.allocate(scope, "y", nhwc);
            Tensor diffSrc = Tensor.allocate(scope, "dx", nhwc);
            Eltwise.Forward f = Eltwise.Forward.create(scope, "lrelu", nhwc, Eltwise.Algorithm.RELU, 0.1f, 0, PropKind.TRAINING);
            Eltwise.Backward b = Eltwise.Backward.create(scope, "lrelu.bwd", f);
            assertEquals("acdb", f.dstDesc().layout());
            assertEquals("acdb", b.diffSrcDesc().layout());
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, src, diffDst, diffSrc));
            s.await();
            Check.close("nhwc dst", DIMS, Check.toFloat(LinearReference.eltwise(Eltwise.Algorithm.RELU, 0.1, 0, Check.toDouble(x))),
                    dst.toPlain(scope, s).toFloatArray(), 1e-6, 1e-6);
            Check.gradient("nhwc diff_src", DIMS, v -> LinearReference.eltwise(Eltwise.Algorithm.RELU, 0.1, 0, v),
                    Check.toDouble(x), Check.toDouble(dy), diffSrc.toPlain(scope, s).toFloatArray(), 1e-3, 1e-5, 1e-4);
        }
    }

    @Test
    void onlyTheUseDstVariantsReadDst() {
        for (Eltwise.Algorithm a : Eltwise.Algorithm.values()) {
            assertEquals(a.name().endsWith("_USE_DST"), Eltwise.usesDstForBackward(a), a.name());
        }
        assertTrue(Eltwise.usesDstForBackward(Eltwise.Algorithm.TANH_USE_DST));
        assertFalse(Eltwise.usesDstForBackward(Eltwise.Algorithm.TANH));
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(Eltwise.Algorithm.CLIP, 1f, 0.5f,
                        "act1: clip = min(beta, max(alpha, x)) needs alpha <= beta, got alpha=1.0 > beta=0.5"),
                Arguments.of(Eltwise.Algorithm.RELU_USE_DST, -0.1f, 0f,
                        "act1: relu(dst) takes its derivative from dst, which needs alpha >= 0, got alpha=-0.1"),
                Arguments.of(Eltwise.Algorithm.ELU_USE_DST, -1f, 0f,
                        "act1: elu(dst) takes its derivative from dst, which needs alpha >= 0, got alpha=-1.0"),
                Arguments.of(Eltwise.Algorithm.ELU, Float.NaN, 0f,
                        "act1: eltwise elu needs finite alpha and beta, got alpha=NaN, beta=0.0"),
                Arguments.of(Eltwise.Algorithm.LINEAR, 1f, Float.POSITIVE_INFINITY,
                        "act1: eltwise linear needs finite alpha and beta, got alpha=1.0, beta=Infinity"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidParametersFailBeforeAnyNativeCall(Eltwise.Algorithm alg, float alpha, float beta, String message) {
        try (Scope descs = Scope.leakChecked("descs"); Scope scope = Scope.open("invalid")) {
            MemoryDesc src = MemoryDesc.plain(descs, DIMS);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Eltwise.Forward.create(scope, "act1", src, alg, alpha, beta, PropKind.TRAINING));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void anyLayoutAndInferenceForwardAreRejected() {
        try (Scope scope = Scope.leakChecked("misuse")) {
            MemoryDesc any = MemoryDesc.any(scope, DIMS);
            assertEquals("act1: eltwise needs a concrete source layout, not 'any'",
                    assertThrows(IllegalArgumentException.class, () -> Eltwise.Forward.create(scope, "act1", any,
                            Eltwise.Algorithm.RELU, 0, 0, PropKind.TRAINING)).getMessage());
            Eltwise.Forward infer = Eltwise.Forward.create(scope, "act2", MemoryDesc.plain(scope, DIMS),
                    Eltwise.Algorithm.TANH, 0, 0, PropKind.INFERENCE);
            long before = scope.allocations();
            assertEquals("act2.bwd: a backward pass needs a forward created for TRAINING, 'act2' was created for INFERENCE",
                    assertThrows(IllegalArgumentException.class, () -> Eltwise.Backward.create(scope, "act2.bwd", infer)).getMessage());
            assertEquals(before, scope.allocations());
        }
    }
}
