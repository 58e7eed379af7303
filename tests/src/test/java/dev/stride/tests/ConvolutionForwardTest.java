package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.eltwise.Eltwise;
import dev.stride.testing.Check;
import dev.stride.conv.Convolution.Params;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.ExecArgs;
import dev.stride.core.PostOps;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.util.SplittableRandom;
import java.util.stream.Stream.Builder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Convolution forward through oneDNN against naive loops from the formula. */
class ConvolutionForwardTest {

    static java.util.stream.Stream<Arguments> shapes() {
        Builder<Arguments> b = java.util.stream.Stream.builder();
        b.add(Arguments.of("3x3 s1 p1", new long[] {2, 3, 8, 8}, Params.of(4, 3).padding(1)));
        b.add(Arguments.of("odd 7x9, 5x5 s2 p2", new long[] {1, 3, 7, 9}, Params.of(5, 5).stride(2).padding(2)));
        b.add(Arguments.of("stride 2 no pad", new long[] {3, 2, 9, 9}, Params.of(6, 3).stride(2)));
        b.add(Arguments.of("no bias", new long[] {2, 4, 6, 6}, Params.of(8, 3).padding(1).bias(false)));
        b.add(Arguments.of("asymmetric pad", new long[] {1, 2, 6, 7}, Params.of(3, 3).padding(new int[] {0, 1}, new int[] {1, 2})));
        b.add(Arguments.of("1x3 rect, stride (1,2)", new long[] {2, 3, 5, 9}, Params.of(4, 1, 3).stride(1, 2).padding(0, 1)));
        b.add(Arguments.of("same 5x5", new long[] {2, 1, 28, 28}, Params.of(8, 5).samePadding()));
        b.add(Arguments.of("same 3x3 s2 even", new long[] {1, 2, 8, 8}, Params.of(4, 3).stride(2).samePadding()));
        b.add(Arguments.of("dilation 2", new long[] {2, 3, 11, 11}, Params.of(4, 3).dilation(2).padding(2)));
        b.add(Arguments.of("dilation 3 s2", new long[] {1, 4, 15, 15}, Params.of(4, 3).dilation(3).stride(2)));
        b.add(Arguments.of("groups 2", new long[] {2, 8, 6, 6}, Params.of(6, 3).groups(2).padding(1)));
        b.add(Arguments.of("depthwise", new long[] {2, 16, 7, 7}, Params.of(16, 3).groups(16).padding(1)));
        b.add(Arguments.of("1x1", new long[] {4, 32, 5, 5}, Params.of(16, 1)));
        b.add(Arguments.of("3d 3x3x3 p1", new long[] {2, 3, 5, 6, 7}, Params.of(4, 3).padding(1)));
        b.add(Arguments.of("3d s2 groups 2", new long[] {1, 4, 7, 7, 7}, Params.of(4, 3).stride(2).groups(2)));
        b.add(Arguments.of("wide 64->64 56x56 batch 1", new long[] {1, 64, 14, 14}, Params.of(64, 3).padding(1)));
        return b.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void matchesNaiveReference(String label, long[] srcDims, Params p) {
        SplittableRandom r = new SplittableRandom(label.hashCode());
        Convolution.Geometry g = Convolution.Geometry.of(label, srcDims, p);
        float[] src = Check.random(r, Check.count(g.src()));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = g.bias() == null ? null : Check.random(r, g.bias()[0]);
        float[] want = ConvolutionReference.forward(g, src, w, bias);
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", srcDims, p);
                Tensor x = Tensor.of(scope, "x", src, srcDims); Tensor wt = Tensor.of(scope, "w", w, g.weights());
                Tensor y = Tensor.zeros(scope, "y", g.dst())) {
            Tensor b = bias == null ? null : Tensor.of(scope, "b", bias, g.bias());
            conv.executePlain(s, x, wt, b, y);
            assertClose(want, y.toFloatArray(), 1e-4f, label);
        }
    }

    @Test
    void blockedLayoutsStayBlockedAndReorderOnlyAtTheEdges() {
        long[] dims = {2, 16, 10, 10};
        Params p = Params.of(32, 3).padding(1);
        Convolution.Geometry g = Convolution.Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(7);
        float[] src = Check.random(r, Check.count(dims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = Check.random(r, 32);
        try (Scope scope = Scope.leakChecked("blocked"); Stream s = Stream.create(scope);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", dims, p)) {
            Tensor x = Tensor.of(scope, "x", src, dims).reorder(scope, conv.srcDesc(), s);
            Tensor wt = Tensor.of(scope, "w", w, g.weights()).reorder(scope, conv.weightsDesc(), s);
            Tensor b = Tensor.of(scope, "b", bias, 32);
            Tensor y = Tensor.allocate(scope, "y", conv.dstDesc());
            ExecArgs args = conv.bind(scope, x, wt, b, y);
            for (int i = 0; i < 3; i++) {
                conv.execute(s, args);
            }
            s.await();
            assertClose(ConvolutionReference.forward(g, src, w, bias), y.toFloatArray(), 1e-4f, "blocked");
        }
    }

    @Test
    void reluPostOpIsFused() {
        long[] dims = {1, 8, 6, 6};
        Params p = Params.of(8, 3).padding(1);
        Convolution.Geometry g = Convolution.Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(3);
        float[] src = Check.random(r, Check.count(dims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = Check.random(r, 8);
        float[] want = ConvolutionReference.forward(g, src, w, bias);
        for (int i = 0; i < want.length; i++) want[i] = Math.max(0, want[i]);
        try (Scope scope = Scope.leakChecked("relu"); Stream s = Stream.create(scope);
                PostOps ops = PostOps.create(scope).eltwise(Eltwise.Algorithm.RELU, 0, 0);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv+relu", dims, p,
                        PropKind.INFERENCE, ops)) {
            Tensor y = Tensor.zeros(scope, "y", g.dst());
            conv.executePlain(s, Tensor.of(scope, "x", src, dims), Tensor.of(scope, "w", w, g.weights()),
                    Tensor.of(scope, "b", bias, 8), y);
            float[] got = y.toFloatArray();
            assertClose(want, got, 1e-4f, "relu");
            assertTrue(min(got) >= 0);
        }
    }

    /**
     * The residual add of a ResNet block fused into the convolution: {@code dst = conv(x) + dst_before}, then
     * (second row) ReLU over the sum. Plain user tensors, so executePlain must carry the prior {@code dst}
     * into the blocked layout the primitive chose.
     */
    @ParameterizedTest(name = "sum scale {0}, relu {1}")
    @org.junit.jupiter.params.provider.CsvSource({"1.0, false", "1.0, true", "0.5, false"})
    void sumPostOpAccumulatesOntoThePreviousDst(float scale, boolean relu) {
        long[] dims = {2, 16, 7, 7};
        Params p = Params.of(16, 3).padding(1);
        Convolution.Geometry g = Convolution.Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(17);
        float[] src = Check.random(r, Check.count(dims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] bias = Check.random(r, 16);
        float[] shortcut = Check.random(r, Check.count(g.dst()));
        float[] want = ConvolutionReference.forward(g, src, w, bias);
        for (int i = 0; i < want.length; i++) {
            want[i] += scale * shortcut[i];
            if (relu) want[i] = Math.max(0, want[i]);
        }
        try (Scope scope = Scope.leakChecked("sum"); Stream s = Stream.create(scope);
                PostOps ops = PostOps.create(scope).sum(scale)) {
            if (relu) ops.eltwise(Eltwise.Algorithm.RELU, 0, 0);
            try (Convolution.Forward conv = Convolution.Forward.create(scope, "conv+sum", dims, p, PropKind.TRAINING, ops)) {
                assertTrue(conv.accumulatesIntoDst());
                Tensor y = Tensor.of(scope, "y", shortcut, g.dst());
                conv.executePlain(s, Tensor.of(scope, "x", src, dims), Tensor.of(scope, "w", w, g.weights()),
                        Tensor.of(scope, "b", bias, 16), y);
                assertClose(want, y.toFloatArray(), 1e-4f, "sum");
            }
        }
    }

    /** The bound path: the shortcut lives in the chosen dst layout and each execution adds onto it again. */
    @Test
    void sumPostOpWithBoundTensorsAccumulatesEveryExecution() {
        long[] dims = {1, 16, 6, 6};
        Params p = Params.of(16, 3).padding(1).bias(false);
        Convolution.Geometry g = Convolution.Geometry.of("c", dims, p);
        SplittableRandom r = new SplittableRandom(19);
        float[] src = Check.random(r, Check.count(dims));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] shortcut = Check.random(r, Check.count(g.dst()));
        float[] conv1 = ConvolutionReference.forward(g, src, w, null);
        float[] want = new float[conv1.length];
        for (int i = 0; i < want.length; i++) want[i] = shortcut[i] + 2 * conv1[i];
        try (Scope scope = Scope.leakChecked("sum-bound"); Stream s = Stream.create(scope);
                PostOps ops = PostOps.create(scope).sum(1.0f);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv+sum", dims, p, PropKind.TRAINING, ops)) {
            Tensor x = Tensor.of(scope, "x", src, dims).reorder(scope, conv.srcDesc(), s);
            Tensor wt = Tensor.of(scope, "w", w, g.weights()).reorder(scope, conv.weightsDesc(), s);
            Tensor y = Tensor.of(scope, "shortcut", shortcut, g.dst()).reorder(scope, conv.dstDesc(), s);
            ExecArgs args = conv.bind(scope, x, wt, null, y);
            conv.execute(s, args);
            conv.execute(s, args);
            s.await();
            assertClose(want, y.toFloatArray(), 1e-4f, "sum twice");
        }
    }

    @Test
    void eltwiseOnlyPostOpsDoNotReadDst() {
        try (Scope scope = Scope.leakChecked("no-sum");
                PostOps ops = PostOps.create(scope).eltwise(Eltwise.Algorithm.RELU, 0, 0);
                Convolution.Forward conv = Convolution.Forward.create(scope, "conv", new long[] {1, 2, 5, 5},
                        Params.of(2, 3), PropKind.INFERENCE, ops);
                Convolution.Forward plain = Convolution.Forward.create(scope, "conv", new long[] {1, 2, 5, 5}, Params.of(2, 3))) {
            org.junit.jupiter.api.Assertions.assertFalse(conv.accumulatesIntoDst());
            org.junit.jupiter.api.Assertions.assertFalse(plain.accumulatesIntoDst());
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {1, 1, 29, 28}, Params.of(4, 5).stride(2),
                        "conv1: W2 = (W1 - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5 is not an integer"),
                Arguments.of(new long[] {1, 30, 8, 8}, Params.of(8, 3).groups(4),
                        "conv1: input channels 30 not divisible by groups 4"),
                Arguments.of(new long[] {1, 8, 8, 8}, Params.of(6, 3).groups(4),
                        "conv1: filters K=6 not divisible by groups 4"),
                Arguments.of(new long[] {1, 28, 28}, Params.of(4, 3),
                        "conv1: expected 4D or 5D input (got 3D: [1, 28, 28])"),
                Arguments.of(new long[] {1, 1, 8, 4}, Params.of(4, 7),
                        "conv1: W2 = (W1 - F + 2P)/S + 1 = (4 - 7 + 0)/1 + 1 = -2 is not positive: the window (7 wide) is larger than the padded input (4)"),
                Arguments.of(new long[] {1, 1, 11, 10}, Params.of(4, 3).dilation(2).stride(2),
                        "conv1: W2 = (W1 - D*(F-1) - 1 + 2P)/S + 1 = (10 - 2*(3-1) - 1 + 0)/2 + 1 = 3.5 is not an integer"),
                Arguments.of(new long[] {1, 1, 9, 10}, Params.of(4, 3).padding(new int[] {1, 0}, new int[] {0, 0}).stride(2),
                        "conv1: H2 = (H1 - F + PL + PR)/S + 1 = (9 - 3 + 1 + 0)/2 + 1 = 4.5 is not an integer"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(0, 3), "conv1: filters K must be >= 1, got 0"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(2, 3).stride(0), "conv1: stride SH must be >= 1, got 0"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(2, 3).dilation(0), "conv1: dilation H must be >= 1 (1 = none), got 0"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(2, 3, 3, 3), "conv1: extent F needs 1 or 2 values, got [3, 3, 3]"),
                Arguments.of(new long[] {1, 1, 8, 8}, Params.of(2, 3).padding(-1), "conv1: padding PH must be >= 0, got -1"),
                Arguments.of(new long[] {1, 1L << 31, 8, 8}, Params.of(2, 3),
                        "conv1: src dimension C = 2147483648 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; src dims [1, 2147483648, 8, 8])"),
                Arguments.of(new long[] {1, 0, 8, 8}, Params.of(2, 3),
                        "conv1: src dimension C = 0 must be positive (src dims [1, 0, 8, 8])"),
                Arguments.of(new long[] {1, 4, 8, 8}, Params.of(1 << 30, 1).groups(2),
                        "conv1: weights [2, 536870912, 2, 1, 1] (G x K/G x C/G x FH x FW) holds more than 2147483647 elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from filters K, input channels C, groups and extent F"),
                Arguments.of(new long[] {1, 3, 8, 8}, Params.of(2, 3).padding(Integer.MAX_VALUE),
                        "conv1: dst dimension H2 = 4294967300 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; dst dims [1, 2, 4294967300, 4294967300]); it follows from batch N, filters K and the input's spatial dims with padding P, extent F, stride S and dilation"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidConfigurationsFailBeforeAnyNativeCallQuotingTheFormula(long[] dims, Params p, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Convolution.Forward.create(scope, "conv1", dims, p));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    @Test
    void parameterCountFollowsTheSeed() {
        // F*F*D1/G weights per filter, K biases: 3*3*64/1*128 + 128.
        assertEquals(3 * 3 * 64 * 128 + 128, Convolution.Geometry.of("c", new long[] {1, 64, 8, 8}, Params.of(128, 3).padding(1)).parameterCount());
        assertEquals(3 * 3 * 64 / 8 * 64 + 64, Convolution.Geometry.of("c", new long[] {1, 64, 8, 8}, Params.of(64, 3).padding(1).groups(8)).parameterCount());
        assertArrayEquals(new long[] {8, 8, 8, 3, 3}, Convolution.Geometry.of("c", new long[] {1, 64, 8, 8}, Params.of(64, 3).padding(1).groups(8)).weights());
    }

    static float min(float[] v) {
        float m = Float.MAX_VALUE;
        for (float x : v) m = Math.min(m, x);
        return m;
    }

    static void assertClose(float[] want, float[] got, float tol, String label) {
        assertEquals(want.length, got.length, label + ": length");
        for (int i = 0; i < want.length; i++) {
            float err = Math.abs(want[i] - got[i]);
            if (err > tol * Math.max(1, Math.abs(want[i]))) {
                throw new AssertionError(label + ": element " + i + " expected " + want[i] + " got " + got[i]
                        + " (|err| " + err + ")");
            }
        }
    }
}
