package dev.stride.ops.deform;

import static dev.stride.testing.Check.close;
import static dev.stride.testing.Check.count;

import static dev.stride.testing.Check.toDouble;
import static dev.stride.testing.Check.toFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.testing.Check;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.ops.deform.DeformConv2d.Params;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deformable convolution against a double-precision reference written from the formula, the plain
 * convolution it must reduce to with zero offsets (and a unit mask), and finite differences for every input.
 */
class DeformConvTest {

    /** name, input dims, settings, column cap in bytes (small caps force several chunks and a remainder). */
    static java.util.stream.Stream<Arguments> cases() {
        return java.util.stream.Stream.of(
                Arguments.of("v1 3x3 P1", new long[] {2, 3, 6, 7}, Params.of(4, 3).padding(1), DeformConv2d.DEFAULT_COLUMN_BYTES),
                Arguments.of("v2 3x3 P1", new long[] {2, 3, 6, 7}, Params.of(4, 3).padding(1).modulated(true),
                        DeformConv2d.DEFAULT_COLUMN_BYTES),
                Arguments.of("v1 3x2 S2 P1/0 Goff2 no bias", new long[] {1, 4, 9, 8},
                        Params.of(3, 3, 2).stride(2).padding(1, 0).offsetGroups(2).bias(false), DeformConv2d.DEFAULT_COLUMN_BYTES),
                Arguments.of("v2 dilation 2", new long[] {2, 2, 8, 8}, Params.of(3, 3).padding(2).dilation(2).modulated(true),
                        DeformConv2d.DEFAULT_COLUMN_BYTES),
                Arguments.of("v2 G2 Goff2 S2x1", new long[] {2, 4, 7, 5},
                        Params.of(6, 3).stride(2, 1).padding(1).groups(2).offsetGroups(2).modulated(true),
                        DeformConv2d.DEFAULT_COLUMN_BYTES),
                // 4*9*25*4 = 3600 bytes of columns per image: a 7200-byte cap gives chunks of 2 + 1 images
                Arguments.of("v2 G2 Goff4 chunks 2+1", new long[] {3, 4, 5, 5},
                        Params.of(4, 3).padding(1).groups(2).offsetGroups(4).modulated(true), 7200L),
                Arguments.of("v1 G3 one image per chunk", new long[] {3, 3, 5, 4},
                        Params.of(6, 3, 3).padding(1).dilation(1, 2).groups(3), 1L),
                // one weight group (the channels-last kernels) in chunks of 2 + 1 images, as above
                Arguments.of("v2 Goff2 chunks 2+1", new long[] {3, 4, 5, 5},
                        Params.of(4, 3).padding(1).offsetGroups(2).modulated(true), 7200L),
                Arguments.of("v2 one channel", new long[] {2, 1, 5, 5}, Params.of(2, 3).padding(1).modulated(true),
                        DeformConv2d.DEFAULT_COLUMN_BYTES),
                Arguments.of("v1 one channel, one pixel", new long[] {1, 1, 1, 1}, Params.of(1, 1),
                        DeformConv2d.DEFAULT_COLUMN_BYTES));
    }

    /** Random inputs of one case: float values, shared by the op under test and the double reference. */
    record Inputs(DeformGeometry g, float[] x, float[] off, float[] mask, float[] w, float[] b, float[] dy) {
        static Inputs random(String name, long[] src, Params p, long seed, int reach) {
            DeformGeometry g = DeformGeometry.of(name, src, p);
            SplittableRandom r = new SplittableRandom(seed);
            return new Inputs(g, DeformReference.uniform(r, count(g.src()), -1, 1), DeformReference.offsets(r, count(g.offset()), reach),
                    g.modulated() ? DeformReference.uniform(r, count(g.mask()), 0, 1) : null,
                    DeformReference.uniform(r, count(g.weights()), -1, 1),
                    g.bias() ? DeformReference.uniform(r, g.k(), -1, 1) : null, DeformReference.uniform(r, count(g.dst()), -1, 1));
        }
    }

    /** Outputs of the op under test: y and every gradient (null where the op has no such input). */
    record Outputs(float[] y, float[] dx, float[] doff, float[] dmask, float[] dw, float[] db) {}

    static Outputs run(String name, Params p, long cap, Inputs in) {
        DeformGeometry g = in.g();
        try (Scope scope = Scope.leakChecked(name); Stream s = Stream.create(scope);
                DeformConv2d op = DeformConv2d.create(scope, name, g.src(), p, cap)) {
            Tensor x = Tensor.of(scope, "x", in.x(), g.src());
            Tensor off = Tensor.of(scope, "offset", in.off(), g.offset());
            Tensor m = in.mask() == null ? null : Tensor.of(scope, "mask", in.mask(), g.mask());
            Tensor w = Tensor.of(scope, "w", in.w(), g.weights());
            Tensor b = in.b() == null ? null : Tensor.of(scope, "b", in.b(), g.biasDims());
            Tensor dy = Tensor.of(scope, "dy", in.dy(), g.dst());
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor doff = Tensor.zeros(scope, "doffset", g.offset());
            Tensor dm = m == null ? null : Tensor.zeros(scope, "dmask", g.mask());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = b == null ? null : Tensor.zeros(scope, "db", g.biasDims());
            op.forward(s, x, off, m, w, b, y);
            op.backward(s, x, off, m, w, dy, dx, doff, dm, dw, db);
            return new Outputs(y.toFloatArray(), dx.toFloatArray(), doff.toFloatArray(),
                    dm == null ? null : dm.toFloatArray(), dw.toFloatArray(), db == null ? null : db.toFloatArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardMatchesReference(String name, long[] src, Params p, long cap) {
        Inputs in = Inputs.random(name, src, p, 11, 2);
        DeformGeometry g = in.g();
        Outputs out = run(name, p, cap, in);
        double[] want = DeformReference.forward(g, toDouble(in.x()), toDouble(in.off()),
                in.mask() == null ? null : toDouble(in.mask()), toDouble(in.w()), in.b() == null ? null : toDouble(in.b()));
        close(name + " y", g.dst(), toFloat(want), out.y(), 1e-5, 1e-4);
    }

    /**
     * Finite differences of the double reference for every input (x, weights, bias, offsets, mask), at
     * offsets whose fractional parts lie in [0.1, 0.9] so no probe crosses a grid line.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(String name, long[] src, Params p, long cap) {
        Inputs in = Inputs.random(name, src, p, 23, 1);
        DeformGeometry g = in.g();
        Outputs out = run(name, p, cap, in);
        double[] x = toDouble(in.x());
        double[] off = toDouble(in.off());
        double[] m = in.mask() == null ? null : toDouble(in.mask());
        double[] w = toDouble(in.w());
        double[] b = in.b() == null ? null : toDouble(in.b());
        double[] dy = toDouble(in.dy());
        double h = 1e-3;
        double atol = 2e-4;
        double rtol = 1e-3;
        Check.gradient("x", g.src(), v -> DeformReference.forward(g, v, off, m, w, b), x, dy, out.dx(), h, atol, rtol, DeformReference.MAX_PROBES);
        Check.gradient("offset", g.offset(), v -> DeformReference.forward(g, x, v, m, w, b), off, dy, out.doff(), h, atol, rtol, DeformReference.MAX_PROBES);
        if (m != null) {
            Check.gradient("mask", g.mask(), v -> DeformReference.forward(g, x, off, v, w, b), m, dy, out.dmask(), h, atol, rtol, DeformReference.MAX_PROBES);
        }
        Check.gradient("weights", g.weights(), v -> DeformReference.forward(g, x, off, m, v, b), w, dy, out.dw(), h, atol, rtol, DeformReference.MAX_PROBES);
        if (b != null) {
            Check.gradient("bias", g.biasDims(), v -> DeformReference.forward(g, x, off, m, w, v), b, dy, out.db(), h, atol, rtol, DeformReference.MAX_PROBES);
        }
    }

    /**
     * Metamorphic: with zero offsets (and a unit mask) every sample falls on the regular grid, so forward,
     * data gradient and weight/bias gradients equal oneDNN's plain convolution of the same settings.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void zeroOffsetsEqualPlainConvolution(String name, long[] src, Params p, long cap) {
        Inputs random = Inputs.random(name, src, p, 37, 0);
        DeformGeometry g = random.g();
        float[] ones = null;
        if (g.modulated()) {
            ones = new float[(int) count(g.mask())];
            Arrays.fill(ones, 1f);
        }
        Inputs in = new Inputs(g, random.x(), new float[(int) count(g.offset())], ones, random.w(), random.b(), random.dy());
        Outputs out = run(name, p, cap, in);

        Convolution.Params cp = Convolution.Params.of((int) g.k(), g.kh(), g.kw()).stride(g.sh(), g.sw())
                .padding(g.ph(), g.pw()).dilation(g.dh(), g.dw()).groups(g.groups()).bias(g.bias());
        try (Scope scope = Scope.leakChecked(name + " conv"); Stream s = Stream.create(scope);
                Convolution.Forward fwd = Convolution.Forward.create(scope, name, g.src(), cp);
                Convolution.BackwardData bd = Convolution.BackwardData.create(scope, name, fwd);
                Convolution.BackwardWeights bw = Convolution.BackwardWeights.create(scope, name, fwd)) {
            Convolution.Geometry cg = fwd.geometry();
            assertEquals(count(g.weights()), count(cg.weights()), "grouped weights are the same bytes");
            Tensor x = Tensor.of(scope, "x", in.x(), g.src());
            Tensor w = Tensor.of(scope, "w", in.w(), cg.weights());
            Tensor b = in.b() == null ? null : Tensor.of(scope, "b", in.b(), g.biasDims());
            Tensor dy = Tensor.of(scope, "dy", in.dy(), g.dst());
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor dw = Tensor.zeros(scope, "dw", cg.weights());
            Tensor db = b == null ? null : Tensor.zeros(scope, "db", g.biasDims());
            fwd.executePlain(s, x, w, b, y);
            bd.executePlain(s, dy, w, dx);
            bw.executePlain(s, x, dy, dw, db);
            close(name + " y", g.dst(), y.toFloatArray(), out.y(), 1e-5, 1e-5);
            close(name + " dx", g.src(), dx.toFloatArray(), out.dx(), 1e-5, 1e-5);
            close(name + " dw", g.weights(), dw.toFloatArray(), out.dw(), 1e-5, 1e-5);
            if (db != null) {
                close(name + " db", g.biasDims(), db.toFloatArray(), out.db(), 1e-5, 1e-5);
            }
        }
    }

    /** After creation, forward and backward allocate no native memory and create no native resource. */
    @Test
    void callsAfterCreationAllocateNothing() {
        long[] src = {3, 4, 6, 6};
        Params p = Params.of(4, 3).padding(1).groups(2).offsetGroups(2).modulated(true);
        Inputs in = Inputs.random("noalloc", src, p, 5, 1);
        DeformGeometry g = in.g();
        try (Scope scope = Scope.leakChecked("noalloc"); Stream s = Stream.create(scope)) {
            Tensor x = Tensor.of(scope, "x", in.x(), g.src());
            Tensor off = Tensor.of(scope, "offset", in.off(), g.offset());
            Tensor m = Tensor.of(scope, "mask", in.mask(), g.mask());
            Tensor w = Tensor.of(scope, "w", in.w(), g.weights());
            Tensor b = Tensor.of(scope, "b", in.b(), g.biasDims());
            Tensor dy = Tensor.of(scope, "dy", in.dy(), g.dst());
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            Tensor doff = Tensor.zeros(scope, "doffset", g.offset());
            Tensor dm = Tensor.zeros(scope, "dmask", g.mask());
            Tensor dw = Tensor.zeros(scope, "dw", g.weights());
            Tensor db = Tensor.zeros(scope, "db", g.biasDims());
            // two images per chunk: a full chunk and a remainder, both prepared at creation
            DeformConv2d op = DeformConv2d.create(scope, "noalloc", g.src(), p, 2 * 4 * 9 * 36 * 4);
            assertEquals(2, op.imagesPerChunk());
            long allocations = scope.allocations();
            int live = NativeResource.liveCount();
            long liveBytes = NativeResource.liveBytes();
            float[] first = null;
            for (int i = 0; i < 3; i++) {
                op.forward(s, x, off, m, w, b, y);
                op.backward(s, x, off, m, w, dy, dx, doff, dm, dw, db);
                if (first == null) {
                    first = dw.toFloatArray();
                    // toFloatArray of a plain tensor copies onto the heap only
                }
            }
            assertEquals(allocations, scope.allocations(), "resources created in the owning scope by calls");
            assertEquals(live, NativeResource.liveCount(), "native resources live after the calls");
            assertEquals(liveBytes, NativeResource.liveBytes(), "native bytes live after the calls");
            // gradients are overwritten, not accumulated, by repeated calls
            close("dw repeated", g.weights(), first, dw.toFloatArray(), 0, 0);
        }
    }

    /** Skipped outputs (null) do not change the others. */
    @Test
    void nullGradientsAreSkipped() {
        long[] src = {2, 2, 5, 5};
        Params p = Params.of(2, 3).padding(1).modulated(true);
        Inputs in = Inputs.random("skip", src, p, 9, 1);
        Outputs all = run("skip", p, DeformConv2d.DEFAULT_COLUMN_BYTES, in);
        DeformGeometry g = in.g();
        try (Scope scope = Scope.leakChecked("skip"); Stream s = Stream.create(scope);
                DeformConv2d op = DeformConv2d.create(scope, "skip", g.src(), p)) {
            Tensor x = Tensor.of(scope, "x", in.x(), g.src());
            Tensor off = Tensor.of(scope, "offset", in.off(), g.offset());
            Tensor m = Tensor.of(scope, "mask", in.mask(), g.mask());
            Tensor w = Tensor.of(scope, "w", in.w(), g.weights());
            Tensor dy = Tensor.of(scope, "dy", in.dy(), g.dst());
            Tensor dm = Tensor.zeros(scope, "dmask", g.mask());
            Tensor dx = Tensor.zeros(scope, "dx", g.src());
            op.backward(s, x, off, m, w, dy, null, null, dm, null, null);
            close("dmask alone", g.mask(), all.dmask(), dm.toFloatArray(), 0, 0);
            op.backward(s, x, off, m, w, dy, dx, null, null, null, null);
            close("dx alone", g.src(), all.dx(), dx.toFloatArray(), 0, 0);
        }
    }

    /** The one-off static functions give the owner's results. */
    @Test
    void oneOffFunctionsMatchTheOwner() {
        long[] src = {2, 4, 5, 7};
        Params p = Params.of(3, 3).stride(2).padding(1).offsetGroups(2).modulated(true);
        Inputs in = Inputs.random("once", src, p, 3, 1);
        Outputs owner = run("once", p, DeformConv2d.DEFAULT_COLUMN_BYTES, in);
        DeformGeometry g = in.g();
        try (Scope scope = Scope.leakChecked("once"); Stream s = Stream.create(scope)) {
            Tensor x = Tensor.of(scope, "x", in.x(), g.src());
            Tensor off = Tensor.of(scope, "offset", in.off(), g.offset());
            Tensor m = Tensor.of(scope, "mask", in.mask(), g.mask());
            Tensor w = Tensor.of(scope, "w", in.w(), g.weights());
            Tensor b = Tensor.of(scope, "b", in.b(), g.biasDims());
            Tensor dy = Tensor.of(scope, "dy", in.dy(), g.dst());
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            Tensor doff = Tensor.zeros(scope, "doffset", g.offset());
            Tensor db = Tensor.zeros(scope, "db", g.biasDims());
            DeformConv2d.forwardOnce(s, p, x, off, m, w, b, y);
            DeformConv2d.backwardOnce(s, p, x, off, m, w, dy, null, doff, null, null, db);
            close("y", g.dst(), owner.y(), y.toFloatArray(), 0, 0);
            close("doffset", g.offset(), owner.doff(), doff.toFloatArray(), 0, 0);
            close("db", g.biasDims(), owner.db(), db.toFloatArray(), 0, 0);
        }
    }

    /** Invalid settings: name, input dims, settings, the exact message. */
    static java.util.stream.Stream<Arguments> badSettings() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {1, 6, 5, 5}, Params.of(4, 3).groups(4),
                        "dc: input channels C=6 (input [1, 6, 5, 5]) are not divisible by groups G=4"),
                Arguments.of(new long[] {1, 6, 5, 5}, Params.of(4, 3).offsetGroups(4),
                        "dc: input channels C=6 (input [1, 6, 5, 5]) are not divisible by offset groups G_off=4"),
                Arguments.of(new long[] {1, 6, 5, 5}, Params.of(5, 3).groups(2),
                        "dc: filters K=5 are not divisible by groups G=2"),
                Arguments.of(new long[] {1, 6, 6, 5}, Params.of(4, 3).stride(2),
                        "dc: H2 = (H1 - F + 2P)/S + 1 = (6 - 3 + 0)/2 + 1 = 2.5 is not an integer"),
                Arguments.of(new long[] {6, 5, 5}, Params.of(4, 3), "dc: expected 4D input (got 3D: [6, 5, 5])"),
                Arguments.of(new long[] {1L << 31, 2, 5, 5}, Params.of(4, 3),
                        "dc: src dimension N = 2147483648 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; src dims [2147483648, 2, 5, 5])"),
                Arguments.of(new long[] {1, 2, 5, 5}, Params.of(Integer.MAX_VALUE, 3),
                        "dc: weights [2147483647, 2, 3, 3] (K x C/G x KH x KW) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from filters K, input channels C, groups G and extent F"),
                Arguments.of(new long[] {1 << 16, 2, 5, 5}, Params.of(1 << 16, 3),
                        "dc: dst [65536, 65536, 3, 3] (N x K x H2 x W2) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from batch N, filters K and the input's H, W with padding P, extent F, stride S and dilation"),
                // dst 2^23 x 1 x 5 x 5 fits; the offset, 18 channels of it, does not.
                Arguments.of(new long[] {1 << 23, 2, 5, 5}, Params.of(1, 3).padding(1),
                        "dc: offset [8388608, 18, 5, 5] (N x 2*G_off*KH*KW x H2 x W2) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from batch N, offset groups G_off, extent F and the output's H2, W2"));
    }

    @ParameterizedTest
    @MethodSource("badSettings")
    void badSettingsAreRejectedBeforeAnyAllocation(long[] src, Params p, String message) {
        try (Scope scope = Scope.leakChecked("bad")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DeformConv2d.create(scope, "dc", src, p));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations());
        }
    }

    /** Tensors of the wrong shape: rejected with expected and actual shapes, before anything is written. */
    @Test
    void badTensorsAreRejectedBeforeAnyWork() {
        long[] src = {2, 4, 5, 5};
        Params v2 = Params.of(4, 3).padding(1).offsetGroups(2).modulated(true);
        Params v1 = Params.of(4, 3).padding(1);
        try (Scope scope = Scope.leakChecked("bad tensors"); Stream s = Stream.create(scope);
                DeformConv2d op = DeformConv2d.create(scope, "dc", src, v2);
                DeformConv2d op1 = DeformConv2d.create(scope, "dc1", src, v1)) {
            Tensor x = Tensor.zeros(scope, "x", src);
            Tensor off = Tensor.zeros(scope, "offset", 2, 36, 5, 5);
            Tensor offWrong = Tensor.zeros(scope, "offset9", 2, 18, 5, 5);
            Tensor m = Tensor.zeros(scope, "mask", 2, 18, 5, 5);
            Tensor mWrong = Tensor.zeros(scope, "mask9", 2, 9, 5, 5);
            Tensor w = Tensor.of(scope, "w", filled(4 * 4 * 9, 1f), 4, 4, 3, 3);
            Tensor b = Tensor.zeros(scope, "b", 4);
            Tensor y = Tensor.of(scope, "y", filled(2 * 4 * 25, 7f), 2, 4, 5, 5);
            Tensor yWrong = Tensor.zeros(scope, "y3", 2, 4, 3, 3);
            long allocations = scope.allocations();

            expect("dc: expected offset [2, 36, 5, 5] (N x 2*G_off*KH*KW x H2 x W2 = 2 x 2*2*3*3 x 5 x 5), got [2, 18, 5, 5]",
                    () -> op.forward(s, x, offWrong, m, w, b, y));
            expect("dc: expected mask [2, 18, 5, 5] (N x G_off*KH*KW x H2 x W2 = 2 x 2*3*3 x 5 x 5), got [2, 9, 5, 5]",
                    () -> op.forward(s, x, off, mWrong, w, b, y));
            expect("dc: modulated (v2) deformable convolution needs a mask [2, 18, 5, 5] (N x G_off*KH*KW x H2 x W2 = 2 x 2*3*3 x 5 x 5)",
                    () -> op.forward(s, x, off, null, w, b, y));
            expect("dc1: got a mask [2, 18, 5, 5] but this deformable convolution is v1 (not modulated)",
                    () -> op1.forward(s, x, offWrong, m, w, b, y));
            expect("dc: expected dst [2, 4, 5, 5] (N x K x H2 x W2), got [2, 4, 3, 3]",
                    () -> op.forward(s, x, off, m, w, b, yWrong));
            expect("dc: expected diffOffset [2, 36, 5, 5] (N x 2*G_off*KH*KW x H2 x W2 = 2 x 2*2*3*3 x 5 x 5), got [2, 18, 5, 5]",
                    () -> op.backward(s, x, off, m, w, y, null, offWrong, null, null, null));
            expect("deform_conv2d: expected offset [2, 36, 5, 5] (N x 2*G_off*KH*KW x H2 x W2 = 2 x 2*2*3*3 x 5 x 5), got [2, 18, 5, 5]",
                    () -> DeformConv2d.forwardOnce(s, v2, x, offWrong, m, w, b, y));
            expect("deform_conv2d: expected weights [4, 2, 3, 3] (K x C/G x KH x KW = 4 x 4/2 x 3 x 3), got [4, 4, 3, 3]",
                    () -> DeformConv2d.forwardOnce(s, v2.groups(2), x, off, m, w, b, y));
            assertEquals(allocations, scope.allocations());
            for (float v : y.toFloatArray()) {
                assertEquals(7f, v, "dst untouched by a rejected call");
            }
        }
    }

    private static void expect(String message, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals(message, e.getMessage());
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    @Test
    void describesItself() {
        try (Scope scope = Scope.leakChecked("describe")) {
            DeformConv2d op = DeformConv2d.create(scope, "dc", new long[] {8, 64, 28, 28}, Params.of(64, 3).padding(1));
            assertEquals(8, op.imagesPerChunk());
            assertEquals(64L * 9 * 8 * 784 * 4, op.columnBytes());
            assertTrue(op.describe().contains("[8, 64, 28, 28] -> [8, 64, 28, 28] (v1, 8 image(s) per chunk)"), op.describe());
            assertEquals("K=64, F=3, P=1, groups=2, offsetGroups=4, modulated",
                    Params.of(64, 3).padding(1).groups(2).offsetGroups(4).modulated(true).toString());
            op.close();
        }
    }
}
