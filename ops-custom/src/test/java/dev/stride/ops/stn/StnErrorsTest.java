package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rejected configuration, with its exact message, rejected before any work: no native allocation and
 * the outputs untouched.
 */
class StnErrorsTest {

    /** N=2, C=3, 5x7 -> 4x6, with well-shaped tensors and owners, and a few misshapen ones. */
    static final class Fixture {
        final Scope scope;
        final AffineSampler stn;
        final GridSampler sampler;
        final Tensor theta;
        final Tensor src;
        final Tensor grid;
        final Tensor dst;
        final Tensor diffDst;
        final Tensor diffSrc;
        final Tensor diffTheta;

        Fixture(Scope scope) {
            this.scope = scope;
            stn = AffineSampler.create(scope, "stn", 2, 3, 5, 7, 4, 6, SamplerOptions.DEFAULT);
            sampler = GridSampler.create(scope, "sampler", 2, 3, 5, 7, 4, 6, SamplerOptions.DEFAULT);
            theta = Tensor.of(scope, "theta", LocalizationHead.identityTheta(2), 2, 2, 3);
            src = Tensor.zeros(scope, "src", 2, 3, 5, 7);
            grid = Tensor.zeros(scope, "grid", 2, 4, 6, 2);
            dst = Tensor.zeros(scope, "dst", 2, 3, 4, 6);
            diffDst = Tensor.zeros(scope, "diffDst", 2, 3, 4, 6);
            diffSrc = Tensor.zeros(scope, "diffSrc", 2, 3, 5, 7);
            diffTheta = Tensor.zeros(scope, "diffTheta", 2, 2, 3);
        }

        private final Map<String, Tensor> made = new HashMap<>();

        /** A misshapen argument, made on first use and reused, so a second call of a row creates nothing. */
        Tensor t(long... dims) {
            return made.computeIfAbsent(java.util.Arrays.toString(dims), k -> Tensor.zeros(scope, "bad" + k, dims));
        }
    }

    private static Arguments row(String message, Consumer<Fixture> call) {
        return Arguments.of(message, call);
    }

    static Stream<Arguments> rejected() {
        return Stream.of(
                row("stn: theta must be [N, 2, 3] = [2, 2, 3], got [2, 3, 3]", f -> f.stn.forward(f.t(2, 3, 3), f.src, f.dst)),
                row("stn: theta must be [N, 2, 3] = [2, 2, 3], got [2, 6] (2D)", f -> f.stn.forward(f.t(2, 6), f.src, f.dst)),
                row("stn: theta must be [N, 2, 3] = [2, 2, 3], got [3, 2, 3]", f -> f.stn.forward(f.t(3, 2, 3), f.src, f.dst)),
                row("stn: src must be [N, C, H, W] = [2, 3, 5, 7], got [2, 4, 5, 7]",
                        f -> f.stn.forward(f.theta, f.t(2, 4, 5, 7), f.dst)),
                row("stn: dst must be [N, C, H2, W2] = [2, 3, 4, 6], got [2, 3, 6, 4]",
                        f -> f.stn.forward(f.theta, f.src, f.t(2, 3, 6, 4))),
                row("stn: diffTheta must be [N, 2, 3] = [2, 2, 3], got [2, 2, 2]",
                        f -> f.stn.backward(f.theta, f.src, f.diffDst, f.diffSrc, f.t(2, 2, 2))),
                row("stn: diffSrc must be [N, C, H, W] = [2, 3, 5, 7], got [2, 3, 4, 6]",
                        f -> f.stn.backward(f.theta, f.src, f.diffDst, f.t(2, 3, 4, 6), f.diffTheta)),
                row("stn: backward with neither diffSrc nor diffTheta has nothing to compute",
                        f -> f.stn.backward(f.theta, f.src, f.diffDst, null, null)),
                row("stn: diffSrc and src must not overlap in memory",
                        f -> f.stn.backward(f.theta, f.src, f.diffDst, f.src, f.diffTheta)),
                row("sampler: grid must be [N, H2, W2, 2] = [2, 4, 6, 2] (N from src [2, 3, 5, 7]), got [3, 4, 6, 2]",
                        f -> f.sampler.forward(f.src, f.t(3, 4, 6, 2), f.dst)),
                row("sampler: grid must be [N, H2, W2, 2] = [2, 4, 6, 2] (N from src [2, 3, 5, 7]), got [2, 4, 6, 3]",
                        f -> f.sampler.forward(f.src, f.t(2, 4, 6, 3), f.dst)),
                row("sampler: diffDst must be [N, C, H2, W2] = [2, 3, 4, 6], got [2, 3, 4, 5]",
                        f -> f.sampler.backward(f.src, f.grid, f.t(2, 3, 4, 5), f.diffSrc, null)),
                row("sampler: src must be f32 in the plain row-major layout (the Java kernels index it as such), "
                        + "got f32 [2, 3, 5, 7] acdb; reorder it first (Tensor.toPlain)",
                        f -> f.sampler.forward(nhwc(f), f.grid, f.dst)),
                row("affine_grid: theta must be 3D [N, 2, 3], got 2D [2, 6]", f -> AffineGrid.forward(f.t(2, 6), f.grid, false)),
                row("affine_grid: grid must be [N, H2, W2, 2] = [2, 4, 6, 2] (N = 2 from theta), got [3, 4, 6, 2]",
                        f -> AffineGrid.forward(f.theta, f.t(3, 4, 6, 2), false)),
                row("affine_grid backward: diffTheta must be [N, 2, 3] = [2, 2, 3], got [2, 3, 2]",
                        f -> AffineGrid.backward(f.grid, f.t(2, 3, 2), false)),
                row("grid_sample: src must be 4D [N, C, H, W], got 3D [3, 5, 7]",
                        f -> GridSampler.sample(f.t(3, 5, 7), f.grid, f.dst, SamplerOptions.DEFAULT)),
                row("grid_sample: dst must be [N, C, H2, W2] = [2, 3, 4, 6], got [2, 3, 5, 7]",
                        f -> GridSampler.sample(f.src, f.grid, f.diffSrc, SamplerOptions.DEFAULT)),
                row("grid_sample: dst and src must not overlap in memory",
                        f -> GridSampler.sample(f.src, f.t(2, 5, 7, 2), f.src, SamplerOptions.DEFAULT)),
                row("affine transform: theta must be [N, 2, 3] = [2, 2, 3], got [1, 2, 3]",
                        f -> AffineSampler.transform(f.t(1, 2, 3), f.src, f.dst, SamplerOptions.DEFAULT)),
                row("stn2: C must be >= 1, got 0 (N=2, C=0, H=5, W=7, H2=4, W2=6)",
                        f -> AffineSampler.create(f.scope, "stn2", 2, 0, 5, 7, 4, 6, SamplerOptions.DEFAULT)),
                // 2^62 x 4 overflows a long to 0: each dim is checked before any product.
                row("stn2: src dimension H = 4611686018427387904 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; "
                        + "src dims [2, 3, 4611686018427387904, 4])",
                        f -> AffineSampler.create(f.scope, "stn2", 2, 3, 1L << 62, 4, 4, 6, SamplerOptions.DEFAULT)),
                row("grid2: dst [65536, 1, 256, 256] (N x C x H2 x W2) holds more than 2147483647 elements, the most one "
                        + "tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from batch N, channels C and the output size H2, W2",
                        f -> GridSampler.create(f.scope, "grid2", 1 << 16, 1, 5, 7, 256, 256, SamplerOptions.DEFAULT)),
                row("stn2: options must not be null (SamplerOptions.DEFAULT)",
                        f -> AffineSampler.create(f.scope, "stn2", 2, 3, 5, 7, 4, 6, null)),
                row("localization head: weights must be [6, ...] (6 = the entries of theta), got [5, 10]",
                        f -> LocalizationHead.initIdentity(f.t(5, 10), f.t(6))),
                row("loc: the localization output must be [N, 6] to be read as theta [N, 2, 3], got [2, 2, 3]",
                        f -> LocalizationHead.thetaView(f.scope, "loc", f.theta)));
    }

    private static Tensor nhwc(Fixture f) {
        return f.made.computeIfAbsent("nhwc", k -> {
            try (Scope tmp = Scope.open("nhwc")) {
                return Tensor.allocate(f.scope, "nhwc", MemoryDesc.of(tmp, DataType.F32, FormatTag.ACDB, 2, 3, 5, 7));
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void rejectedBeforeAnyWork(String message, Consumer<Fixture> call) {
        try (Scope scope = Scope.leakChecked("errors")) {
            Fixture f = new Fixture(scope);
            float[] marker = new float[2 * 3 * 4 * 6];
            java.util.Arrays.fill(marker, 7f);
            f.dst.copyFrom(marker);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> call.accept(f));
            assertEquals(message, e.getMessage());
            // Again, now that the row's own misshapen arguments exist: the rejected call creates nothing.
            long allocations = scope.allocations();
            int live = NativeResource.liveCount();
            assertThrows(IllegalArgumentException.class, () -> call.accept(f));
            assertEquals(allocations, scope.allocations(), "allocations");
            assertEquals(live, NativeResource.liveCount(), "live native resources");
            assertArrayEquals(marker, f.dst.toFloatArray(), "dst untouched");
        }
    }

    @Test
    void closedOwnersThrowIllegalState() {
        try (Scope scope = Scope.leakChecked("closed")) {
            Fixture f = new Fixture(scope);
            f.stn.close();
            f.sampler.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.stn.forward(f.theta, f.src, f.dst));
            assertEquals("AffineSampler 'stn' [2, 3, 5, 7] -> [2, 3, 4, 6] is closed", e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> f.sampler.forward(f.src, f.grid, f.dst));
            assertEquals("GridSampler 'sampler' [2, 3, 5, 7] -> [2, 3, 4, 6] bilinear is closed", e.getMessage());
        }
    }
}
