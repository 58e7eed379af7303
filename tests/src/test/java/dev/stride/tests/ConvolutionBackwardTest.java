package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.conv.Convolution.Geometry;
import dev.stride.conv.Convolution.Params;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.ExecArgs;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Convolution backward data and backward weights (+ bias) through oneDNN against the formula. */
class ConvolutionBackwardTest {

    static java.util.stream.Stream<Arguments> shapes() {
        return java.util.stream.Stream.of(
                Arguments.of("3x3 s1 p1 batch 2", new long[] {2, 3, 8, 8}, Params.of(4, 3).padding(1)),
                Arguments.of("odd 7x9, 5x5 s2 p2 batch 1", new long[] {1, 3, 7, 9}, Params.of(5, 5).stride(2).padding(2)),
                Arguments.of("stride 2 no pad batch 3", new long[] {3, 2, 9, 9}, Params.of(6, 3).stride(2)),
                Arguments.of("no bias", new long[] {2, 4, 6, 6}, Params.of(8, 3).padding(1).bias(false)),
                Arguments.of("asymmetric pad", new long[] {1, 2, 6, 7}, Params.of(3, 3).padding(new int[] {0, 1}, new int[] {1, 2})),
                Arguments.of("asymmetric pad s2", new long[] {2, 3, 9, 8}, Params.of(4, 3).stride(2).padding(new int[] {1, 0}, new int[] {1, 1})),
                Arguments.of("1x3 rect, stride (1,2)", new long[] {2, 3, 5, 9}, Params.of(4, 1, 3).stride(1, 2).padding(0, 1)),
                Arguments.of("same 5x5", new long[] {2, 1, 13, 13}, Params.of(8, 5).samePadding()),
                Arguments.of("same 3x3 s2 even", new long[] {1, 2, 8, 8}, Params.of(4, 3).stride(2).samePadding()),
                Arguments.of("dilation 2", new long[] {2, 3, 11, 11}, Params.of(4, 3).dilation(2).padding(2)),
                Arguments.of("dilation 3 s2", new long[] {1, 4, 15, 15}, Params.of(4, 3).dilation(3).stride(2)),
                Arguments.of("dilation (2,3) same", new long[] {2, 3, 9, 10}, Params.of(4, 3).dilation(2, 3).samePadding()),
                Arguments.of("groups 2", new long[] {2, 8, 6, 6}, Params.of(6, 3).groups(2).padding(1)),
                Arguments.of("groups 2 s2 dilation 2", new long[] {2, 4, 9, 9}, Params.of(4, 3).groups(2).stride(2).dilation(2).padding(2)),
                Arguments.of("depthwise", new long[] {2, 16, 7, 7}, Params.of(16, 3).groups(16).padding(1)),
                Arguments.of("depthwise x2 multiplier s2", new long[] {1, 8, 9, 9}, Params.of(16, 3).groups(8).stride(2).padding(1)),
                Arguments.of("1x1 batch 4", new long[] {4, 32, 5, 5}, Params.of(16, 1)),
                Arguments.of("wide 32->32 batch 1", new long[] {1, 32, 10, 10}, Params.of(32, 3).padding(1)),
                Arguments.of("3d 3x3x3 p1", new long[] {2, 3, 5, 6, 7}, Params.of(4, 3).padding(1)),
                Arguments.of("3d s2 groups 2", new long[] {1, 4, 7, 7, 7}, Params.of(4, 3).stride(2).groups(2)),
                Arguments.of("3d dilation 2 asymmetric", new long[] {2, 2, 6, 7, 6}, Params.of(3, 3).dilation(2)
                        .padding(new int[] {2, 1, 0}, new int[] {2, 2, 1})),
                Arguments.of("3d depthwise", new long[] {1, 4, 5, 5, 5}, Params.of(4, 3).groups(4).padding(1)));
    }

    /** Backward data and weights through executePlain (plain user tensors) against the double reference. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void matchesNaiveReference(String label, long[] srcDims, Params p) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        Geometry g = Geometry.of(label, srcDims, p);
        float[] src = Check.random(r, Check.count(g.src()));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] dy = Check.random(r, Check.count(g.dst()));
        float[] wantDx = Check.toFloat(ConvolutionReference.backwardData(g, Check.toDouble(dy), Check.toDouble(w)));
        float[] wantDw = Check.toFloat(ConvolutionReference.backwardWeights(g, Check.toDouble(src), Check.toDouble(dy)));
        float[] wantDb = Check.toFloat(ConvolutionReference.backwardBias(g, Check.toDouble(dy)));
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", srcDims, p);
                Convolution.BackwardData bwdData = Convolution.BackwardData.create(scope, "conv", fwd);
                Convolution.BackwardWeights bwdWeights = Convolution.BackwardWeights.create(scope, "conv", fwd)) {
            Tensor x = Tensor.of(scope, "x", src, g.src());
            Tensor wt = Tensor.of(scope, "w", w, g.weights());
            Tensor gy = Tensor.of(scope, "dy", dy, g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = g.bias() == null ? null : Tensor.zeros(scope, "db", g.bias());
            bwdData.executePlain(s, gy, wt, dx);
            bwdWeights.executePlain(s, x, gy, dw, db);
            Check.close(label + " diff_src", g.src(), wantDx, dx.toFloatArray(), 1e-4, 1e-4);
            Check.close(label + " diff_weights", g.weights(), wantDw, dw.toFloatArray(), 1e-4, 1e-4);
            if (db != null) {
                Check.close(label + " diff_bias", g.bias(), wantDb, db.toFloatArray(), 1e-4, 1e-4);
            } else {
                assertNull(bwdWeights.diffBiasDesc());
            }
        }
    }

    static java.util.stream.Stream<Arguments> gradientShapes() {
        return java.util.stream.Stream.of(
                Arguments.of("2d s2 asymmetric pad", new long[] {2, 2, 6, 6}, Params.of(3, 3).stride(2)
                        .padding(new int[] {1, 0}, new int[] {0, 1})),
                Arguments.of("2d dilation 2 same", new long[] {1, 2, 6, 6}, Params.of(2, 3).dilation(2).samePadding()),
                Arguments.of("2d groups 2", new long[] {2, 4, 5, 5}, Params.of(4, 3).groups(2).padding(1)),
                Arguments.of("2d depthwise s2", new long[] {1, 3, 7, 7}, Params.of(3, 3).groups(3).stride(2).padding(1)),
                Arguments.of("3d dilation 2 s (1,2,1)", new long[] {1, 2, 5, 7, 5}, Params.of(2, 2).dilation(2)
                        .stride(1, 2, 1).padding(1)));
    }

    /**
     * Central differences of the double forward reference against oneDNN's analytic gradients, for
     * {@code L = sum(dy * conv(x, w, b))}. The loss is linear in each argument, so the differences are exact
     * up to rounding: the tolerance only covers oneDNN's float32 accumulation.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gradientShapes")
    void gradientsMatchFiniteDifferences(String label, long[] srcDims, Params p) {
        SplittableRandom r = new SplittableRandom(label.hashCode() * 31L);
        Geometry g = Geometry.of(label, srcDims, p);
        float[] src = Check.random(r, Check.count(g.src()));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = Check.random(r, g.bias()[0]);
        float[] dy = Check.random(r, Check.count(g.dst()));
        double[] x64 = Check.toDouble(src);
        double[] w64 = Check.toDouble(w);
        double[] b64 = Check.toDouble(bias);
        double[] dy64 = Check.toDouble(dy);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", srcDims, p);
                Convolution.BackwardData bwdData = Convolution.BackwardData.create(scope, "conv", fwd);
                Convolution.BackwardWeights bwdWeights = Convolution.BackwardWeights.create(scope, "conv", fwd)) {
            Tensor x = Tensor.of(scope, "x", src, g.src());
            Tensor gy = Tensor.of(scope, "dy", dy, g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = Tensor.zeros(scope, "db", g.bias());
            bwdData.executePlain(s, gy, Tensor.of(scope, "w", w, g.weights()), dx);
            bwdWeights.executePlain(s, x, gy, dw, db);

            Function<double[], double[]> inX = v -> ConvolutionReference.forward(g, v, w64, b64);
            Function<double[], double[]> inW = v -> ConvolutionReference.forward(g, x64, v, b64);
            Function<double[], double[]> inB = v -> ConvolutionReference.forward(g, x64, w64, v);
            Check.gradient(label + " diff_src", g.src(), inX, x64, dy64, dx.toFloatArray(), 1e-2, 1e-4, 1e-4);
            Check.gradient(label + " diff_weights", g.weights(), inW, w64, dy64, dw.toFloatArray(), 1e-2, 1e-4, 1e-4);
            Check.gradient(label + " diff_bias", g.bias(), inB, b64, dy64, db.toFloatArray(), 1e-2, 1e-4, 1e-4);
        }
    }

    /**
     * The training-step path: tensors kept in the layouts the primitives chose (blocked for these channel
     * counts), arguments bound once, executed repeatedly; results only leave the blocked layouts at the end.
     */
    @Test
    void boundOnceInChosenLayoutsAndExecutedRepeatedly() {
        long[] dims = {2, 16, 10, 10};
        Params p = Params.of(32, 3).padding(1);
        Geometry g = Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(11);
        float[] src = Check.random(r, Check.count(dims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] dy = Check.random(r, Check.count(g.dst()));
        try (Scope scope = Scope.leakChecked("bound"); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", dims, p);
                Convolution.BackwardData bwdData = Convolution.BackwardData.create(scope, "conv", fwd);
                Convolution.BackwardWeights bwdWeights = Convolution.BackwardWeights.create(scope, "conv", fwd)) {
            assertArrayEquals(g.src(), bwdData.diffSrcDesc().dims());
            assertArrayEquals(g.dst(), bwdData.diffDstDesc().dims());
            assertArrayEquals(g.weights(), bwdData.weightsDesc().dims());
            assertArrayEquals(g.src(), bwdWeights.srcDesc().dims());
            assertArrayEquals(g.weights(), bwdWeights.diffWeightsDesc().dims());
            assertArrayEquals(g.bias(), bwdWeights.diffBiasDesc().dims());

            Tensor x = Tensor.of(scope, "x", src, dims).reorder(scope, bwdWeights.srcDesc(), s);
            Tensor wt = Tensor.of(scope, "w", w, g.weights()).reorder(scope, bwdData.weightsDesc(), s);
            Tensor gyPlain = Tensor.of(scope, "dy", dy, g.dst());
            Tensor gyData = gyPlain.reorder(scope, bwdData.diffDstDesc(), s);
            Tensor gyWeights = gyPlain.reorder(scope, bwdWeights.diffDstDesc(), s);
            Tensor dx = Tensor.allocate(scope, "dx", bwdData.diffSrcDesc());
            Tensor dw = Tensor.allocate(scope, "dw", bwdWeights.diffWeightsDesc());
            Tensor db = Tensor.allocate(scope, "db", bwdWeights.diffBiasDesc());
            ExecArgs dataArgs = bwdData.bind(scope, gyData, wt, dx);
            ExecArgs weightArgs = bwdWeights.bind(scope, x, gyWeights, dw, db);
            for (int i = 0; i < 3; i++) {
                bwdData.execute(s, dataArgs);
                bwdWeights.execute(s, weightArgs);
            }
            s.await();
            double[] dy64 = Check.toDouble(dy);
            // Repeated execution overwrites, it does not accumulate.
            Check.close("diff_src", g.src(), Check.toFloat(ConvolutionReference.backwardData(g, dy64, Check.toDouble(w))),
                    dx.toFloatArray(), 1e-4, 1e-4);
            Check.close("diff_weights", g.weights(),
                    Check.toFloat(ConvolutionReference.backwardWeights(g, Check.toDouble(src), dy64)), dw.toFloatArray(),
                    1e-4, 1e-4);
            Check.close("diff_bias", g.bias(), Check.toFloat(ConvolutionReference.backwardBias(g, dy64)),
                    db.toFloatArray(), 1e-4, 1e-4);
        }
    }

    /**
     * A network's first layer (one input channel, TensorFlow's 5x5 "same" convolution): when the forward reads
     * its source plain, backward weights reads the same plain tensor instead of a copy padded to a channel
     * block, and still gives the formula's gradients.
     */
    @Test
    void aPlainForwardSourceStaysPlainForBackwardWeights() {
        long[] dims = {4, 1, 12, 12};
        Params p = Params.of(8, 5).samePadding();
        Geometry g = Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(21);
        float[] src = Check.random(r, Check.count(dims));
        float[] dy = Check.random(r, Check.count(g.dst()));
        try (Scope scope = Scope.leakChecked("plain src"); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", dims, p);
                Convolution.BackwardWeights bwd = Convolution.BackwardWeights.create(scope, "conv", fwd)) {
            if (fwd.srcDesc().isPlain()) {
                assertTrue(bwd.srcDesc().sameAs(fwd.srcDesc()), bwd.srcDesc() + " vs the forward's " + fwd.srcDesc());
            }
            assertFalse(bwd.primitive().implementation().startsWith("ref"), bwd.primitive().implementation());
            Tensor x = Tensor.of(scope, "x", src, dims).reorder(scope, bwd.srcDesc(), s);
            Tensor gy = Tensor.of(scope, "dy", dy, g.dst()).reorder(scope, bwd.diffDstDesc(), s);
            Tensor dw = Tensor.allocate(scope, "dw", bwd.diffWeightsDesc());
            Tensor db = Tensor.allocate(scope, "db", bwd.diffBiasDesc());
            bwd.execute(s, bwd.bind(scope, x, gy, dw, db));
            s.await();
            double[] dy64 = Check.toDouble(dy);
            Check.close("diff_weights", g.weights(),
                    Check.toFloat(ConvolutionReference.backwardWeights(g, Check.toDouble(src), dy64)),
                    dw.toPlain(scope, s).toFloatArray(), 1e-4, 1e-4);
            Check.close("diff_bias", g.bias(), Check.toFloat(ConvolutionReference.backwardBias(g, dy64)),
                    db.toFloatArray(), 1e-4, 1e-4);
        }
    }

    @Test
    void backwardFromAnInferenceForwardWithPostOpsStillDifferentiatesTheConvolution() {
        long[] dims = {1, 3, 6, 6};
        Params p = Params.of(4, 3).padding(1).bias(false);
        Geometry g = Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(5);
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] dy = Check.random(r, Check.count(g.dst()));
        try (Scope scope = Scope.leakChecked("hint"); Stream s = Stream.create(scope);
                dev.stride.core.PostOps ops = dev.stride.core.PostOps.create(scope)
                        .eltwise(dev.stride.eltwise.Eltwise.Algorithm.RELU, 0, 0);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", dims, p,
                        dev.stride.core.PropKind.INFERENCE, ops);
                Convolution.BackwardData bwdData = Convolution.BackwardData.create(scope, "conv", fwd)) {
            fwd.close(); // the hint is only read at creation
            Tensor dx = Tensor.zeros(scope, "dx", dims);
            bwdData.executePlain(s, Tensor.of(scope, "dy", dy, g.dst()), Tensor.of(scope, "w", w, g.weights()), dx);
            Check.close("diff_src", dims,
                    Check.toFloat(ConvolutionReference.backwardData(g, Check.toDouble(dy), Check.toDouble(w))),
                    dx.toFloatArray(), 1e-4, 1e-4);
        }
    }

    static java.util.stream.Stream<Arguments> invalidBindings() {
        return java.util.stream.Stream.of(
                Arguments.of("missing diff_bias", true, "bias", "conv1: diff_bias tensor missing (the forward has a bias)"),
                Arguments.of("diff_bias without bias", false, "bias", "conv1: this convolution has no bias to differentiate"),
                Arguments.of("diff_dst dims", true, "diff_dst", "conv1: diff_dst must have dims [2, 4, 6, 6], got tensor 'dy' f32 [2, 4, 5, 6] abcd"),
                Arguments.of("src dims", true, "src", "conv1: src must have dims [2, 3, 6, 6], got tensor 'x' f32 [2, 3, 6, 7] abcd"),
                Arguments.of("diff_weights dims", true, "diff_weights", "conv1: diff_weights must have dims [4, 3, 3, 3], got tensor 'dw' f32 [4, 3, 3] abc"));
    }

    /** Mistakes in the tensors handed to backward weights are rejected before anything runs. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidBindings")
    void invalidTensorsAreRejectedWithTheirShapes(String label, boolean bias, String wrong, String message) {
        long[] dims = {2, 3, 6, 6};
        Params p = Params.of(4, 3).padding(1).bias(bias);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv1", dims, p);
                Convolution.BackwardWeights bwd = Convolution.BackwardWeights.create(scope, "conv1", fwd)) {
            Tensor x = Tensor.zeros(scope, "x", wrong.equals("src") ? new long[] {2, 3, 6, 7} : dims);
            Tensor gy = Tensor.zeros(scope, "dy", wrong.equals("diff_dst") ? new long[] {2, 4, 5, 6} : new long[] {2, 4, 6, 6});
            Tensor dw = Tensor.zeros(scope, "dw", wrong.equals("diff_weights") ? new long[] {4, 3, 3} : new long[] {4, 3, 3, 3});
            Tensor db = (bias == wrong.equals("bias")) ? null : Tensor.zeros(scope, "db", 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bwd.executePlain(s, x, gy, dw, db));
            assertEquals(message, e.getMessage());
        }
    }

    @Test
    void backwardDataRejectsWrongDims() {
        long[] dims = {1, 2, 5, 5};
        try (Scope scope = Scope.leakChecked("bad"); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, "conv1", dims, Params.of(2, 3));
                Convolution.BackwardData bwd = Convolution.BackwardData.create(scope, "conv1", fwd)) {
            Tensor gy = Tensor.zeros(scope, "dy", 1, 2, 3, 3);
            Tensor w = Tensor.zeros(scope, "w", 2, 2, 3, 3);
            Tensor dx = Tensor.zeros(scope, "dx", 1, 2, 5, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bwd.executePlain(s, gy, w, dx));
            assertEquals("conv1: diff_src must have dims [1, 2, 5, 5], got tensor 'dx' f32 [1, 2, 5, 4] abcd", e.getMessage());
        }
    }
}
