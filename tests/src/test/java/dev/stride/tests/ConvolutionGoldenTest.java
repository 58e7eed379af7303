package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stride.conv.Convolution;
import dev.stride.conv.Convolution.Geometry;
import dev.stride.conv.Convolution.Params;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Convolution forward, backward data and backward weights against PyTorch 1.13 (files made by
 * {@code tests/golden/conv.py}; the settings here repeat the script's).
 */
class ConvolutionGoldenTest {

    static java.util.stream.Stream<Arguments> cases() {
        return java.util.stream.Stream.of(
                Arguments.of("dilated", Params.of(4, 3).padding(2, 3).dilation(2, 3)),
                Arguments.of("grouped", Params.of(6, 3).stride(2).padding(1).groups(2)),
                Arguments.of("conv3d", Params.of(3, 3).stride(1, 2, 1).padding(1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(String name, Params p) throws Exception {
        Npy.Floats x = read(name, "x");
        Npy.Floats w = read(name, "w");
        Npy.Floats b = read(name, "b");
        Npy.Floats dy = read(name, "dy");
        Geometry g = Geometry.of(name, x.shape(), p);
        // PyTorch's grouped weights are K x C/G x F...: the same bytes as our G x K/G x C/G x F...
        assertEquals(Check.count(w.shape()), Check.count(g.weights()));
        assertArrayEquals(read(name, "y").shape(), g.dst());
        try (Scope scope = Scope.leakChecked(name); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, name, x.shape(), p);
                Convolution.BackwardData bwdData = Convolution.BackwardData.create(scope, name, fwd);
                Convolution.BackwardWeights bwdWeights = Convolution.BackwardWeights.create(scope, name, fwd)) {
            Tensor xt = Tensor.of(scope, "x", x.data(), g.src());
            Tensor wt = Tensor.of(scope, "w", w.data(), g.weights());
            Tensor bt = Tensor.of(scope, "b", b.data(), g.bias());
            Tensor dyt = Tensor.of(scope, "dy", dy.data(), g.dst());
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = Tensor.zeros(scope, "db", g.bias());
            fwd.executePlain(s, xt, wt, bt, y);
            bwdData.executePlain(s, dyt, wt, dx);
            bwdWeights.executePlain(s, xt, dyt, dw, db);
            Check.close(name + " y", g.dst(), read(name, "y").data(), y.toFloatArray(), 1e-4, 1e-4);
            Check.close(name + " dx", g.src(), read(name, "dx").data(), dx.toFloatArray(), 1e-4, 1e-4);
            Check.close(name + " dw", g.weights(), read(name, "dw").data(), dw.toFloatArray(), 1e-4, 1e-4);
            Check.close(name + " db", g.bias(), read(name, "db").data(), db.toFloatArray(), 1e-4, 1e-4);
        }
    }

    private Npy.Floats read(String name, String what) throws Exception {
        String res = "/golden/conv/" + name + "_" + what + ".npy";
        var url = getClass().getResource(res);
        if (url == null) {
            throw new AssertionError("missing golden file " + res + " (run tests/golden/conv.py)");
        }
        return Npy.readFloats(Path.of(url.toURI()));
    }
}
