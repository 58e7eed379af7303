package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.softmax.SoftmaxCrossEntropy;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The softmax cross-entropy loss (mean over the batch) and its gradient on the logits. */
class SoftmaxCrossEntropyTest {

    static java.util.stream.Stream<Arguments> cases() {
        return java.util.stream.Stream.of(
                Arguments.of("batch 1, 10 classes", 1, 10, 1f),
                Arguments.of("batch 4, 3 classes", 4, 3, 1f),
                Arguments.of("batch 7, 13 classes", 7, 13, 1f),
                Arguments.of("binary, upstream 0.25", 5, 2, 0.25f),
                Arguments.of("batch 16, 100 classes", 16, 100, 1f));
    }

    private static int[] labels(SplittableRandom r, int n, int k) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) {
            l[i] = r.nextInt(k);
        }
        return l;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientMatchReferenceAndFiniteDifferences(String label, int n, int k, float upstream) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        float[] logits = SoftmaxTest.scaled(Check.random(r, (long) n * k), 4);
        int[] y = labels(r, n, k);
        double want = LinearReference.crossEntropy(n, k, Check.toDouble(logits), y);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", new long[] {n, k});
            Tensor z = Tensor.of(scope, "logits", logits, n, k);
            Tensor dz = Tensor.zeros(scope, "dlogits", n, k);
            double got = loss.forward(s, z, y);
            assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), label + " loss");
            loss.backward(s, upstream, dz);
            Check.gradient(label + " dlogits", new long[] {n, k},
                    v -> new double[] {LinearReference.crossEntropy(n, k, v, y)}, Check.toDouble(logits),
                    new double[] {upstream}, dz.toFloatArray(), 1e-3, 1e-6, 1e-3);
        }
    }

    @Test
    void repeatedStepsReuseTheBindingAndAllocateNothing() {
        int n = 8;
        int k = 5;
        SplittableRandom r = new SplittableRandom(17);
        try (Scope scope = Scope.leakChecked("steps"); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", new long[] {n, k});
            Tensor z = Tensor.zeros(scope, "logits", n, k);
            Tensor dz = Tensor.zeros(scope, "dlogits", n, k);
            loss.forward(s, z, labels(r, n, k));
            long before = scope.allocations();
            for (int step = 0; step < 3; step++) {
                float[] logits = Check.random(r, (long) n * k);
                int[] y = labels(r, n, k);
                z.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(logits));
                assertEquals(LinearReference.crossEntropy(n, k, Check.toDouble(logits), y), loss.forward(s, z, y), 1e-5);
                loss.backward(s, dz);
            }
            assertEquals(before, scope.allocations(), "a training step allocates nothing");
            // Each row of the gradient sums to zero: softmax sums to one, the one-hot too.
            float[] g = dz.toFloatArray();
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int j = 0; j < k; j++) {
                    sum += g[i * k + j];
                }
                assertEquals(0, sum, 1e-6);
            }
        }
    }

    @Test
    void confidentWrongAnswerGivesLargeFiniteLoss() {
        try (Scope scope = Scope.leakChecked("confident"); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", new long[] {2, 3});
            Tensor z = Tensor.of(scope, "logits", new float[] {200, 0, -200, 0, 0, 0}, 2, 3);
            double got = loss.forward(s, z, new int[] {2, 1});
            assertTrue(Double.isFinite(got));
            assertEquals((400 + Math.log(3)) / 2, got, 1e-3);
            Tensor dz = Tensor.zeros(scope, "dz", 2, 3);
            loss.backward(s, dz);
            Check.close("confident dlogits", new long[] {2, 3},
                    new float[] {0.5f, 0, -0.5f, 1 / 6f, 1 / 6f - 0.5f, 1 / 6f}, dz.toFloatArray(), 1e-6, 1e-5);
        }
    }

    static java.util.stream.Stream<Arguments> invalidShapes() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {4, 10, 1}, "loss: expected 2D input (got 3D: [4, 10, 1])"),
                Arguments.of(new long[] {10}, "loss: expected 2D input (got 1D: [10])"),
                Arguments.of(new long[] {0, 10}, "loss: logits N x K need N >= 1 and K >= 1, got [0, 10]"));
    }

    @ParameterizedTest
    @MethodSource("invalidShapes")
    void invalidShapesFailBeforeAnyNativeCall(long[] dims, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            assertEquals(message, assertThrows(IllegalArgumentException.class,
                    () -> SoftmaxCrossEntropy.create(scope, "loss", dims)).getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    static java.util.stream.Stream<Arguments> invalidLabels() {
        return java.util.stream.Stream.of(
                Arguments.of(new int[] {0, 1, 10, 2}, "loss: label 10 of sample 2 is out of range for 10 classes (expected 0..9)"),
                Arguments.of(new int[] {-1, 1, 2, 3}, "loss: label -1 of sample 0 is out of range for 10 classes (expected 0..9)"),
                Arguments.of(new int[] {0, 1, 2}, "loss: expected 4 labels (one per sample), got 3"),
                Arguments.of(null, "loss: expected 4 labels (one per sample), got null"));
    }

    @ParameterizedTest
    @MethodSource("invalidLabels")
    void labelsAreCheckedBeforeAnythingRuns(int[] labels, String message) {
        try (Scope scope = Scope.leakChecked("labels"); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", new long[] {4, 10});
            Tensor z = Tensor.zeros(scope, "logits", 4, 10);
            long before = scope.allocations();
            assertEquals(message, assertThrows(IllegalArgumentException.class, () -> loss.forward(s, z, labels)).getMessage());
            assertEquals(before, scope.allocations(), "nothing bound or run");
            assertEquals("loss: backward needs a forward first (it reuses its log-probabilities and labels)",
                    assertThrows(IllegalStateException.class, () -> loss.backward(s, Tensor.zeros(scope, "dz", 4, 10))).getMessage());
        }
    }

    @Test
    void logitsOfTheWrongShapeAreRejected() {
        try (Scope scope = Scope.leakChecked("shape"); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", new long[] {4, 10});
            Tensor z = Tensor.zeros(scope, "logits", 4, 9);
            assertEquals("loss: logits must be a plain f32 4 x 10 tensor, got tensor 'logits' f32 [4, 9] ab",
                    assertThrows(IllegalArgumentException.class, () -> loss.forward(s, z, new int[] {0, 0, 0, 0})).getMessage());
        }
    }
}
