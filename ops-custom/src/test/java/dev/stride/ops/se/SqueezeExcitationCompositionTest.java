package dev.stride.ops.se;

import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.linear.InnerProduct;
import dev.stride.pool.Pooling;
import dev.stride.tensor.Binary;
import dev.stride.tensor.Steps;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The metamorphic check: the block equals the same computation composed from the api's primitives, unfused —
 * global average pooling, inner product, eltwise ReLU, inner product, eltwise sigmoid, binary mul with a
 * per-channel broadcast operand — forward, and backward through their backward primitives (binary mul's
 * gradient with the sum over the broadcast plane, the two eltwise and inner-product backward passes, pooling
 * backward for the squeeze, and a binary add joining the input's two gradient paths).
 */
class SqueezeExcitationCompositionTest {

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} r={4}")
    @CsvSource({"2, 16, 5, 7, 4", "1, 8, 3, 3, 8", "4, 64, 14, 14, 16", "3, 24, 1, 1, 2"})
    void equalsPoolingFcReluFcSigmoidAndABroadcastMul(int n, int c, int h, int w, int r) {
        int hid = c / r;
        long[] dims = {n, c, h, w};
        long[] perChannel = {n, c, 1, 1};
        try (Scope scope = Scope.leakChecked("se composition"); Stream stream = Stream.create(scope)) {
            SplittableRandom rnd = new SplittableRandom(99 + c);
            float[] uv = SeReference.random(rnd, n * c * h * w, -1, 2);
            float[] dxv = SeReference.random(rnd, n * c * h * w, -1, 1);

            // The block.
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se", n, c, h, w, r, SqueezeExcitation.Layout.NCHW, 5);
            Tensor u = Tensor.of(scope, "u", uv, dims);
            Tensor dx = Tensor.of(scope, "dx", dxv, dims);
            Tensor x = Tensor.zeros(scope, "x", dims);
            Tensor du = Tensor.zeros(scope, "du", dims);
            se.forward(stream, u, x);
            se.backward(stream, u, dx, du);
            Tensor w1 = se.weights1();
            Tensor b1 = se.bias1();
            Tensor w2 = se.weights2();
            Tensor b2 = se.bias2();

            // Forward, composed: pool -> fc1 -> relu -> fc2 -> sigmoid -> mul.
            Pooling.Forward pool = Pooling.Forward.create(scope, "pool", u.desc(), Pooling.Params.globalAvg(),
                    PropKind.TRAINING);
            Tensor z4 = Tensor.zeros(scope, "z4", perChannel);
            pool.executePlain(stream, u, z4);
            InnerProduct.Forward fc1 = InnerProduct.Forward.create(scope, "fc1", perChannel, hid);
            Tensor h1 = Tensor.zeros(scope, "h1", n, hid);
            fc1.executePlain(stream, z4, w1, b1, h1);
            Eltwise.Forward relu = Eltwise.Forward.create(scope, "relu", h1.desc(), Eltwise.Algorithm.RELU, 0f, 0f,
                    PropKind.TRAINING);
            Tensor a = Tensor.zeros(scope, "a", n, hid);
            relu.execute(stream, relu.bind(scope, h1, a));
            InnerProduct.Forward fc2 = InnerProduct.Forward.create(scope, "fc2", new long[] {n, hid}, c);
            Tensor t = Tensor.zeros(scope, "t", n, c);
            fc2.executePlain(stream, a, w2, b2, t);
            Eltwise.Forward sigmoid = Eltwise.Forward.create(scope, "sigmoid", t.desc(), Eltwise.Algorithm.LOGISTIC, 0f,
                    0f, PropKind.TRAINING);
            Tensor s4 = Tensor.zeros(scope, "s4", perChannel);
            Tensor s = view(scope, s4, n, c);
            sigmoid.execute(stream, sigmoid.bind(scope, t, s));
            Binary.Forward mul = Binary.Forward.create(scope, "mul", Binary.Algorithm.MUL, dims, perChannel);
            Tensor xRef = Tensor.zeros(scope, "x.ref", dims);
            mul.executeOnce(stream, u, s4, xRef);

            Check.close("x", xRef.toFloatArray(), x.toFloatArray(), 1e-6, 1e-5);
            Check.close("s", s.toFloatArray(), se.excitation().toFloatArray(), 1e-6, 1e-5);

            // Backward, composed.
            Binary.Backward mulB = Binary.Backward.create(scope, "mul.bwd", mul);
            Tensor duScale = Tensor.zeros(scope, "du.scale", dims);
            Tensor ds4 = Tensor.zeros(scope, "ds4", perChannel);
            Steps steps = mulB.bind(scope, u, s4, dx, duScale, ds4);
            mulB.execute(stream, steps);
            stream.await();
            Eltwise.Backward sigmoidB = Eltwise.Backward.create(scope, "sigmoid.bwd", sigmoid);
            Tensor dt = Tensor.zeros(scope, "dt", n, c);
            sigmoidB.execute(stream, sigmoidB.bind(scope, t, view(scope, ds4, n, c), dt));
            stream.await();
            InnerProduct.BackwardWeights fc2W = InnerProduct.BackwardWeights.create(scope, "fc2.bw", fc2);
            Tensor dw2 = Tensor.zeros(scope, "dw2", c, hid);
            Tensor db2 = Tensor.zeros(scope, "db2", c);
            fc2W.executePlain(stream, a, dt, dw2, db2);
            InnerProduct.BackwardData fc2D = InnerProduct.BackwardData.create(scope, "fc2.bd", fc2);
            Tensor da = Tensor.zeros(scope, "da", n, hid);
            fc2D.executePlain(stream, dt, w2, da);
            Eltwise.Backward reluB = Eltwise.Backward.create(scope, "relu.bwd", relu);
            Tensor dh = Tensor.zeros(scope, "dh", n, hid);
            reluB.execute(stream, reluB.bind(scope, h1, da, dh));
            stream.await();
            InnerProduct.BackwardWeights fc1W = InnerProduct.BackwardWeights.create(scope, "fc1.bw", fc1);
            Tensor dw1 = Tensor.zeros(scope, "dw1", hid, c);
            Tensor db1 = Tensor.zeros(scope, "db1", hid);
            fc1W.executePlain(stream, z4, dh, dw1, db1);
            InnerProduct.BackwardData fc1D = InnerProduct.BackwardData.create(scope, "fc1.bd", fc1);
            Tensor dz4 = Tensor.zeros(scope, "dz4", perChannel);
            fc1D.executePlain(stream, dh, w1, dz4);
            Pooling.Backward poolB = Pooling.Backward.create(scope, "pool.bwd", pool);
            Tensor duSqueeze = Tensor.allocate(scope, "du.squeeze", poolB.diffSrcDesc());
            Tensor dz4Pool = dz4.desc().sameAs(poolB.diffDstDesc()) ? dz4 : dz4.reorder(scope, poolB.diffDstDesc(), stream);
            poolB.execute(stream, poolB.bind(scope, dz4Pool, duSqueeze, null, null, null));
            stream.await();
            Tensor duRef = Tensor.zeros(scope, "du.ref", dims);
            Binary.Forward add = Binary.Forward.create(scope, "add", Binary.Algorithm.ADD, dims, dims);
            add.executeOnce(stream, duScale, duSqueeze.desc().isPlain() ? duSqueeze : duSqueeze.toPlain(scope, stream), duRef);

            Check.close("du", duRef.toFloatArray(), du.toFloatArray(), 1e-6, 1e-4);
            Check.close("dW1", dw1.toFloatArray(), se.diffWeights1().toFloatArray(), 1e-5, 1e-4);
            Check.close("db1", db1.toFloatArray(), se.diffBias1().toFloatArray(), 1e-5, 1e-4);
            Check.close("dW2", dw2.toFloatArray(), se.diffWeights2().toFloatArray(), 1e-5, 1e-4);
            Check.close("db2", db2.toFloatArray(), se.diffBias2().toFloatArray(), 1e-5, 1e-4);
        }
    }

    /** The same plain bytes seen with other dims ({@code N x C x 1 x 1} as {@code N x C}). */
    private static Tensor view(Scope scope, Tensor plain, long... dims) {
        return Tensor.wrap(scope, plain.name() + ".view", MemoryDesc.plain(scope, dims), plain.segment());
    }
}
