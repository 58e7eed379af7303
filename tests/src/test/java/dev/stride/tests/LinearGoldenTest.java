package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.io.Npy;
import dev.stride.linear.InnerProduct;
import dev.stride.softmax.Softmax;
import dev.stride.softmax.SoftmaxCrossEntropy;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Golden cases from PyTorch 1.13 ({@code tests/golden/linear.py}). */
class LinearGoldenTest {

    private static Npy.Floats load(String name) throws Exception {
        return Npy.readFloats(Path.of(LinearGoldenTest.class.getResource("/golden/linear/" + name + ".npy").toURI()));
    }

    @Test
    void linearOnAFlattened4dInputForwardAndGradients() throws Exception {
        Npy.Floats x = load("fc_x");
        Npy.Floats w = load("fc_w");
        Npy.Floats b = load("fc_b");
        Npy.Floats dy = load("fc_dy");
        assertArrayEquals(new long[] {2, 3, 4, 4}, x.shape());
        assertArrayEquals(new long[] {5, 48}, w.shape());
        try (Scope scope = Scope.leakChecked("golden fc"); Stream s = Stream.create(scope);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", x.shape(), 5);
                InnerProduct.BackwardData bd = InnerProduct.BackwardData.create(scope, "fc.bd", fc);
                InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fc.bw", fc)) {
            // PyTorch's weights stay the flat OC x C*H*W matrix; the API views them as OC x C x H x W.
            Tensor xt = Tensor.of(scope, "x", x.data(), x.shape());
            Tensor wt = Tensor.of(scope, "w", w.data(), w.shape());
            Tensor dyt = Tensor.of(scope, "dy", dy.data(), dy.shape());
            Tensor y = Tensor.zeros(scope, "y", 2, 5);
            Tensor dx = Tensor.zeros(scope, "dx", x.shape());
            Tensor dw = Tensor.zeros(scope, "dw", w.shape());
            Tensor db = Tensor.zeros(scope, "db", 5);
            fc.executePlain(s, xt, wt, Tensor.of(scope, "b", b.data(), 5), y);
            bd.executePlain(s, dyt, wt, dx);
            bw.executePlain(s, xt, dyt, dw, db);
            Check.close("golden fc y", new long[] {2, 5}, load("fc_y").data(), y.toFloatArray(), 1e-5, 1e-4);
            Check.close("golden fc dx", x.shape(), load("fc_dx").data(), dx.toFloatArray(), 1e-5, 1e-4);
            Check.close("golden fc dw", w.shape(), load("fc_dw").data(), dw.toFloatArray(), 1e-5, 1e-4);
            Check.close("golden fc db", new long[] {5}, load("fc_db").data(), db.toFloatArray(), 1e-5, 1e-4);
        }
    }

    @Test
    void crossEntropyLossAndGradient() throws Exception {
        Npy.Floats logits = load("ce_logits");
        long[] labels64 = Npy.readLongs(Path.of(getClass().getResource("/golden/linear/ce_labels.npy").toURI())).data();
        int[] labels = new int[labels64.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = Math.toIntExact(labels64[i]);
        }
        try (Scope scope = Scope.leakChecked("golden ce"); Stream s = Stream.create(scope)) {
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "ce", logits.shape());
            Tensor z = Tensor.of(scope, "logits", logits.data(), logits.shape());
            Tensor dz = Tensor.zeros(scope, "dlogits", logits.shape());
            double value = loss.forward(s, z, labels);
            assertEquals(load("ce_loss").data()[0], value, 1e-5);
            loss.backward(s, dz);
            Check.close("golden ce dlogits", logits.shape(), load("ce_dlogits").data(), dz.toFloatArray(), 1e-6, 1e-4);
        }
    }

    @Test
    void logSoftmaxForwardAndGradient() throws Exception {
        Npy.Floats x = load("logsoftmax_x");
        try (Scope scope = Scope.leakChecked("golden log_softmax"); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x.data(), x.shape());
            Tensor dst = Tensor.zeros(scope, "y", x.shape());
            Tensor dy = Tensor.of(scope, "dy", load("logsoftmax_dy").data(), x.shape());
            Tensor dx = Tensor.zeros(scope, "dx", x.shape());
            Softmax.Forward f = Softmax.Forward.create(scope, "lsm", src.desc(), Softmax.Algorithm.LOG, 1, PropKind.TRAINING);
            Softmax.Backward b = Softmax.Backward.create(scope, "lsm.bwd", f);
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, dst, dy, dx));
            s.await();
            Check.close("golden log_softmax y", x.shape(), load("logsoftmax_y").data(), dst.toFloatArray(), 1e-5, 1e-5);
            Check.close("golden log_softmax dx", x.shape(), load("logsoftmax_dx").data(), dx.toFloatArray(), 1e-5, 1e-4);
        }
    }

    static java.util.stream.Stream<Arguments> activations() {
        return java.util.stream.Stream.of(
                Arguments.of("relu", Eltwise.Algorithm.RELU, 0f),
                Arguments.of("leaky_relu", Eltwise.Algorithm.RELU, 0.1f),
                Arguments.of("elu", Eltwise.Algorithm.ELU, 1f),
                Arguments.of("gelu_erf", Eltwise.Algorithm.GELU_ERF, 0f),
                Arguments.of("gelu_tanh", Eltwise.Algorithm.GELU_TANH, 0f),
                Arguments.of("sigmoid", Eltwise.Algorithm.LOGISTIC, 0f),
                Arguments.of("tanh", Eltwise.Algorithm.TANH, 0f),
                Arguments.of("silu", Eltwise.Algorithm.SWISH, 1f));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("activations")
    void activationForwardAndGradient(String name, Eltwise.Algorithm alg, float alpha) throws Exception {
        Npy.Floats x = load("act_x");
        try (Scope scope = Scope.leakChecked("golden " + name); Stream s = Stream.create(scope)) {
            Tensor src = Tensor.of(scope, "x", x.data(), x.shape());
            Tensor dst = Tensor.zeros(scope, "y", x.shape());
            Tensor dy = Tensor.of(scope, "dy", load("act_dy").data(), x.shape());
            Tensor dx = Tensor.zeros(scope, "dx", x.shape());
            Eltwise.Forward f = Eltwise.Forward.create(scope, name, src.desc(), alg, alpha, 0, PropKind.TRAINING);
            Eltwise.Backward b = Eltwise.Backward.create(scope, name + ".bwd", f);
            f.execute(s, f.bind(scope, src, dst));
            b.execute(s, b.bind(scope, src, dy, dx));
            s.await();
            Check.close("golden " + name + " y", x.shape(), load("act_" + name + "_y").data(), dst.toFloatArray(), 1e-5, 1e-5);
            Check.close("golden " + name + " dx", x.shape(), load("act_" + name + "_dx").data(), dx.toFloatArray(), 1e-5, 1e-4);
        }
    }
}
