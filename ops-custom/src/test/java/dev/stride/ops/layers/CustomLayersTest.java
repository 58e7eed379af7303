package dev.stride.ops.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Node;
import dev.stride.nn.Param;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanContext;
import dev.stride.nn.PlanOptions;
import dev.stride.nn.Shape;
import dev.stride.nn.Summary;
import dev.stride.nn.layers.ConvLayer;
import dev.stride.nn.layers.DenseLayer;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.stn.SamplerOptions;
import dev.stride.testing.Check;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The custom layers in the builder: names, shapes, parameters and initialisation as documented, build-time
 * errors that name the layer and show the numbers, and the metamorphic checks at network level (the identity
 * head reproduces the input; zero offsets give the plain convolution).
 */
class CustomLayersTest {

    private static String fails(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void theJavadocExampleBuilds() {
        // CustomLayers' class Javadoc, verbatim.
        NetworkBuilder b = NetworkBuilder.input(1, 28, 28);
        CustomLayers.spatialTransformer(b, loc -> loc.conv(8, 5).maxPool(2, 2).relu().flatten().fc(32).relu());
        b.conv(16, 3).batchNorm().relu();
        CustomLayers.deformConv(b, DeformConv2d.Params.of(32, 3).padding(1).modulated(true)).relu();
        CustomLayers.seResidualBlock(b, 32, 2, 8);
        NetworkSpec spec = b.globalAvgPool().flatten().fc(10).build();
        assertEquals("10", spec.output().shape().toString());
        assertEquals("1x28x28", spec.node("stn1").shape().toString());
        assertEquals("32x28x28", spec.node("deform1").shape().toString());
        assertEquals("32x14x14", spec.node("se1").shape().toString());
    }

    @Test
    void deformConvAddsZeroOffsetAndMaskBranches() {
        NetworkBuilder b = NetworkBuilder.input(4, 9, 9);
        CustomLayers.deformConv(b, DeformConv2d.Params.of(6, 3).padding(1).stride(2), 2, true);
        NetworkSpec spec = b.build();
        Node deform = spec.node("deform1");
        assertEquals(List.of("input", "deform_offset1", "sigmoid1"), deform.inputs().stream().map(Node::name).toList());
        assertEquals("6x5x5", deform.shape().toString());
        assertEquals("36x5x5", spec.node("deform_offset1").shape().toString()); // 2 * G_off * 3 * 3
        assertEquals("18x5x5", spec.node("deform_mask1").shape().toString());
        assertEquals(6 * 4 * 9 + 6, deform.parameterCount());
        assertEquals(List.of("deform_offset1.weight", "deform_offset1.bias", "deform_mask1.weight", "deform_mask1.bias",
                "deform1.weight", "deform1.bias"), spec.trainableParameters());
        Summary s = spec.summary();
        assertTrue(s.rows().stream().anyMatch(r -> r.name().equals("deform_offset1")
                && r.settings().contains("init weight=zeros, bias=zeros")), s.toString());
        // The offsets see the same window as the deformable convolution: equal receptive fields.
        assertEquals(spec.node("deform_offset1").receptiveFieldText(), deform.receptiveFieldText());
        try (Scope check = Scope.leakChecked("init"); Network net = Network.create(spec, 1)) {
            for (String zero : List.of("deform_offset1.weight", "deform_offset1.bias", "deform_mask1.weight")) {
                for (float v : net.tensor(zero).toFloatArray()) {
                    assertEquals(0f, v, zero);
                }
            }
            assertTrue(Check.toDouble(net.tensor("deform1.weight").toFloatArray()).length == 6 * 4 * 9);
        }
    }

    @Test
    void spatialTransformerHeadStartsAsTheIdentity() {
        NetworkBuilder b = NetworkBuilder.input(3, 6, 10);
        CustomLayers.spatialTransformer(b, loc -> loc.conv(4, 3).relu().maxPool(2, 2).flatten().fc(8).relu());
        NetworkSpec spec = b.build();
        Node stn = spec.node("stn1");
        assertEquals(List.of("input", "theta1"), stn.inputs().stream().map(Node::name).toList());
        assertEquals("all", stn.receptiveFieldText());
        assertEquals(0, stn.parameterCount());
        try (Scope check = Scope.leakChecked("stn"); Network net = Network.create(spec, 5)) {
            assertArrayEquals(new float[] {1, 0, 0, 0, 1, 0}, net.tensor("theta1.bias").toFloatArray());
            for (float v : net.tensor("theta1.weight").toFloatArray()) {
                assertEquals(0f, v);
            }
            // Metamorphic: the identity transform samples every pixel centre, so the output is the input.
            for (Mode mode : Mode.values()) {
                Plan plan = net.plan(2, mode);
                float[] x = Check.random(new SplittableRandom(3), Check.count(plan.input().dims()));
                plan.input().copyFrom(x);
                Check.close("identity STN, " + mode, plan.input().dims(), x, plan.forward().toFloatArray(), 1e-6, 1e-6);
            }
        }
        NetworkBuilder resized = NetworkBuilder.input(3, 6, 10);
        CustomLayers.spatialTransformer(resized, loc -> loc.flatten(), 4, 5, SamplerOptions.DEFAULT.alignCorners(true));
        assertEquals("3x4x5", resized.current().shape().toString());
        assertTrue(resized.current().layer().settings().contains("size=4x5, align_corners=True"),
                resized.current().layer().settings());
    }

    @Test
    void deformConvWithZeroOffsetsIsThePlainConvolution() {
        var params = DeformConv2d.Params.of(5, 3).padding(1).stride(2);
        NetworkBuilder d = NetworkBuilder.input(3, 7, 7);
        CustomLayers.deformConv(d, params);
        NetworkBuilder m = NetworkBuilder.input(3, 7, 7);
        CustomLayers.deformConv(m, params.modulated(true));
        NetworkSpec plain = NetworkBuilder.input(3, 7, 7).conv(Convolution.Params.of(5, 3).padding(1).stride(2)).build();
        try (Scope check = Scope.leakChecked("zero offsets"); Network a = Network.create(d.build(), 1);
                Network v2 = Network.create(m.build(), 1); Network c = Network.create(plain, 2)) {
            float[] w = Check.random(new SplittableRandom(1), 5 * 3 * 9);
            float[] bias = Check.random(new SplittableRandom(2), 5);
            for (Network n : List.of(a, v2)) {
                n.tensor("deform1.weight").copyFrom(w);
                n.tensor("deform1.bias").copyFrom(bias);
            }
            c.tensor("conv1.weight").copyFrom(w);
            c.tensor("conv1.bias").copyFrom(bias);
            float[] x = Check.random(new SplittableRandom(3), 2 * 3 * 7 * 7);
            float[] want = run(c, x);
            Check.close("deform v1, zero offsets", new long[] {2, 5, 4, 4}, want, run(a, x), 1e-5, 1e-5);
            // v2's mask starts at sigmoid(0) = 0.5: half the convolution, plus the bias.
            c.tensor("conv1.weight").copyFrom(scaled(w, 0.5f));
            Check.close("deform v2, zero offsets, mask 0.5", new long[] {2, 5, 4, 4}, run(c, x), run(v2, x), 1e-5, 1e-5);
        }
    }

    private static float[] run(Network net, float[] x) {
        Plan p = net.plan(2, Mode.INFERENCE);
        p.input().copyFrom(x);
        float[] out = p.forward().toFloatArray();
        p.close();
        return out;
    }

    private static float[] scaled(float[] v, float s) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] *= s;
        }
        return out;
    }

    @Test
    void squeezeExcitationHasTorchvisionsParameterNames() {
        NetworkBuilder b = NetworkBuilder.input(8, 5, 5);
        CustomLayers.squeezeExcitation(b, 4);
        NetworkSpec spec = b.build();
        assertEquals(List.of("se1.fc1.weight", "se1.fc1.bias", "se1.fc2.weight", "se1.fc2.bias"), spec.trainableParameters());
        assertArrayEquals(new long[] {2, 8}, spec.tensors().get("se1.fc1.weight").dims());
        assertArrayEquals(new long[] {8, 2}, spec.tensors().get("se1.fc2.weight").dims());
        assertEquals(2 * 8 * 8 / 4 + 8 / 4 + 8, spec.parameterCount()); // 2 C^2/r + C/r + C
        try (Scope check = Scope.leakChecked("se load"); Network net = Network.create(spec, 1)) {
            // torchvision keeps them as 1x1 convolutions: the same bytes load as they are.
            float[] w = Check.random(new SplittableRandom(1), 16);
            try (Scope tmp = Scope.open("values")) {
                var t = dev.stride.core.Tensor.of(tmp, "w", w, 2, 8, 1, 1);
                net.load("se1.fc1.weight", new long[] {2, 8, 1, 1}, t.segment());
            }
            assertArrayEquals(w, net.tensor("se1.fc1.weight").toFloatArray());
        }
        NetworkBuilder res = NetworkBuilder.input(4, 8, 8);
        CustomLayers.seResidualBlock(res, 8, 2, 4);
        NetworkSpec block = res.build();
        Node add = block.node("add1");
        assertEquals(List.of("se1", "batchnorm3"), add.inputs().stream().map(Node::name).toList());
        assertEquals("8x4x4", block.output().shape().toString());
        assertEquals("relu2", block.output().name());
    }

    /** A test layer that hands its input on in layout {@code tag} (as a convolution choosing it would). */
    record Relayout(FormatTag tag) implements Layer {
        @Override
        public String kind() {
            return "relayout";
        }

        @Override
        public String settings() {
            return tag.label();
        }

        @Override
        public Shape outputShape(String name, List<Shape> inputs) {
            return inputs.getFirst();
        }

        @Override
        public LayerOp plan(PlanContext ctx) {
            Tensor out = ctx.output(MemoryDesc.of(ctx.scope(), DataType.F32, tag, ctx.input().dims()));
            Runnable forward = ctx.reorder(ctx.input(), out);
            Runnable[] backward = {() -> { }};
            return new LayerOp() {
                @Override
                public Tensor output() {
                    return out;
                }

                @Override
                public void forward() {
                    forward.run();
                }

                @Override
                public void planBackward(Tensor diffOutput, List<Tensor> diffInputs) {
                    if (diffInputs.getFirst() != null) {
                        backward[0] = ctx.reorder(diffOutput, diffInputs.getFirst());
                    }
                }

                @Override
                public void backward() {
                    backward[0].run();
                }

                @Override
                public String describe() {
                    return "reorder to " + tag.label();
                }
            };
        }
    }

    /** Output, input gradient and parameter gradients of one training step. */
    private static List<float[]> step(NetworkSpec spec) {
        try (Network net = Network.create(spec, 9)) {
            for (String name : net.tensors().keySet()) {
                if (name.startsWith("deform_") || name.startsWith("theta")) { // off the integer sampling grid
                    float[] v = net.tensor(name).toFloatArray();
                    float[] noise = Check.random(new SplittableRandom(name.hashCode()), v.length);
                    for (int i = 0; i < v.length; i++) {
                        v[i] += 0.1f * noise[i];
                    }
                    net.tensor(name).copyFrom(v);
                }
            }
            Plan plan = net.plan(2, Mode.TRAINING, PlanOptions.defaults().inputGradient(true));
            SplittableRandom r = new SplittableRandom(4);
            plan.input().copyFrom(Check.random(r, Check.count(plan.input().dims())));
            List<float[]> out = new ArrayList<>();
            out.add(plan.forward().toFloatArray());
            plan.outputGradient().copyFrom(Check.random(r, Check.count(plan.output().dims())));
            plan.backward();
            out.add(plan.inputGradient().toFloatArray());
            net.parameters().forEach(p -> out.add(p.grad().toFloatArray()));
            return out;
        }
    }

    @Test
    void channelsLastInputsGiveTheSameResults() {
        try (Scope check = Scope.leakChecked("layouts")) {
            List<java.util.function.Consumer<NetworkBuilder>> bodies = List.of(
                    b -> CustomLayers.squeezeExcitation(b, 4),
                    b -> CustomLayers.deformConv(b, DeformConv2d.Params.of(4, 3).padding(1).modulated(true)),
                    b -> CustomLayers.spatialTransformer(b, loc -> loc.flatten().fc(4)));
            for (var body : bodies) {
                List<List<float[]>> results = new ArrayList<>();
                for (FormatTag tag : List.of(FormatTag.NCHW, FormatTag.NHWC)) {
                    NetworkBuilder b = NetworkBuilder.input(8, 5, 5).layer(new Relayout(tag));
                    body.accept(b);
                    results.add(step(b.flatten().fc(3).build()));
                }
                for (int i = 0; i < results.getFirst().size(); i++) {
                    float[] want = results.get(0).get(i);
                    Check.close("nhwc vs nchw, result " + i, new long[] {want.length}, want, results.get(1).get(i), 1e-5, 1e-4);
                }
            }
            // The SE kernels read channels-last directly; the others reorder it to plain.
            NetworkBuilder b = NetworkBuilder.input(8, 5, 5).layer(new Relayout(FormatTag.NHWC));
            CustomLayers.squeezeExcitation(b, 4);
            CustomLayers.deformConv(b, DeformConv2d.Params.of(4, 3).padding(1));
            try (Network net = Network.create(b.build(), 1)) {
                List<String> d = net.plan(1, Mode.TRAINING).describe();
                assertTrue(d.stream().anyMatch(l -> l.startsWith("se1: squeeze-excitation r=4 (Java squeeze/scale, oneDNN FCs), acdb")
                        && !l.contains("reorder")), d.toString());
                assertTrue(d.stream().anyMatch(l -> l.startsWith("deform1: ") && l.contains("reorders to plain: src acdb")),
                        d.toString());
            }
        }
    }

    @Test
    void mistakesFailWhenAddedWithTheNumbers() {
        String shape = fails(() -> CustomLayers.deformConv(NetworkBuilder.input(3, 8, 8), DeformConv2d.Params.of(4, 3).stride(2)));
        assertTrue(shape.startsWith("deformable convolution after input: H2 = (H1 - F + 2P)/S + 1 = (8 - 3 + 0)/2 + 1 = 3.5 "
                + "is not an integer"), shape);

        NetworkBuilder b = NetworkBuilder.input(3, 8, 8).conv(Convolution.Params.of(9, 3).padding(1));
        Node wrongOffsets = b.current();
        String offsets = fails(() -> b.layer(new DeformConvLayer(DeformConv2d.Params.of(4, 3).padding(1)), b.current().inputs()
                .getFirst(), wrongOffsets));
        assertTrue(offsets.startsWith("deform1: input 1 (offset) must be 2*G_off*KH*KW x H2 x W2 = 2*1*3*3 x 8 x 8 = 18x8x8, "
                + "got 9x8x8"), offsets);
        String arity = fails(() -> NetworkBuilder.input(3, 8, 8).layer(new DeformConvLayer(DeformConv2d.Params.of(4, 3)
                .modulated(true))));
        assertTrue(arity.contains("deform takes 3 input(s), got 1"), arity);

        String se = fails(() -> CustomLayers.squeezeExcitation(NetworkBuilder.input(6, 4, 4), 4));
        assertTrue(se.startsWith("se1: channels C=6 are not divisible by the reduction ratio r=4"), se);
        String seRank = fails(() -> CustomLayers.squeezeExcitation(NetworkBuilder.input(6, 4, 4).flatten(), 2));
        assertTrue(seRank.contains("se1: squeeze-excitation expects a C x H x W input, got 96"), seRank);

        NetworkBuilder s = NetworkBuilder.input(1, 8, 8);
        Node image = s.current();
        s.flatten().fc(5);
        String theta = fails(() -> s.layer(new AffineSamplerLayer(), image, s.current()));
        assertTrue(theta.startsWith("stn1: input 1 (theta) must be 6 features"), theta);
        String stnRank = fails(() -> CustomLayers.spatialTransformer(NetworkBuilder.input(16), loc -> loc.fc(4)));
        assertTrue(stnRank.contains("current node input is 16"), stnRank);
        String size = fails(() -> new AffineSamplerLayer(4, 0, SamplerOptions.DEFAULT));
        assertTrue(size.contains("got 4 x 0"), size);

        String unknown = fails(() -> NetworkBuilder.input(3, 4, 4).layer(new Initialised(new ConvLayer(Convolution.Params.of(2, 1)),
                "zconv", Map.of("gamma", Param.Init.ZEROS))));
        assertTrue(unknown.startsWith("zconv1: cannot initialise 'gamma': the conv layer has parameters [weight, bias]"), unknown);
        String affine = fails(() -> NetworkBuilder.input(8).layer(Initialised.of(new DenseLayer(4, true), "head", "weight",
                Param.Init.ZEROS, "bias", Param.Init.IDENTITY_AFFINE)));
        assertTrue(affine.startsWith("head1: bias[4]: the identity affine initialisation needs 6 values"), affine);
    }
}
