package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.conv.Convolution;
import dev.stride.conv.Convolution.Params;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.BatchNormFold;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** "At test time batchnorm becomes a linear operator": conv + inference BN equals one folded convolution. */
class BatchNormFoldTest {

    static java.util.stream.Stream<Arguments> shapes() {
        return java.util.stream.Stream.of(
                Arguments.of("3x3 p1 with bias", new long[] {2, 3, 8, 8}, Params.of(4, 3).padding(1), true, 1e-5),
                Arguments.of("no bias, stride 2", new long[] {1, 4, 9, 9}, Params.of(6, 3).stride(2).bias(false), true, 1e-5),
                Arguments.of("groups 2", new long[] {2, 8, 6, 6}, Params.of(6, 3).groups(2).padding(1), true, 1e-3),
                Arguments.of("depthwise 16", new long[] {2, 16, 7, 7}, Params.of(16, 3).groups(16).padding(1), true, 1e-5),
                Arguments.of("3D 3x3x3", new long[] {1, 3, 4, 5, 6}, Params.of(5, 3).padding(1), true, 1e-5),
                Arguments.of("BN without affine", new long[] {2, 3, 6, 6}, Params.of(4, 1), false, 1e-5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void foldedConvolutionEqualsConvolutionThenBatchNorm(String label, long[] srcDims, Params p, boolean affine, double eps) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        Convolution.Geometry g = Convolution.Geometry.of(label, srcDims, p);
        int k = (int) g.dst()[1];
        float[] x = Check.random(r, Check.count(srcDims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = p.bias() ? Check.random(r, k) : null;
        float[] gamma = affine ? BatchNormTest.affineValues(r, k, 0.5, 2) : null;
        float[] beta = affine ? BatchNormTest.affineValues(r, k, -1, 1) : null;
        float[] rm = BatchNormTest.affineValues(r, k, -0.5, 0.5);
        float[] rv = BatchNormTest.affineValues(r, k, 0.1, 3);
        BatchNorm.Params bnp = BatchNorm.Params.defaults().epsilon(eps).affine(affine);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            // conv, then BN in inference mode, both oneDNN.
            Convolution.Forward conv = Convolution.Forward.create(scope, "conv", srcDims, p, PropKind.INFERENCE, null);
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            conv.executePlain(s, Tensor.of(scope, "x", x, srcDims), Tensor.of(scope, "w", w, g.weights()),
                    bias == null ? null : Tensor.of(scope, "b", bias, k), y);
            BatchNorm.Forward bn = BatchNorm.Forward.create(scope, "bn", g.dst(), bnp, PropKind.INFERENCE);
            Tensor z = Tensor.zeros(scope, "z", g.dst());
            bn.execute(s, bn.bind(scope, y, affine ? Tensor.of(scope, "gamma", gamma, k) : null,
                    affine ? Tensor.of(scope, "beta", beta, k) : null, Tensor.of(scope, "rm", rm, k),
                    Tensor.of(scope, "rv", rv, k), z, null));
            s.await();
            float[] twoStep = z.toFloatArray();

            // one folded convolution (always with bias).
            BatchNormFold.FoldedTensors folded = BatchNormFold.fold(scope, "bn", g,
                    Tensor.of(scope, "w0", w, g.weights()), bias == null ? null : Tensor.of(scope, "b0", bias, k),
                    affine ? Tensor.of(scope, "g0", gamma, k) : null, affine ? Tensor.of(scope, "beta0", beta, k) : null,
                    Tensor.of(scope, "rm0", rm, k), Tensor.of(scope, "rv0", rv, k), eps);
            Params withBias = p.bias(true);
            Convolution.Forward conv2 = Convolution.Forward.create(scope, "conv+bn", srcDims, withBias, PropKind.INFERENCE, null);
            Tensor z2 = Tensor.zeros(scope, "z2", g.dst());
            conv2.executePlain(s, Tensor.of(scope, "x2", x, srcDims), folded.weights(), folded.bias(), z2);
            float[] oneStep = z2.toFloatArray();
            Check.close(label + ": folded vs conv-then-BN", g.dst(), twoStep, oneStep, 1e-4, 1e-4);

            // and both against the double-precision references composed by hand.
            NormReference.Forward ref = NormReference.batchNorm(Check.toDouble(ConvolutionReference.forward(g, x, w, bias)),
                    g.dst(), gamma == null ? null : Check.toDouble(gamma), beta == null ? null : Check.toDouble(beta),
                    Check.toDouble(rm), Check.toDouble(rv), eps, false);
            Check.close(label + ": folded vs reference", g.dst(), Check.toFloat(ref.y()), oneStep, 2e-4, 2e-4);
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of("gamma", 5, "bn1: gamma has 5 values, expected K = 4 (one per output channel of the convolution)"),
                Arguments.of("beta", 3, "bn1: beta has 3 values, expected K = 4 (one per output channel of the convolution)"),
                Arguments.of("mean", 8, "bn1: running mean has 8 values, expected K = 4 (one per output channel of the convolution)"),
                Arguments.of("bias", 2, "bn1: convolution bias has 2 values, expected K = 4 (one per output channel of the convolution)"),
                Arguments.of("weights", 10, "bn1: convolution weights must have 108 values [4, 3, 3, 3], got 10"),
                Arguments.of("negative var", 4, "bn1: running variance of channel 2 is -0.5; a variance must be >= 0"),
                Arguments.of("eps", 4, "bn1: eps must be a finite number > 0, got 0.0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void mismatchedParametersAreRejected(String which, int size, String message) {
        Convolution.Geometry g = Convolution.Geometry.of("conv1", new long[] {1, 3, 8, 8}, Params.of(4, 3).padding(1));
        float[] w = new float[which.equals("weights") ? size : 108];
        float[] bias = new float[which.equals("bias") ? size : 4];
        float[] gamma = new float[which.equals("gamma") ? size : 4];
        float[] beta = new float[which.equals("beta") ? size : 4];
        float[] mean = new float[which.equals("mean") ? size : 4];
        float[] var = {1, 1, which.equals("negative var") ? -0.5f : 1, 1};
        double eps = which.equals("eps") ? 0 : 1e-5;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchNormFold.fold("bn1", g, w, bias, gamma, beta, mean, var, eps));
        assertEquals(message, e.getMessage());
    }
}
