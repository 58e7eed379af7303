package dev.stride.ops.se;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.DataType;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.ops.se.SqueezeExcitation.Layout;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Golden cases from PyTorch 1.13: the paper's SE module, forward and gradients ({@code ops-custom/golden/se.py}). */
class SqueezeExcitationGoldenTest {

    private static Npy.Floats load(String name) throws Exception {
        return Npy.readFloats(Path.of(SqueezeExcitationGoldenTest.class.getResource("/golden/se/" + name + ".npy").toURI()));
    }

    @ParameterizedTest(name = "case {0}, r={1}, {2}")
    @CsvSource({"a, 4, NCHW", "a, 4, NHWC", "b, 8, NCHW", "b, 8, NHWC"})
    void matchesPyTorch(String id, int r, Layout layout) throws Exception {
        Npy.Floats u = load(id + "_u");
        long[] d = u.shape();
        assertArrayEquals(new long[] {d[1] / r, d[1]}, load(id + "_w1").shape());
        try (Scope scope = Scope.leakChecked("se golden " + id); Stream stream = Stream.create(scope)) {
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se", d[0], d[1], d[2], d[3], r, layout, 0);
            se.setParameters(load(id + "_w1").data(), load(id + "_b1").data(), load(id + "_w2").data(),
                    load(id + "_b2").data());
            MemoryDesc desc = MemoryDesc.of(scope, DataType.F32, layout.tag(), d);
            Tensor ut = Tensor.allocate(scope, "u", desc);
            ut.copyFrom(u.data());
            Tensor dx = Tensor.allocate(scope, "dx", desc);
            dx.copyFrom(load(id + "_dx").data());
            Tensor x = Tensor.allocate(scope, "x", desc);
            Tensor du = Tensor.allocate(scope, "du", desc);
            se.forward(stream, ut, x);
            se.backward(stream, ut, dx, du);
            Check.close(id + " x", load(id + "_x").data(), x.toFloatArray(), 1e-5, 1e-4);
            Check.close(id + " du", load(id + "_du").data(), du.toFloatArray(), 1e-5, 1e-4);
            Check.close(id + " dW1", load(id + "_dw1").data(), se.diffWeights1().toFloatArray(), 1e-5, 1e-4);
            Check.close(id + " db1", load(id + "_db1").data(), se.diffBias1().toFloatArray(), 1e-5, 1e-4);
            Check.close(id + " dW2", load(id + "_dw2").data(), se.diffWeights2().toFloatArray(), 1e-5, 1e-4);
            Check.close(id + " db2", load(id + "_db2").data(), se.diffBias2().toFloatArray(), 1e-5, 1e-4);
        }
    }
}
