package dev.stride.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NetworkBuilderTest {

    /** TensorFlow's Fashion-MNIST reference convnet. */
    static NetworkSpec referenceConvnet() {
        return NetworkBuilder.input(1, 28, 28)
                .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                .flatten().fc(1024).relu().fc(10)
                .build();
    }

    @Test
    void referenceConvnetShapesParametersReceptiveFieldsAndFlops() {
        NetworkSpec net = referenceConvnet();
        List<String> names = net.nodes().stream().map(Node::name).toList();
        assertEquals(List.of("input", "conv1", "relu1", "maxpool1", "conv2", "relu2", "maxpool2", "flatten1", "fc1",
                "relu3", "fc2"), names);
        assertEquals("32x28x28", net.node("conv1").shape().toString());
        assertEquals("64x7x7", net.node("maxpool2").shape().toString());
        assertEquals("3136", net.node("flatten1").shape().toString());
        assertEquals("10", net.output().shape().toString());
        // F*F*D1/G*K + K per conv, in*out + out per FC.
        assertEquals(5 * 5 * 1 * 32 + 32, net.node("conv1").parameterCount());
        assertEquals(5 * 5 * 32 * 64 + 64, net.node("conv2").parameterCount());
        assertEquals(3136 * 1024 + 1024, net.node("fc1").parameterCount());
        assertEquals(832 + 51264 + 3212288 + 10250, net.parameterCount());
        // rf_out = rf_in + (F-1)*jump_in, jump_out = jump_in*S.
        assertEquals("5x5 / 1", net.node("conv1").receptiveFieldText());
        assertEquals("6x6 / 2", net.node("maxpool1").receptiveFieldText());
        assertEquals("14x14 / 2", net.node("conv2").receptiveFieldText());
        assertEquals("16x16 / 4", net.node("maxpool2").receptiveFieldText());
        assertEquals("all", net.node("fc1").receptiveFieldText());
        assertEquals(2L * 28 * 28 * 32 * 25, net.node("conv1").flops());
        assertEquals(2L * 14 * 14 * 64 * 800, net.node("conv2").flops());
        assertEquals(2L * 3136 * 1024, net.node("fc1").flops());
        // The budget: about 5.3 GFLOP for forward+backward (3x forward) of a batch of 64.
        double perBatch = 3.0 * 64 * net.flops() / 1e9;
        assertTrue(perBatch > 5.2 && perBatch < 5.5, "fwd+bwd GFLOP per batch: " + perBatch);
        // conv2's 5x5 filters are the one thing the seed's sizing rules question.
        assertEquals(List.of("conv2: 5x5 filters: a stack of 2 3x3 convolutions sees the same 5x5 region with fewer "
                + "parameters and more non-linearities"), net.summary().hints());
    }

    @Test
    void aMistakeFailsAtTheLineThatMadeItWithTheFormula() {
        NetworkBuilder b = NetworkBuilder.input(1, 28, 28).conv(16, 3).relu().maxPool(2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.conv(Convolution.Params.of(32, 5).stride(2)));
        assertEquals("conv2: H2 = (H1 - F + 2P)/S + 1 = (14 - 5 + 0)/2 + 1 = 5.5 is not an integer", e.getMessage());
        // The builder is unchanged by the failed line and goes on.
        assertEquals("maxpool1", b.current().name());
        b.conv(Convolution.Params.of(32, 5).stride(2).samePadding());
        assertEquals("32x7x7", b.current().shape().toString());
        IllegalArgumentException groups = assertThrows(IllegalArgumentException.class,
                () -> NetworkBuilder.input(30, 8, 8).conv(Convolution.Params.of(8, 3).groups(4)));
        assertEquals("conv1: input channels 30 not divisible by groups 4", groups.getMessage());
        IllegalArgumentException softmax = assertThrows(IllegalArgumentException.class,
                () -> NetworkBuilder.input(3, 8, 8).softmax());
        assertTrue(softmax.getMessage().startsWith("softmax1: softmax expects a feature vector (got 3x8x8)"));
    }

    @Test
    void sizesBeyondOneTensorNameTheLayerAndWhatProducesThem() {
        assertEquals("input: sample dimension H = 2147483648 is over oneDNN's limit of 2147483647 (MemoryDesc.MAX_DIM; "
                + "sample dims [3, 2147483648, 4])", assertThrows(IllegalArgumentException.class,
                        () -> NetworkBuilder.input(3, 1L << 31, 4)).getMessage());
        assertEquals("fc1: output features OC = 9223372036854775807 is over oneDNN's limit of 2147483647 "
                + "(MemoryDesc.MAX_DIM)", assertThrows(IllegalArgumentException.class,
                        () -> NetworkBuilder.input(3, 4, 4).flatten().fc(Long.MAX_VALUE)).getMessage());
        // 2^30 x 48 weights: the output fits, the weights do not.
        assertEquals("fc1: weights [1073741824, 48] (OC x C) holds more than 2147483647 elements, the most one tensor "
                + "may hold (MemoryDesc.MAX_ELEMENTS); it follows from the output features OC = 1073741824 and src dims "
                + "[1, 48]",
                assertThrows(IllegalArgumentException.class,
                        () -> NetworkBuilder.input(3, 4, 4).flatten().fc(1 << 30)).getMessage());
        assertEquals("conv1: weights [2147483647, 3, 1, 1] (K x C x FH x FW) holds more than 2147483647 elements, the most "
                + "one tensor may hold (MemoryDesc.MAX_ELEMENTS); it follows from filters K, input channels C, groups and "
                + "extent F", assertThrows(IllegalArgumentException.class,
                        () -> NetworkBuilder.input(3, 4, 4).conv(Integer.MAX_VALUE, 1)).getMessage());
        assertEquals("parameter weight [1099511627776, 1099511627776] holds more than 2^63 values, more than one tensor "
                + "may hold (2147483647, MemoryDesc.MAX_ELEMENTS)", assertThrows(IllegalArgumentException.class,
                        () -> Param.learned("weight", new long[] {1L << 40, 1L << 40}, Param.Init.ZEROS, 1, 1)
                                .initialValues(new SplittableRandom(1))).getMessage());
    }

    @Test
    void residualAndDenseBlocksAreDags() {
        NetworkSpec res = NetworkBuilder.input(3, 32, 32).conv(16, 3).residualBlock(16, 1).residualBlock(32, 2)
                .globalAvgPool().flatten().fc(10).build();
        assertEquals("32x16x16", res.node("add2").shape().toString());
        assertEquals(2, res.node("add1").inputs().size());
        assertEquals("conv1", res.node("add1").inputs().get(1).name(), "identity shortcut from the block input");
        assertEquals("batchnorm5", res.node("add2").inputs().get(1).name(), "projection shortcut: pool, 1x1 conv, BN");
        assertEquals("avgpool1", res.node("add2").inputs().get(1).inputs().getFirst().inputs().getFirst().name());
        assertEquals("all", res.node("globalavgpool1").receptiveFieldText());

        int growth = 12;
        NetworkSpec dense = NetworkBuilder.input(1, 28, 28).conv(24, 3).denseBlock(4, growth, true).transition(0.5)
                .build();
        Node block = dense.node("concat4");
        assertEquals(24 + 4 * growth, block.shape().channels());
        assertEquals(5, block.inputs().size(), "the block input and the four layers' maps");
        assertEquals("36x14x14", dense.output().shape().toString());

        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class, () -> {
            NetworkBuilder b = NetworkBuilder.input(3, 8, 8);
            Node in = b.current();
            b.conv(4, 3).add(in);
        });
        assertEquals("add1: add needs inputs of one shape, got 4x8x8 and 3x8x8 (input 1)", mismatch.getMessage());
    }

    @Test
    void seedPatternBuildsForRandomSettingsAndInvalidOnesQuoteTheFormula() {
        SplittableRandom r = new SplittableRandom(11);
        for (int trial = 0; trial < 30; trial++) {
            int n = r.nextInt(0, 3);
            int m = r.nextInt(0, 4);
            int k = r.nextInt(0, 3);
            int[] filters = r.ints(m, 4, 33).toArray();
            long[] widths = r.longs(k, 8, 129).toArray();
            NetworkSpec net = NetworkBuilder.pattern(Shape.of(3, 32, 32), n, m, k, filters, true, widths, 10).build();
            assertEquals("10", net.output().shape().toString());
            long convs = net.nodes().stream().filter(x -> !x.isInput() && x.layer().kind().equals("conv")).count();
            assertEquals((long) n * m, convs);
            assertEquals(32 >> m, net.nodes().stream().filter(x -> x.name().startsWith("maxpool"))
                    .reduce((a, b) -> b).map(x -> x.shape().dim(1)).orElse(32L));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NetworkBuilder.pattern(Shape.of(1, 28, 28), 1, 3, 0, new int[] {8, 8, 8}, true, new long[0], 10));
        assertEquals("maxpool3: H2 = (H1 - F + 2P)/S + 1 = (7 - 2 + 0)/2 + 1 = 3.5 is not an integer", e.getMessage());
    }

    @Test
    void summaryReportsTheSeedsSizingHints() {
        Summary s = NetworkBuilder.input(3, 30, 30)
                .conv(Convolution.Params.of(16, 3)).relu()
                .conv(Convolution.Params.of(16, 5).padding(2)).relu()
                .conv(Convolution.Params.of(16, 3).stride(2).samePadding()).relu()
                .maxPool(2, 2).flatten().fc(10).summary();
        List<String> hints = s.hints();
        assertTrue(hints.contains("conv1: changes 30x30 to 28x28; padding P = (F-1)/2 (or \"same\") keeps the size"), hints.toString());
        assertTrue(hints.stream().anyMatch(h -> h.startsWith("conv2: 5x5 filters: a stack of 2 3x3 convolutions")), hints.toString());
        assertTrue(hints.contains("conv3: stride 2x2 convolution: the seed keeps convolutions at stride 1 and downsamples with 2x2/2 pooling"),
                hints.toString());
        assertTrue(hints.stream().anyMatch(h -> h.startsWith("maxpool1: input 7x7 is not divisible by 2")) == false
                && hints.stream().noneMatch(h -> h.startsWith("conv1:") && h.contains("divisible")), hints.toString());
        String text = s.toString();
        assertTrue(text.contains("conv2"), text);
        assertTrue(text.contains("hint: conv3: stride"), text);
        String md = s.toMarkdown();
        assertTrue(md.startsWith("| layer | kind | settings | output | params | receptive field | FLOPs |"), md);
        assertTrue(md.contains("| conv1 | conv | K=16, F=3 | 16x28x28 | 448 | 3x3 / 1 |"), md);

        List<String> odd = NetworkBuilder.input(1, 30, 30).conv(8, 3).maxPool(2, 2).conv(8, 3).maxPool(3, 2).summary().hints();
        assertTrue(odd.contains("maxpool2: input 15x15 is not divisible by 2 here; choose an input size divisible by 2 once per downsampling (e.g. 32, 64, 224)")
                || odd.stream().anyMatch(h -> h.startsWith("maxpool2: input 15x15")), odd.toString());
    }

    @Test
    void namedParametersStateAndFreezing() {
        NetworkSpec net = NetworkBuilder.input(3, 8, 8).conv(4, 3).name("stem").freeze().batchNorm().relu().flatten().fc(2)
                .build();
        assertEquals(List.of("stem.weight", "stem.bias", "batchnorm1.weight", "batchnorm1.bias",
                "batchnorm1.running_mean", "batchnorm1.running_var", "fc1.weight", "fc1.bias"),
                List.copyOf(net.tensors().keySet()));
        assertTrue(net.tensors().get("batchnorm1.running_var").state());
        assertFalse(net.tensors().get("batchnorm1.weight").state());
        assertEquals(List.of("batchnorm1.weight", "batchnorm1.bias", "fc1.weight", "fc1.bias"), net.trainableParameters());
        assertEquals(4 * 3 * 9 + 4 + 8 + 4 * 64 * 2 + 2, net.parameterCount(), "running statistics are not parameters");
        assertThrows(IllegalArgumentException.class, () -> NetworkBuilder.input(3, 8, 8).conv(4, 3).name("x").relu().name("x"));
    }

    @Test
    void initialisationFollowsItsFormula() {
        SplittableRandom r = new SplittableRandom(5);
        Param he = Param.learned("weight", new long[] {64, 32, 3, 3}, Param.Init.HE_NORMAL, 288, 576);
        float[] w = he.initialValues(r);
        double mean = 0;
        double sq = 0;
        for (float v : w) {
            mean += v;
            sq += v * v;
        }
        mean /= w.length;
        double std = Math.sqrt(sq / w.length - mean * mean);
        assertEquals(Math.sqrt(2.0 / 288), std, 0.03 * Math.sqrt(2.0 / 288));
        assertEquals(0, mean, 0.005);
        Param xavier = Param.learned("weight", new long[] {100, 300}, Param.Init.XAVIER_UNIFORM, 300, 100);
        double a = Math.sqrt(6.0 / 400);
        for (float v : xavier.initialValues(r)) {
            assertTrue(Math.abs(v) <= a, v + " outside +-" + a);
        }
        for (float v : Param.state("running_var", new long[] {7}, Param.Init.ONES).initialValues(r)) {
            assertEquals(1f, v);
        }
    }
}
