package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.ExecArgs;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.linear.InnerProduct;
import dev.stride.testing.Check;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Inner product forward, backward data and backward weights against the flattened matrix product. */
class InnerProductTest {

    static java.util.stream.Stream<Arguments> shapes() {
        return java.util.stream.Stream.of(
                Arguments.of("2D batch 1", new long[] {1, 7}, 5, true),
                Arguments.of("2D batch 3", new long[] {3, 10}, 4, true),
                Arguments.of("2D no bias", new long[] {4, 6}, 3, false),
                Arguments.of("3D ncw", new long[] {2, 3, 5}, 6, true),
                Arguments.of("4D batch 1 odd", new long[] {1, 3, 5, 7}, 7, true),
                Arguments.of("4D batch 2, 16 channels", new long[] {2, 16, 3, 3}, 10, true),
                Arguments.of("4D no bias", new long[] {3, 4, 2, 3}, 5, false),
                Arguments.of("5D", new long[] {2, 2, 3, 2, 3}, 4, true));
    }

    private record Data(InnerProduct.Geometry g, float[] src, float[] w, float[] bias) {
        int n() {
            return (int) g.src()[0];
        }

        int in() {
            return (int) g.inFeatures();
        }

        int out() {
            return (int) g.outFeatures();
        }
    }

    private static Data data(String label, long[] dims, int out, boolean bias) {
        InnerProduct.Geometry g = InnerProduct.Geometry.of(label, dims, out, bias);
        SplittableRandom r = new SplittableRandom(label.hashCode());
        return new Data(g, Check.random(r, Check.count(g.src())), Check.random(r, Check.count(g.weights())),
                bias ? Check.random(r, out) : null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void forwardMatchesFlattenedMatrixProduct(String label, long[] dims, int out, boolean bias) {
        Data d = data(label, dims, out, bias);
        double[] want = LinearReference.innerProduct(d.n(), d.in(), d.out(), Check.toDouble(d.src()),
                Check.toDouble(d.w()), d.bias() == null ? null : Check.toDouble(d.bias()));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, out, bias, PropKind.INFERENCE)) {
            Tensor y = Tensor.zeros(scope, "y", d.g().dst());
            fc.executePlain(s, Tensor.of(scope, "x", d.src(), dims), Tensor.of(scope, "w", d.w(), d.g().weights()),
                    bias ? Tensor.of(scope, "b", d.bias(), out) : null, y);
            Check.close(label + " dst", d.g().dst(), Check.toFloat(want), y.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void backwardDataMatchesFiniteDifferences(String label, long[] dims, int out, boolean bias) {
        Data d = data(label, dims, out, bias);
        float[] dy = Check.random(new SplittableRandom(label.hashCode() + 1), Check.count(d.g().dst()));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, out, bias, PropKind.TRAINING);
                InnerProduct.BackwardData bd = InnerProduct.BackwardData.create(scope, "fc.bwd_data", fc)) {
            Tensor dx = Tensor.zeros(scope, "dx", dims);
            bd.executePlain(s, Tensor.of(scope, "dy", dy, d.g().dst()), Tensor.of(scope, "w", d.w(), d.g().weights()), dx);
            double[] w = Check.toDouble(d.w());
            double[] b = d.bias() == null ? null : Check.toDouble(d.bias());
            Check.gradient(label + " diff_src", dims, x -> LinearReference.innerProduct(d.n(), d.in(), d.out(), x, w, b),
                    Check.toDouble(d.src()), Check.toDouble(dy), dx.toFloatArray(), 1e-3, 1e-4, 1e-4);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void backwardWeightsAndBiasMatchFiniteDifferences(String label, long[] dims, int out, boolean bias) {
        Data d = data(label, dims, out, bias);
        float[] dy = Check.random(new SplittableRandom(label.hashCode() + 2), Check.count(d.g().dst()));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, out, bias, PropKind.TRAINING);
                InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fc.bwd_weights", fc)) {
            Tensor dw = Tensor.zeros(scope, "dw", d.g().weights());
            Tensor db = bias ? Tensor.zeros(scope, "db", out) : null;
            bw.executePlain(s, Tensor.of(scope, "x", d.src(), dims), Tensor.of(scope, "dy", dy, d.g().dst()), dw, db);
            double[] x = Check.toDouble(d.src());
            double[] b = d.bias() == null ? null : Check.toDouble(d.bias());
            double[] w = Check.toDouble(d.w());
            Check.gradient(label + " diff_weights", d.g().weights(),
                    wv -> LinearReference.innerProduct(d.n(), d.in(), d.out(), x, wv, b), w, Check.toDouble(dy),
                    dw.toFloatArray(), 1e-3, 1e-4, 1e-4);
            if (bias) {
                Function<double[], double[]> f = bv -> LinearReference.innerProduct(d.n(), d.in(), d.out(), x, w, bv);
                Check.gradient(label + " diff_bias", new long[] {out}, f, b, Check.toDouble(dy), db.toFloatArray(),
                        1e-3, 1e-4, 1e-4);
            }
        }
    }

    @Test
    void chosenLayoutsBindOnceAndRunRepeatedly() {
        long[] dims = {8, 32, 7, 7};
        Data d = data("wide", dims, 64, true);
        double[] want = LinearReference.innerProduct(d.n(), d.in(), d.out(), Check.toDouble(d.src()),
                Check.toDouble(d.w()), Check.toDouble(d.bias()));
        try (Scope scope = Scope.leakChecked("wide"); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, 64)) {
            Tensor x = Tensor.of(scope, "x", d.src(), dims).reorder(scope, fc.srcDesc(), s);
            Tensor w = Tensor.of(scope, "w", d.w(), d.g().weights()).reorder(scope, fc.weightsDesc(), s);
            Tensor y = Tensor.allocate(scope, "y", fc.dstDesc());
            ExecArgs args = fc.bind(scope, x, w, Tensor.of(scope, "b", d.bias(), 64), y);
            long before = scope.allocations();
            for (int i = 0; i < 3; i++) {
                fc.execute(s, args);
            }
            s.await();
            assertEquals(before, scope.allocations(), "executing allocates nothing");
            Check.close("wide dst", d.g().dst(), Check.toFloat(want), y.toPlain(scope, s).toFloatArray(), 1e-4, 1e-4);
        }
    }

    @Test
    void pytorchFlatWeightMatrixIsAcceptedAsAView() {
        long[] dims = {2, 3, 2, 2};
        Data d = data("flat", dims, 4, true);
        double[] want = LinearReference.innerProduct(d.n(), d.in(), d.out(), Check.toDouble(d.src()),
                Check.toDouble(d.w()), Check.toDouble(d.bias()));
        try (Scope scope = Scope.leakChecked("flat"); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, 4);
                InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fc.bw", fc)) {
            assertArrayEquals(new long[] {4, 12}, d.g().flatWeights());
            Tensor y = Tensor.zeros(scope, "y", 2, 4);
            fc.executePlain(s, Tensor.of(scope, "x", d.src(), dims), Tensor.of(scope, "w", d.w(), 4, 12),
                    Tensor.of(scope, "b", d.bias(), 4), y);
            Check.close("flat dst", d.g().dst(), Check.toFloat(want), y.toFloatArray(), 1e-5, 1e-5);
            // Gradients written straight into a flat OC x C*H*W tensor, as an optimizer over PyTorch's layout wants.
            Tensor dwFlat = Tensor.zeros(scope, "dw", 4, 12);
            Tensor dw4 = Tensor.zeros(scope, "dw4", d.g().weights());
            Tensor dy = Tensor.of(scope, "dy", Check.random(new SplittableRandom(5), 8), 2, 4);
            Tensor x = Tensor.of(scope, "x", d.src(), dims);
            bw.executePlain(s, x, dy, dwFlat, Tensor.zeros(scope, "db", 4));
            bw.executePlain(s, x, dy, dw4, Tensor.zeros(scope, "db4", 4));
            assertArrayEquals(dw4.toFloatArray(), dwFlat.toFloatArray());
        }
    }

    @Test
    void parameterCountIsOneWeightPerInputFeatureAndOneBiasPerOutput() {
        InnerProduct.Geometry g = InnerProduct.Geometry.of("fc", new long[] {256, 64, 7, 7}, 1024, true);
        assertEquals(3136, g.inFeatures());
        assertEquals(3136L * 1024 + 1024, g.parameterCount());
        assertArrayEquals(new long[] {1024, 64, 7, 7}, g.weights());
        assertArrayEquals(new long[] {256, 1024}, g.dst());
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {10}, 4L, "fc1: expected 2D, 3D, 4D or 5D input (got 1D: [10])"),
                Arguments.of(new long[] {1, 2, 3, 4, 5, 6}, 4L, "fc1: expected 2D, 3D, 4D or 5D input (got 6D: [1, 2, 3, 4, 5, 6])"),
                Arguments.of(new long[] {2, 8}, 0L, "fc1: output features OC must be >= 1, got 0"),
                Arguments.of(new long[] {0, 8}, 4L, "fc1: input dims [0, 8] must be positive"),
                Arguments.of(new long[] {2, 3, -1, 4}, 4L, "fc1: input dims [2, 3, -1, 4] must be positive"),
                // Sizes past oneDNN's limits name the parameter, not just "dimension 1 of [..]".
                Arguments.of(new long[] {2, 8}, 1L << 31,
                        "fc1: output features OC = 2147483648 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM)"),
                Arguments.of(new long[] {2, 8}, Long.MAX_VALUE, "fc1: output features OC = 9223372036854775807 is over"
                        + " oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM)"),
                Arguments.of(new long[] {2, 1L << 31, 3, 3}, 4L, "fc1: src dimension C = 2147483648 is over oneDNN's limit"
                        + " of 2147483647 (MemoryDesc.MAX_DIM; src dims [2, 2147483648, 3, 3])"),
                Arguments.of(new long[] {1L << 61, 8}, 4L, "fc1: src dimension N = 2305843009213693952 is over oneDNN's"
                        + " limit of 2147483647 (MemoryDesc.MAX_DIM; src dims [2305843009213693952, 8])"),
                Arguments.of(new long[] {1, 1L << 20}, 4096L, "fc1: weights [4096, 1048576] (OC x C) holds more than"
                        + " 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from"
                        + " the output features OC = 4096 and src dims [1, 1048576]"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidConfigurationsFailBeforeAnyNativeCall(long[] dims, long out, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InnerProduct.Forward.create(scope, "fc1", dims, out));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void aNullTensorInExecutePlainIsNamed() {
        try (Scope scope = Scope.leakChecked("nulls"); Stream s = Stream.create(scope);
                InnerProduct.Forward f = InnerProduct.Forward.create(scope, "fc1", new long[] {2, 3, 2, 2}, 4, false, PropKind.TRAINING);
                InnerProduct.BackwardData bd = InnerProduct.BackwardData.create(scope, "fc1.bwd", f);
                InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fc1.bww", f)) {
            Tensor x = Tensor.zeros(scope, "x", 2, 3, 2, 2);
            Tensor w = Tensor.zeros(scope, "w", 4, 12);
            Tensor y = Tensor.zeros(scope, "y", 2, 4);
            Map<String, org.junit.jupiter.api.function.Executable> calls = new LinkedHashMap<>();
            calls.put("fc1: no tensor given for src", () -> f.executePlain(s, null, w, null, y));
            calls.put("fc1: no tensor given for weights", () -> f.executePlain(s, x, null, null, y));
            calls.put("fc1: no tensor given for dst", () -> f.executePlain(s, x, w, null, null));
            calls.put("fc1.bwd: no tensor given for diff_dst", () -> bd.executePlain(s, null, w, x));
            calls.put("fc1.bwd: no tensor given for diff_src", () -> bd.executePlain(s, y, w, null));
            calls.put("fc1.bww: no tensor given for diff_weights", () -> bw.executePlain(s, x, y, null, null));
            calls.forEach((message, call) ->
                    assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage()));
        }
    }

    @Test
    void misuseIsRejectedWithTheLayerName() {
        try (Scope scope = Scope.leakChecked("misuse"); Stream s = Stream.create(scope);
                InnerProduct.Forward infer = InnerProduct.Forward.create(scope, "fc1", new long[] {2, 8}, 4, true, PropKind.INFERENCE);
                InnerProduct.Forward noBias = InnerProduct.Forward.create(scope, "fc2", new long[] {2, 8}, 4, false, PropKind.TRAINING)) {
            long before = scope.allocations();
            assertEquals("fc1.bwd: a backward pass needs a forward created for TRAINING, 'fc1' was created for INFERENCE",
                    assertThrows(IllegalArgumentException.class, () -> InnerProduct.BackwardData.create(scope, "fc1.bwd", infer)).getMessage());
            assertEquals("fc1.bww: a backward pass needs a forward created for TRAINING, 'fc1' was created for INFERENCE",
                    assertThrows(IllegalArgumentException.class, () -> InnerProduct.BackwardWeights.create(scope, "fc1.bww", infer)).getMessage());
            assertEquals(before, scope.allocations());
            Tensor x = Tensor.zeros(scope, "x", 2, 8);
            Tensor w = Tensor.zeros(scope, "w", 4, 8);
            Tensor y = Tensor.zeros(scope, "y", 2, 4);
            assertEquals("fc1: bias tensor missing",
                    assertThrows(IllegalArgumentException.class, () -> infer.executePlain(s, x, w, null, y)).getMessage());
            assertEquals("fc2: this inner product has no bias",
                    assertThrows(IllegalArgumentException.class, () -> noBias.executePlain(s, x, w, Tensor.zeros(scope, "b", 4), y)).getMessage());
            Tensor wrong = Tensor.zeros(scope, "w3", 4, 7);
            assertEquals("fc2: weights must have dims [4, 8], got tensor 'w3' f32 [4, 7] ab",
                    assertThrows(IllegalArgumentException.class, () -> noBias.executePlain(s, x, wrong, null, y)).getMessage());
        }
    }
}
