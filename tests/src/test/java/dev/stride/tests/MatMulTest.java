package dev.stride.tests;

import static dev.stride.tests.TensorOpsReference.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.MatMul;
import dev.stride.tensor.MatMul.Spec;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Matmul through oneDNN against a naive triple loop: 2D and batched, transposed storage, bias, odd sizes. */
class MatMulTest {

    static java.util.stream.Stream<Arguments> specs() {
        return java.util.stream.Stream.of(
                Arguments.of(Spec.of(7, 13, 5)),
                Arguments.of(Spec.of(1, 1, 1)),
                Arguments.of(Spec.of(33, 17, 65).bias()),
                Arguments.of(Spec.of(6, 9, 4).transA()),
                Arguments.of(Spec.of(6, 9, 4).transB()),
                Arguments.of(Spec.of(5, 3, 8).transA().transB().bias()),
                Arguments.of(Spec.of(4, 9, 6).batch(1)),
                Arguments.of(Spec.of(4, 9, 6).batch(3)),
                Arguments.of(Spec.of(3, 7, 11).batch(4).transA()),
                Arguments.of(Spec.of(3, 7, 11).batch(2).transB().bias()),
                Arguments.of(Spec.of(8, 27, 25).batch(3).sharedB()),            // deformable conv: W x columns per image
                Arguments.of(Spec.of(5, 6, 7).batch(2).sharedB().transA().transB()),
                Arguments.of(Spec.of(64, 128, 96)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void plainGemmMatchesTheTripleLoop(Spec spec) {
        SplittableRandom r = new SplittableRandom(spec.hashCode());
        long bt = Math.max(spec.batch(), 1);
        float[] a = Check.random(r, bt * spec.m() * spec.k());
        float[] b = Check.random(r, (spec.bShared() ? 1 : bt) * spec.k() * spec.n());
        float[] bias = spec.withBias() ? Check.random(r, spec.n()) : null;
        double[] want = TensorOpsReference.matmul(spec.batch(), spec.m(), spec.k(), spec.n(), Check.toDouble(a),
                spec.aTransposed(), Check.toDouble(b), spec.bTransposed(), spec.bShared(),
                bias == null ? null : Check.toDouble(bias));
        try (Scope scope = Scope.leakChecked("matmul"); Stream s = Stream.create(scope);
                MatMul.Forward f = MatMul.plain(scope, "gemm", spec)) {
            // The operands are the caller's raw row-major buffers: wrapped, never reordered.
            Tensor ta = Tensor.of(scope, "a.raw", a, a.length);
            Tensor tb = Tensor.of(scope, "b.raw", b, b.length);
            Tensor A = Tensor.wrap(scope, "A", f.srcDesc(), ta.segment());
            Tensor B = Tensor.wrap(scope, "B", f.weightsDesc(), tb.segment());
            Tensor bb = bias == null ? null : Tensor.wrap(scope, "bias", f.biasDesc(),
                    Tensor.of(scope, "bias.raw", bias, bias.length).segment());
            Tensor c = Tensor.allocate(scope, "C", f.dstDesc());
            f.executeOnce(s, A, B, bb, c);
            assertEquals(true, c.desc().isPlain());
            Check.close(spec.toString(), f.dstDims(), Check.toFloat(want), c.toFloatArray(), 1e-4, 1e-4);
            assertEquals(2 * bt * spec.m() * spec.k() * spec.n(), f.flops());
        }
    }

    @Test
    void anyLayoutsLetOneDnnChooseAndPlainTensorsAreReordered() {
        long[] sd = {2, 10, 24};
        long[] wd = {2, 24, 20};
        SplittableRandom r = new SplittableRandom(4);
        float[] a = Check.random(r, count(sd));
        float[] b = Check.random(r, count(wd));
        try (Scope scope = Scope.leakChecked("any"); Stream s = Stream.create(scope);
                MatMul.Forward f = MatMul.Forward.create(scope, "mm", MemoryDesc.any(scope, sd),
                        MemoryDesc.any(scope, wd), null, null, null)) {
            Tensor A = Tensor.of(scope, "a", a, sd).reorder(scope, f.srcDesc(), s);
            Tensor B = Tensor.of(scope, "b", b, wd).reorder(scope, f.weightsDesc(), s);
            Tensor C = Tensor.allocate(scope, "c", f.dstDesc());
            f.executeOnce(s, A, B, null, C);
            double[] want = TensorOpsReference.matmul(2, 10, 24, 20, Check.toDouble(a), false, Check.toDouble(b),
                    false, false, null);
            Check.close("any layouts", f.dstDims(), Check.toFloat(want), C.toFloatArray(), 1e-4, 1e-4);
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {4, 5}, new long[] {6, 3}, null,
                        "mm1: matmul inner dimensions differ: src [4, 5] has K=5, weights [6, 3] have K=6"),
                Arguments.of(new long[] {2, 4, 5}, new long[] {3, 5, 3}, null,
                        "mm1: matmul batch sizes differ: src [2, 4, 5] has 2, weights [3, 5, 3] have 3 (one of them may be 1 to broadcast)"),
                Arguments.of(new long[] {4, 5}, new long[] {2, 5, 3}, null,
                        "mm1: matmul src [4, 5] is 2D but weights [2, 5, 3] are 3D"),
                Arguments.of(new long[] {1, 2, 4, 5}, new long[] {1, 2, 5, 3}, null,
                        "mm1: matmul expected 2D or 3D src (got 4D: [1, 2, 4, 5])"),
                Arguments.of(new long[] {4, 5}, new long[] {5, 3}, new long[] {1, 4},
                        "mm1: matmul bias [1, 4] does not broadcast onto dst [4, 3] (each dim must match or be 1)"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidShapesFailBeforeAnyNativeCall(long[] sd, long[] wd, long[] bd, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            MemoryDesc s = MemoryDesc.plain(scope, sd);
            MemoryDesc w = MemoryDesc.plain(scope, wd);
            MemoryDesc b = bd == null ? null : MemoryDesc.plain(scope, bd);
            long before = scope.allocations();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MatMul.Forward.create(scope, "mm1", s, w, b, null, null));
            assertEquals(message, e.getMessage());
            assertEquals(before, scope.allocations(), "no primitive was created");
        }
    }

    @Test
    void invalidSpecsFailBeforeAnyNativeCall() {
        try (Scope scope = Scope.leakChecked("invalid-spec")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MatMul.plain(scope, "g", Spec.of(4, 0, 3)));
            assertEquals("g: matmul sizes must be positive: M=4, K=0, N=3", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> MatMul.plain(scope, "g", Spec.of(4, 2, 3).sharedB()));
            assertEquals("g: sharedB needs a batch (a 2D product has one B already)", e.getMessage());
            // Sizes past oneDNN's limits name M, K, N or batch (not "dimension 0 of [..]", nor an overflow).
            e = assertThrows(IllegalArgumentException.class, () -> MatMul.plain(scope, "g", Spec.of(1L << 31, 2, 3)));
            assertEquals("g: src (A) dimension M = 2147483648 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM;"
                    + " src (A) dims [2147483648, 2]); it follows from the spec [2147483648 x 2] * [2 x 3]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> MatMul.plain(scope, "g", Spec.of(2, 3, 1L << 61).batch(2)));
            assertEquals("g: weights (B) dimension N = 2305843009213693952 is over oneDNN's limit of 2147483647"
                    + " (MemoryDesc.MAX_DIM; weights (B) dims [2, 3, 2305843009213693952]); it follows from the spec"
                    + " 2 x [2 x 3] * [3 x 2305843009213693952]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> MatMul.plain(scope, "g", Spec.of(2, 3, 4).batch(1L << 61)));
            assertEquals("g: matmul batch = 2305843009213693952 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM)",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> MatMul.plain(scope, "g", Spec.of(1 << 16, 1 << 16, 2)));
            assertEquals("g: src (A) [65536, 65536] (M x K) holds more than 2147483647 elements, the most one tensor may"
                    + " hold (MemoryDesc.MAX_ELEMENTS); it follows from the spec [65536 x 65536] * [65536 x 2]", e.getMessage());
            assertEquals(0, scope.allocations());
        }
    }
}
