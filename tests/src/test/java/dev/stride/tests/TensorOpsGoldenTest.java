package dev.stride.tests;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.tensor.Binary;
import dev.stride.tensor.Concat;
import dev.stride.tensor.MatMul;
import dev.stride.tensor.Steps;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Golden cases from PyTorch 1.13 ({@code tests/golden/tensorops.py}): broadcast add/mul/sub, cat, mm, bmm. */
class TensorOpsGoldenTest {

    private Npy.Floats read(String name) throws Exception {
        return Npy.readFloats(Path.of(getClass().getResource("/golden/tensorops/" + name + ".npy").toURI()));
    }

    private static Tensor tensor(Scope scope, String name, Npy.Floats f) {
        return Tensor.of(scope, name, f.data(), f.shape());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"add_channel, ADD", "add_scalar, ADD", "mul_channel, MUL", "mul_rows, MUL", "sub_full, SUB"})
    void binaryForwardAndGradients(String c, Binary.Algorithm alg) throws Exception {
        Npy.Floats a = read(c + "_a");
        Npy.Floats b = read(c + "_b");
        Npy.Floats dy = read(c + "_dy");
        try (Scope scope = Scope.leakChecked(c); Stream s = Stream.create(scope);
                Binary.Forward f = Binary.Forward.create(scope, c, alg, a.shape(), b.shape());
                Binary.Backward bwd = Binary.Backward.create(scope, c + ".bwd", f)) {
            Tensor ta = tensor(scope, "a", a);
            Tensor tb = tensor(scope, "b", b);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.executeOnce(s, ta, tb, y);
            Check.close(c + " y", a.shape(), read(c + "_y").data(), y.toFloatArray(), 1e-6, 1e-5);
            Tensor da = Tensor.allocate(scope, "da", bwd.diffSrc0Desc());
            Tensor db = Tensor.allocate(scope, "db", bwd.diffSrc1Desc());
            Steps steps = bwd.bind(scope, ta, tb, tensor(scope, "dy", dy), da, db);
            bwd.execute(s, steps);
            s.await();
            Check.close(c + " da", a.shape(), read(c + "_da").data(), da.toFloatArray(), 1e-5, 1e-5);
            Check.close(c + " db", b.shape(), read(c + "_db").data(), db.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void catAlongChannelsWithGradient() throws Exception {
        Npy.Floats[] xs = {read("cat1_x0"), read("cat1_x1"), read("cat1_x2")};
        try (Scope scope = Scope.leakChecked("cat1"); Stream s = Stream.create(scope);
                Concat.Forward f = Concat.Forward.create(scope, "cat1", 1, xs[0].shape(), xs[1].shape(), xs[2].shape());
                Concat.Backward bwd = Concat.Backward.create(scope, "cat1.bwd", f)) {
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, y, tensor(scope, "x0", xs[0]), tensor(scope, "x1", xs[1]), tensor(scope, "x2", xs[2])));
            s.await();
            Npy.Floats want = read("cat1_y");
            Check.close("cat1 y", want.shape(), want.data(), y.toFloatArray(), 0, 0);
            Tensor[] g = new Tensor[3];
            for (int i = 0; i < 3; i++) g[i] = Tensor.allocate(scope, "dx" + i, bwd.diffSrcDesc(i));
            Tensor dy = Tensor.allocate(scope, "dy", bwd.diffDstDesc());
            dy.copyFrom(read("cat1_dy").data());
            bwd.execute(s, bwd.bind(scope, dy, g));
            s.await();
            for (int i = 0; i < 3; i++) {
                Check.close("cat1 dx" + i, xs[i].shape(), read("cat1_dx" + i).data(), g[i].toFloatArray(), 0, 0);
            }
        }
    }

    @Test
    void catAlongTheLastAxis() throws Exception {
        Npy.Floats x0 = read("cat3_x0");
        Npy.Floats x1 = read("cat3_x1");
        try (Scope scope = Scope.leakChecked("cat3"); Stream s = Stream.create(scope);
                Concat.Forward f = Concat.Forward.create(scope, "cat3", 3, x0.shape(), x1.shape())) {
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, y, tensor(scope, "x0", x0), tensor(scope, "x1", x1)));
            s.await();
            Npy.Floats want = read("cat3_y");
            Check.close("cat3 y", want.shape(), want.data(), y.toFloatArray(), 0, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"mm, mm_a, mm_b, mm_bias, false", "bmm, bmm_a, bmm_b, , false", "bmmT, bmm_a, bmmT_b, , true"})
    void matmulAndBmm(String c, String aName, String bName, String biasName, boolean transB) throws Exception {
        Npy.Floats a = read(aName);
        Npy.Floats b = read(bName);
        Npy.Floats bias = biasName == null ? null : read(biasName);
        long[] as = a.shape();
        MatMul.Spec spec = as.length == 2 ? MatMul.Spec.of(as[0], as[1], transB ? b.shape()[0] : b.shape()[1])
                : MatMul.Spec.of(as[1], as[2], transB ? b.shape()[1] : b.shape()[2]).batch(as[0]);
        if (transB) spec = spec.transB();
        if (bias != null) spec = spec.bias();
        try (Scope scope = Scope.leakChecked(c); Stream s = Stream.create(scope);
                MatMul.Forward f = MatMul.plain(scope, c, spec)) {
            Tensor tb = tensor(scope, "b.raw", b);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            Tensor tbias = bias == null ? null : Tensor.wrap(scope, "bias", f.biasDesc(), tensor(scope, "bias.raw", bias).segment());
            f.executeOnce(s, tensor(scope, "a", a), Tensor.wrap(scope, "b", f.weightsDesc(), tb.segment()), tbias, y);
            Npy.Floats want = read(c + "_y");
            Check.close(c + " y", want.shape(), want.data(), y.toFloatArray(), 1e-5, 1e-5);
        }
    }
}
