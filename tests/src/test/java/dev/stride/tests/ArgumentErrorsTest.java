package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.conv.Convolution;
import dev.stride.conv.Convolution.Params;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.linear.InnerProduct;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.LayerNorm;
import dev.stride.pool.Pooling;
import org.junit.jupiter.api.Test;

/**
 * An optional argument given where the layer has none, or left out where it needs one, and a float setting
 * that f32 cannot hold, are {@link IllegalArgumentException}s naming the layer and the argument, before any
 * native call that would crash or compute NaN.
 */
class ArgumentErrorsTest {

    @Test
    void biasGivenOrMissingIsNamedInEveryDirectionAndEntryPoint() {
        try (Scope scope = Scope.leakChecked("bias"); Stream s = Stream.create(scope);
                Convolution.Forward noBias = Convolution.Forward.create(scope, "c", new long[] {1, 1, 1, 1},
                        Params.of(1, 1).bias(false), PropKind.INFERENCE, null);
                Convolution.Forward withBias = Convolution.Forward.create(scope, "cb", new long[] {1, 1, 1, 1},
                        Params.of(1, 1), PropKind.TRAINING, null);
                Convolution.BackwardWeights bw = Convolution.BackwardWeights.create(scope, "cb.bw", withBias);
                InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", new long[] {1, 3}, 2, false,
                        PropKind.INFERENCE)) {
            Tensor one = Tensor.zeros(scope, "one", 1, 1, 1, 1);
            Tensor b = Tensor.zeros(scope, "b", 1);
            assertEquals("c: this convolution has no bias", assertThrows(IllegalArgumentException.class,
                    () -> noBias.executePlain(s, one, one, b, Tensor.zeros(scope, "y", 1, 1, 1, 1))).getMessage());
            assertEquals("c: this convolution has no bias", assertThrows(IllegalArgumentException.class,
                    () -> noBias.bind(scope, one, one, b, one)).getMessage());
            assertEquals("cb: bias tensor missing", assertThrows(IllegalArgumentException.class,
                    () -> withBias.executePlain(s, one, one, null, Tensor.zeros(scope, "y2", 1, 1, 1, 1))).getMessage());
            assertEquals("cb.bw: diff_bias tensor missing (the forward has a bias)", assertThrows(IllegalArgumentException.class,
                    () -> bw.executePlain(s, one, one, Tensor.zeros(scope, "dw", 1, 1, 1, 1), null)).getMessage());
            assertEquals("fc: this inner product has no bias", assertThrows(IllegalArgumentException.class,
                    () -> fc.executePlain(s, Tensor.zeros(scope, "x", 1, 3), Tensor.zeros(scope, "w", 2, 3), b,
                            Tensor.zeros(scope, "fy", 1, 2))).getMessage());
        }
    }

    @Test
    void anArgumentLeftOutThatThePrimitiveTakesIsNamed() {
        try (Scope scope = Scope.leakChecked("missing"); Stream s = Stream.create(scope);
                Convolution.Forward withBias = Convolution.Forward.create(scope, "cb", new long[] {1, 1, 2, 2},
                        Params.of(1, 1), PropKind.INFERENCE, null)) {
            // The builder itself refuses to leave out an argument the primitive was created with.
            Tensor x = Tensor.allocate(scope, "x", withBias.srcDesc());
            Tensor w = Tensor.allocate(scope, "w", withBias.weightsDesc());
            Tensor y = Tensor.allocate(scope, "y", withBias.dstDesc());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> withBias.primitive().args().add(dev.stride.core.Arg.SRC, x).add(dev.stride.core.Arg.WEIGHTS, w)
                            .addIfPresent(dev.stride.core.Arg.BIAS, null).add(dev.stride.core.Arg.DST, y).build(scope));
            assertEquals(withBias.primitive().name() + ": no tensor given for DNNL_ARG_BIAS, which this primitive takes", e.getMessage());
        }
    }

    @Test
    void epsThatUnderflowsOrOverflowsInF32IsRefused() {
        try (Scope scope = Scope.leakChecked("eps")) {
            String range = "use a value between " + Float.MIN_NORMAL + " and " + Float.MAX_VALUE;
            assertEquals("bn1: eps 1.0E-50 is outside f32's range (it becomes 0.0); " + range,
                    assertThrows(IllegalArgumentException.class, () -> BatchNorm.Forward.create(scope, "bn1",
                            new long[] {2, 3, 4, 4}, BatchNorm.Params.defaults().epsilon(1e-50), PropKind.TRAINING)).getMessage());
            assertEquals("ln1: eps 1.0E300 is outside f32's range (it becomes Infinity); " + range,
                    assertThrows(IllegalArgumentException.class, () -> LayerNorm.Forward.create(scope, "ln1",
                            new long[] {2, 8}, LayerNorm.Params.defaults().epsilon(1e300), PropKind.TRAINING)).getMessage());
            assertEquals(0, scope.allocations(), "refused before any native resource was created");
        }
    }

    @Test
    void aComposedPoolingNamesTheCallersArgumentsNotItsInnerPrimitives() {
        // L2 pooling runs as several primitives; a bad argument must still be named as the caller passed it.
        try (Scope scope = Scope.leakChecked("l2"); Stream s = Stream.create(scope)) {
            var fwd = Pooling.Forward.create(scope, "l2", new long[] {1, 2, 4, 4}, Pooling.Params.l2(2).stride(2),
                    PropKind.TRAINING);
            var bwd = Pooling.Backward.create(scope, "l2.bw", fwd);
            Tensor src = Tensor.allocate(scope, "x", fwd.srcDesc());
            Tensor dst = Tensor.allocate(scope, "y", fwd.dstDesc());
            Tensor diffSrc = Tensor.allocate(scope, "dx", bwd.diffSrcDesc());
            var args = fwd.bind(scope, src, dst);
            assertEquals("l2.bw: no tensor given for diff_dst", assertThrows(IllegalArgumentException.class,
                    () -> bwd.bind(scope, args, null, diffSrc)).getMessage());
            assertEquals("l2: no tensor given for dst", assertThrows(IllegalArgumentException.class,
                    () -> fwd.bind(scope, src, null)).getMessage());
        }
    }

    @Test
    void aBadPaddingIsNamedBeforeAnyOtherDimensionsOutputIsComputed() {
        // W alone does not divide; the negative padding on H must be what the error names.
        Params p = Params.of(1, 3).stride(2).padding(new int[] {-1, 0}, new int[] {0, 0});
        assertEquals("c: padding PH must be >= 0, got -1/0", assertThrows(IllegalArgumentException.class,
                () -> Convolution.Geometry.of("c", new long[] {1, 1, 6, 6}, p)).getMessage());
    }
}
