package dev.stride.ops.deform;

import static dev.stride.testing.Check.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.ops.deform.DeformConv2d.Params;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deformable convolution against torchvision 0.14's {@code torchvision.ops.deform_conv2d} (files made by
 * {@code ops-custom/golden/deform.py}; the settings here repeat the script's): forward and the gradients of
 * input, offsets, mask, weights and bias, with torchvision's tensors used as they are (same layouts).
 */
class DeformConvGoldenTest {

    static java.util.stream.Stream<Arguments> cases() {
        return java.util.stream.Stream.of(
                Arguments.of("v1_basic", Params.of(4, 3).padding(1)),
                Arguments.of("v2_basic", Params.of(4, 3).padding(1).modulated(true)),
                Arguments.of("v1_stride2", Params.of(3, 3, 2).stride(2).padding(1, 0).offsetGroups(2).bias(false)),
                Arguments.of("v2_dilation2", Params.of(3, 3).padding(2).dilation(2).modulated(true)),
                Arguments.of("v2_groups", Params.of(6, 3).stride(2, 1).padding(1).groups(2).offsetGroups(2).modulated(true)),
                Arguments.of("v1_groups", Params.of(4, 2).groups(2).offsetGroups(3)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorchvision(String name, Params p) throws Exception {
        Npy.Floats x = read(name, "x");
        DeformGeometry g = DeformGeometry.of(name, x.shape(), p);
        assertArrayEquals(read(name, "offset").shape(), g.offset());
        assertArrayEquals(read(name, "w").shape(), g.weights());
        assertArrayEquals(read(name, "y").shape(), g.dst());
        try (Scope scope = Scope.leakChecked(name); Stream s = Stream.create(scope);
                DeformConv2d op = DeformConv2d.create(scope, name, x.shape(), p)) {
            Tensor xt = tensor(scope, name, "x");
            Tensor off = tensor(scope, name, "offset");
            Tensor m = g.modulated() ? tensor(scope, name, "mask") : null;
            Tensor w = tensor(scope, name, "w");
            Tensor b = g.bias() ? tensor(scope, name, "b") : null;
            Tensor dy = tensor(scope, name, "dy");
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor doff = Tensor.zeros(scope, "doffset", g.offset());
            Tensor dm = m == null ? null : Tensor.zeros(scope, "dmask", g.mask());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = b == null ? null : Tensor.zeros(scope, "db", g.biasDims());
            op.forward(s, xt, off, m, w, b, y);
            op.backward(s, xt, off, m, w, dy, dx, doff, dm, dw, db);
            close(name + " y", g.dst(), read(name, "y").data(), y.toFloatArray(), 1e-4, 1e-4);
            close(name + " dx", g.src(), read(name, "dx").data(), dx.toFloatArray(), 1e-4, 1e-4);
            close(name + " doffset", g.offset(), read(name, "doffset").data(), doff.toFloatArray(), 1e-4, 1e-4);
            if (dm != null) {
                close(name + " dmask", g.mask(), read(name, "dmask").data(), dm.toFloatArray(), 1e-4, 1e-4);
            }
            close(name + " dw", g.weights(), read(name, "dw").data(), dw.toFloatArray(), 1e-4, 1e-4);
            if (db != null) {
                close(name + " db", g.biasDims(), read(name, "db").data(), db.toFloatArray(), 1e-4, 1e-4);
            }
        }
    }

    private Tensor tensor(Scope scope, String name, String key) throws Exception {
        Npy.Floats f = read(name, key);
        return Tensor.of(scope, key, f.data(), f.shape());
    }

    private Npy.Floats read(String name, String key) throws Exception {
        return Npy.readFloats(Path.of(getClass().getResource("/golden/deform/" + name + "_" + key + ".npy").toURI()));
    }
}
