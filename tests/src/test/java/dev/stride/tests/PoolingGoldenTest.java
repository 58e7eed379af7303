package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.io.Npy;
import dev.stride.pool.Pooling;
import dev.stride.pool.Pooling.Params;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pooling forward and backward against PyTorch 1.13 ({@code tests/golden/pool.py}). The L2 goldens are
 * {@code lp_pool2d(x, 2, F, S) / sqrt(F*F)}: PyTorch's L2 pooling is the root of the sum of squares, ours
 * of their average.
 */
class PoolingGoldenTest {

    static java.util.stream.Stream<Arguments> cases() {
        return java.util.stream.Stream.of(
                Arguments.of("max2d_2x2s2", Params.max(2).stride(2)),
                Arguments.of("avg2d_3x3s2p1_include", Params.avg(3).stride(2).padding(1)),
                Arguments.of("avg2d_3x3s2p1_exclude", Params.avg(3).stride(2).padding(1).excludePadding()),
                Arguments.of("l2_2d_2x2s2", Params.l2(2).stride(2)),
                Arguments.of("l2_2d_3x3s2", Params.l2(3).stride(2)),
                Arguments.of("max3d_2s2", Params.max(2).stride(2)),
                Arguments.of("max3d_3s2p1", Params.max(3).stride(2).padding(1)),
                Arguments.of("global_avg2d", Params.globalAvg()),
                Arguments.of("global_max2d", Params.globalMax()),
                Arguments.of("global_avg3d", Params.globalAvg()));
    }

    private Npy.Floats read(String name) throws Exception {
        return Npy.readFloats(Path.of(getClass().getResource("/golden/pool/" + name + ".npy").toURI()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(String name, Params p) throws Exception {
        Npy.Floats x = read(name + ".x");
        Npy.Floats y = read(name + ".y");
        Npy.Floats dy = read(name + ".dy");
        Npy.Floats dx = read(name + ".dx");
        Pooling.Geometry g = Pooling.Geometry.of(name, x.shape(), p);
        assertArrayEquals(y.shape(), g.dst(), name + ": output shape");
        try (Scope scope = Scope.leakChecked(name); MemoryDesc src = MemoryDesc.plain(scope, x.shape())) {
            PoolingTest.Result got = PoolingTest.forwardBackward(scope, src, p, x.data(), dy.data());
            Check.close(name + " forward vs PyTorch", y.shape(), y.data(), got.y(), 1e-5, 1e-5);
            Check.close(name + " backward vs PyTorch", x.shape(), dx.data(), got.dx(), 1e-5, 1e-5);
        }
    }
}
