package dev.stride.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The ready-made models: shapes and parameter counts from the formulas ({@code F*F*D1*K (+K)} per conv,
 * {@code 2C} per batch norm, {@code in*out + out} per FC), which are also what PyTorch counts for the twins in
 * {@code bench/python/e2e.py} ({@code --check}: 3274634, 77754, 65410).
 */
class ModelsTest {

    @Test
    void tfReferenceIsTensorFlowsFashionMnistConvnet() {
        NetworkSpec net = Models.tfReference();
        assertEquals("1x28x28", net.input().shape().toString());
        assertEquals("64x7x7", net.node("maxpool2").shape().toString());
        assertEquals("10", net.output().shape().toString());
        assertEquals((25 * 32 + 32) + (25 * 32 * 64 + 64) + (3136 * 1024 + 1024) + (1024 * 10 + 10),
                net.parameterCount());
        assertEquals(3_274_634, net.parameterCount());
        // The budget: about 5.3 GFLOP for forward + backward (three forwards) of a batch of 64.
        assertEquals(5.3, 3.0 * 64 * net.flops() / 1e9, 0.1);
    }

    @Test
    void smallResNetHasThreeStagesOfBasicBlocks() {
        NetworkSpec net = Models.smallResNet();
        assertEquals("16x28x28", net.node("add1").shape().toString());
        assertEquals("32x14x14", net.node("add2").shape().toString());
        assertEquals("64x7x7", net.node("add3").shape().toString());
        assertEquals("10", net.output().shape().toString());
        long stem = 9 * 16 + 2 * 16;
        long block1 = 2 * (9 * 16 * 16 + 2 * 16);
        long block2 = 9 * 16 * 32 + 2 * 32 + 9 * 32 * 32 + 2 * 32 + 16 * 32 + 2 * 32;
        long block3 = 9 * 32 * 64 + 2 * 64 + 9 * 64 * 64 + 2 * 64 + 32 * 64 + 2 * 64;
        assertEquals(stem + block1 + block2 + block3 + 64 * 10 + 10, net.parameterCount());
        assertEquals(77_754, net.parameterCount());
    }

    @Test
    void smallDenseNetGrowsByTwelveChannelsPerLayer() {
        NetworkSpec net = Models.smallDenseNet();
        assertEquals("72x28x28", net.node("concat4").shape().toString());
        assertEquals("36x14x14", net.node("avgpool1").shape().toString());
        assertEquals("84x14x14", net.node("concat8").shape().toString());
        assertEquals("10", net.output().shape().toString());
        // A bottleneck layer fed c channels: BN(c), 1x1 conv c -> 48, BN(48), 3x3 conv 48 -> 12.
        long block1 = 0;
        long block2 = 0;
        for (int i = 0; i < 4; i++) {
            block1 += layer(24 + 12 * i);
            block2 += layer(36 + 12 * i);
        }
        long transition = 2 * 72 + 72 * 36;
        assertEquals(9 * 24 + block1 + transition + block2 + 2 * 84 + 84 * 10 + 10, net.parameterCount());
        assertEquals(65_410, net.parameterCount());
    }

    private static long layer(long c) {
        return 2 * c + c * 48 + 2 * 48 + 9 * 48 * 12;
    }
}
