package dev.stride.tests;

import static dev.stride.tests.TensorOpsReference.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Concat;
import dev.stride.tensor.Layouts;
import dev.stride.tensor.Steps;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Concatenation forward and its sub-memory backward against naive references and finite differences. */
class ConcatTest {

    static java.util.stream.Stream<Arguments> shapes() {
        return java.util.stream.Stream.of(
                Arguments.of(0, new long[][] {{1, 3, 4, 5}, {3, 3, 4, 5}}),
                Arguments.of(1, new long[][] {{2, 3, 5, 5}, {2, 7, 5, 5}, {2, 1, 5, 5}}),
                Arguments.of(1, new long[][] {{1, 4, 3, 3}}),
                Arguments.of(3, new long[][] {{2, 3, 4, 2}, {2, 3, 4, 5}}),
                Arguments.of(2, new long[][] {{2, 2, 1, 3}, {2, 2, 6, 3}, {2, 2, 2, 3}}),
                Arguments.of(1, new long[][] {{2, 5}, {2, 9}}),
                Arguments.of(1, new long[][] {{1, 2, 3, 3, 3}, {1, 3, 3, 3, 3}}));
    }

    @ParameterizedTest(name = "axis {0}")
    @MethodSource("shapes")
    void forwardAndBackwardMatchTheReference(int axis, long[][] dims) {
        SplittableRandom r = new SplittableRandom(axis * 131L + dims.length);
        float[][] xs = new float[dims.length][];
        double[][] xd = new double[dims.length][];
        for (int i = 0; i < dims.length; i++) {
            xs[i] = Check.random(r, count(dims[i]));
            xd[i] = Check.toDouble(xs[i]);
        }
        long[] out = Concat.outputDims("cat", axis, dims);
        double[] want = TensorOpsReference.concat(axis, dims, xd);
        float[] dy = Check.random(r, count(out));
        float[][] dx = new float[dims.length][];
        try (Scope scope = Scope.leakChecked("concat"); Stream s = Stream.create(scope);
                Concat.Forward f = Concat.Forward.create(scope, "cat", axis, dims);
                Concat.Backward b = Concat.Backward.create(scope, "cat.bwd", f)) {
            Tensor[] in = new Tensor[dims.length];
            for (int i = 0; i < dims.length; i++) in[i] = Tensor.of(scope, "x" + i, xs[i], dims[i]);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, y, in));
            s.await();
            Check.close("concat axis " + axis, out, Check.toFloat(want), y.toFloatArray(), 0, 0);

            Tensor tdy = Tensor.allocate(scope, "dy", b.diffDstDesc());
            tdy.copyFrom(dy);
            Tensor[] g = new Tensor[dims.length];
            for (int i = 0; i < dims.length; i++) g[i] = Tensor.allocate(scope, "dx" + i, b.diffSrcDesc(i));
            b.execute(s, b.bind(scope, tdy, g));
            s.await();
            for (int i = 0; i < dims.length; i++) dx[i] = g[i].toFloatArray();
        }
        for (int p = 0; p < dims.length; p++) {
            final int piece = p;
            Check.gradient("concat d/dx" + p, dims[p], x -> {
                double[][] all = xd.clone();
                all[piece] = x;
                return TensorOpsReference.concat(axis, dims, all);
            }, xd[p], Check.toDouble(dy), dx[p], 1e-3, 1e-5, 1e-5);
        }
    }

    @Test
    void denseBlockChannelsInABlockedLayoutStayBlockedInTheBackward() {
        // Two conv outputs of 16 and 32 channels (nChw16c): windows start on block boundaries.
        long[] in = {2, 8, 6, 6};
        SplittableRandom r = new SplittableRandom(3);
        try (Scope scope = Scope.leakChecked("dense"); Stream s = Stream.create(scope);
                Convolution.Forward c1 = Convolution.Forward.create(scope, "c1", in, Convolution.Params.of(16, 3).padding(1));
                Convolution.Forward c2 = Convolution.Forward.create(scope, "c2", in, Convolution.Params.of(32, 3).padding(1))) {
            MemoryDesc a = c1.dstDesc();
            MemoryDesc b = c2.dstDesc();
            Concat.Forward f = Concat.Forward.create(scope, "cat", 1, a, b);
            Concat.Backward bwd = Concat.Backward.create(scope, "cat.bwd", f);
            assertTrue(bwd.diffDstDesc().sameAs(f.dstDesc()), "diff_dst keeps the forward's layout "
                    + f.dstDesc().shapeString() + " vs " + bwd.diffDstDesc().shapeString());
            long[][] dims = {a.dims(), b.dims()};
            float[] xa = Check.random(r, count(dims[0]));
            float[] xb = Check.random(r, count(dims[1]));
            Tensor ta = Tensor.allocate(scope, "a", a);
            ta.copyFrom(xa);
            Tensor tb = Tensor.allocate(scope, "b", b);
            tb.copyFrom(xb);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            ExecArgs args = f.bind(scope, y, ta, tb);
            f.execute(s, args);
            s.await();
            double[] want = TensorOpsReference.concat(1, dims, new double[][] {Check.toDouble(xa), Check.toDouble(xb)});
            Check.close("blocked concat", f.dstDesc().dims(), Check.toFloat(want), y.toFloatArray(), 0, 0);
            // Backward of y itself gives back the pieces.
            Tensor ga = Tensor.allocate(scope, "ga", bwd.diffSrcDesc(0));
            Tensor gb = Tensor.allocate(scope, "gb", bwd.diffSrcDesc(1));
            bwd.execute(s, bwd.bind(scope, y, ga, gb));
            s.await();
            Check.close("slice 0", dims[0], xa, ga.toFloatArray(), 0, 0);
            Check.close("slice 1", dims[1], xb, gb.toFloatArray(), 0, 0);
        }
    }

    @Test
    void windowsOffBlockBoundariesFallBackToPlainDiffDst() {
        // 3 plain channels then 16 blocked ones, written into a blocked 19-channel buffer (the layout a conv
        // with 19 filters picks): the second window starts at channel 3, inside a block.
        long[] in = {1, 4, 5, 5};
        try (Scope scope = Scope.leakChecked("unaligned"); Stream s = Stream.create(scope);
                Convolution.Forward c1 = Convolution.Forward.create(scope, "c1", in, Convolution.Params.of(16, 3).padding(1));
                Convolution.Forward c19 = Convolution.Forward.create(scope, "c19", in, Convolution.Params.of(19, 3).padding(1))) {
            MemoryDesc blocked19 = c19.dstDesc();
            long block = blocked19.blockOf(1);
            org.junit.jupiter.api.Assumptions.assumeTrue(block > 1 && 3 % block != 0, blocked19.shapeString());
            MemoryDesc odd = MemoryDesc.plain(scope, 1, 3, 5, 5);
            Concat.Forward f = Concat.Forward.createInto(scope, "cat", 1, blocked19, odd, c1.dstDesc());
            Concat.Backward bwd = Concat.Backward.create(scope, "cat.bwd", f);
            assertTrue(f.dstDesc().sameAs(blocked19));
            assertTrue(bwd.diffDstDesc().isPlain(), bwd.diffDstDesc().shapeString());
            float[] x0 = Check.random(new SplittableRandom(2), 3 * 25);
            float[] x1 = Check.random(new SplittableRandom(3), 16 * 25);
            Tensor t0 = Tensor.of(scope, "x0", x0, 1, 3, 5, 5);
            Tensor t1 = Tensor.allocate(scope, "x1", c1.dstDesc());
            t1.copyFrom(x1);
            Tensor y = Tensor.allocate(scope, "y", f.dstDesc());
            f.execute(s, f.bind(scope, y, t0, t1));
            s.await();
            float[] got = y.toFloatArray();
            for (int i = 0; i < 3 * 25; i++) assertEquals(x0[i], got[i]);
            for (int i = 0; i < 16 * 25; i++) assertEquals(x1[i], got[3 * 25 + i]);

            float[] dy = Check.random(new SplittableRandom(1), 19 * 25);
            Tensor tdy = Tensor.of(scope, "dy", dy, 1, 19, 5, 5);
            Tensor g0 = Tensor.allocate(scope, "g0", bwd.diffSrcDesc(0));
            Tensor g1 = Tensor.allocate(scope, "g1", bwd.diffSrcDesc(1));
            Steps steps = bwd.bind(scope, tdy, g0, g1);
            bwd.execute(s, steps);
            s.await();
            float[] a = g0.toFloatArray();
            float[] b = g1.toFloatArray();
            for (int i = 0; i < 3 * 25; i++) assertEquals(dy[i], a[i]);
            for (int i = 0; i < 16 * 25; i++) assertEquals(dy[3 * 25 + i], b[i]);
        }
    }

    @Test
    void blockedSubMemoryWindowsMustStartOnABlock() {
        try (Scope scope = Scope.leakChecked("window"); Stream s = Stream.create(scope);
                Convolution.Forward c = Convolution.Forward.create(scope, "c", new long[] {1, 4, 5, 5},
                        Convolution.Params.of(32, 3).padding(1))) {
            MemoryDesc d = c.dstDesc();
            long block = d.blockOf(1);
            org.junit.jupiter.api.Assumptions.assumeTrue(block > 1, "conv chose a plain layout " + d.shapeString());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Layouts.submemory(scope, d, new long[] {1, 8, 5, 5}, new long[] {0, 3, 0, 0}));
            assertTrue(e.getMessage().endsWith("dimension 1 is blocked by " + block
                    + ", so the window must start and end on a block boundary"), e.getMessage());
        }
    }

    @Test
    void executingAfterDiffDstIsClosedThrows() {
        try (Scope scope = Scope.leakChecked("closed"); Stream s = Stream.create(scope);
                Concat.Forward f = Concat.Forward.create(scope, "cat", 0, new long[] {1, 2}, new long[] {1, 2});
                Concat.Backward b = Concat.Backward.create(scope, "cat.bwd", f)) {
            Tensor dy = Tensor.zeros(scope, "dy", 2, 2);
            Steps steps = b.bind(scope, dy, Tensor.zeros(scope, "g0", 1, 2), Tensor.zeros(scope, "g1", 1, 2));
            dy.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.execute(s, steps));
            assertTrue(e.getMessage().contains("'dy'") && e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void aNullDiffDstIsNamed() {
        try (Scope scope = Scope.leakChecked("null"); Concat.Forward f = Concat.Forward.create(scope, "cat", 0,
                new long[] {1, 2}, new long[] {1, 2}); Concat.Backward b = Concat.Backward.create(scope, "cat.bwd", f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.bind(scope, null, Tensor.zeros(scope, "g0", 1, 2), null));
            assertEquals("cat.bwd: no diff_dst tensor given (every diff_src is a window of it)", e.getMessage());
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        return java.util.stream.Stream.of(
                Arguments.of(1, new long[][] {{2, 3, 4, 4}, {2, 5, 4, 5}},
                        "cat1: concat along axis 1: source 1 [2, 5, 4, 5] does not match source 0 [2, 3, 4, 4]: dimension 3 is 5 vs 4"),
                Arguments.of(4, new long[][] {{2, 3, 4, 4}},
                        "cat1: concat axis 4 is out of range for 4D sources (0..3)"),
                Arguments.of(0, new long[][] {{2, 3, 4, 4}, {2, 3, 4}},
                        "cat1: concat along axis 0: source 1 [2, 3, 4] is 3D, source 0 [2, 3, 4, 4] is 4D"),
                Arguments.of(0, new long[][] {}, "cat1: concat needs at least one source"),
                // Each source's dims are checked on their own first: a bad extent is not a "mismatch".
                Arguments.of(1, new long[][] {{-7, 2}, {1, 2}},
                        "cat1: source 0 dimension d0 = -7 must be positive (source 0 dims [-7, 2])"),
                Arguments.of(0, new long[][] {{1, 2}, {1, 1L << 61}}, "cat1: source 1 dimension d1 = 2305843009213693952"
                        + " is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; source 1 dims [1, 2305843009213693952])"),
                Arguments.of(0, new long[][] {{Integer.MAX_VALUE, 1}, {Integer.MAX_VALUE, 1}}, "cat1: dst dimension d0 ="
                        + " 4294967294 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; dst dims [4294967294, 1]);"
                        + " it follows from the sources' extents along axis 0 summed"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidShapesFailBeforeAnyNativeCall(int axis, long[][] dims, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Concat.Forward.create(scope, "cat1", axis, dims));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations());
        }
    }
}
