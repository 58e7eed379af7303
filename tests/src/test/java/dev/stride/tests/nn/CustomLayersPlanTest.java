package dev.stride.tests.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.layers.CustomLayers;
import dev.stride.testing.Check;
import dev.stride.train.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Plans of networks with the custom layers: fused and unfused plans agree, inference plans with folding and
 * buffer reuse agree with unoptimised ones, training steps allocate nothing, closing frees everything.
 */
class CustomLayersPlanTest {

    /** Two SE-residual blocks, the second strided (its shortcut pools and projects). */
    static NetworkSpec seResNet() {
        NetworkBuilder b = NetworkBuilder.input(3, 8, 8).conv(8, 3).batchNorm().relu();
        CustomLayers.seResidualBlock(b, 8, 1, 4);
        CustomLayers.seResidualBlock(b, 16, 2, 4);
        return b.globalAvgPool().flatten().fc(5).build();
    }

    /** An STN front-end (the seed's convnet as localization network) before a small convnet. */
    static NetworkSpec stn() {
        NetworkBuilder b = NetworkBuilder.input(1, 12, 12);
        CustomLayers.spatialTransformer(b, loc -> loc.conv(4, 5).maxPool(2, 2).relu().flatten().fc(16).relu());
        return b.conv(8, 3).relu().maxPool(2, 2).flatten().fc(4).build();
    }

    /** Deformable convs v1 and v2 (two offset groups, strided) between convs with BN + ReLU. */
    static NetworkSpec deform() {
        NetworkBuilder b = NetworkBuilder.input(3, 7, 7).conv(8, 3).batchNorm().relu();
        CustomLayers.deformConv(b, DeformConv2d.Params.of(8, 3).padding(1)).relu();
        CustomLayers.deformConv(b, DeformConv2d.Params.of(8, 3).padding(1).stride(2), 2, true);
        return b.batchNorm().relu().flatten().fc(3).build();
    }

    /** SE, STN and deform in one network. */
    static NetworkSpec allCustom() {
        NetworkBuilder b = NetworkBuilder.input(2, 8, 8);
        CustomLayers.spatialTransformer(b, loc -> loc.flatten().fc(8).relu());
        CustomLayers.deformConv(b, DeformConv2d.Params.of(8, 3).padding(1).modulated(true));
        b.batchNorm().relu();
        CustomLayers.seResidualBlock(b, 8, 1, 4);
        return b.globalAvgPool().flatten().fc(4).build();
    }

    record Result(float[] out, List<float[]> grads, float[] inputGrad) {}

    /** One training step from the same parameters and data; the custom ops moved off their integer grids. */
    static Result train(NetworkSpec spec, int batch, PlanOptions options, long seed) {
        try (Network net = Network.create(spec, 7)) {
            WholeNetworkGradientTest.offTheGrid(net, new SplittableRandom(seed));
            Plan plan = net.plan(batch, Mode.TRAINING, options.inputGradient(true));
            SplittableRandom r = new SplittableRandom(seed);
            plan.input().copyFrom(Check.random(r, Check.count(plan.input().dims())));
            float[] out = plan.forward().toFloatArray();
            plan.outputGradient().copyFrom(Check.random(r, out.length));
            plan.backward();
            List<float[]> grads = new ArrayList<>();
            for (Parameter p : net.parameters()) {
                grads.add(p.grad().toFloatArray());
            }
            return new Result(out, grads, plan.inputGradient().toFloatArray());
        }
    }

    static void assertClose(String what, float[] a, float[] b) {
        Check.close(what, new long[] {a.length}, a, b, 1e-5, 1e-4);
    }

    @Test
    void fusedAndUnfusedTrainingPlansAgree() {
        try (Scope check = Scope.leakChecked("fusion")) {
            for (NetworkSpec spec : List.of(seResNet(), stn(), deform())) {
                Result fast = train(spec, 3, PlanOptions.defaults(), 11);
                Result slow = train(spec, 3, PlanOptions.unoptimised(), 11);
                String name = spec.output().name() + " of " + spec.nodes().size() + " layers";
                assertClose(name + " output", fast.out(), slow.out());
                assertClose(name + " input gradient", fast.inputGrad(), slow.inputGrad());
                assertEquals(fast.grads().size(), slow.grads().size());
                for (int i = 0; i < fast.grads().size(); i++) {
                    assertClose(name + " gradient " + spec.trainableParameters().get(i), fast.grads().get(i),
                            slow.grads().get(i));
                }
            }
        }
    }

    @Test
    void optimisedInferenceEqualsUnoptimised() {
        try (Scope check = Scope.leakChecked("inference")) {
            for (NetworkSpec spec : List.of(seResNet(), allCustom())) {
                try (Network net = Network.create(spec, 3)) {
                    WholeNetworkGradientTest.offTheGrid(net, new SplittableRandom(4));
                    // Non-trivial running statistics first, from a few training forward passes.
                    Plan train = net.plan(4, Mode.TRAINING);
                    SplittableRandom r = new SplittableRandom(5);
                    for (int i = 0; i < 3; i++) {
                        train.input().copyFrom(Check.random(r, Check.count(train.input().dims())));
                        train.forward();
                    }
                    Plan fast = net.plan(2, Mode.INFERENCE);
                    Plan slow = net.plan(2, Mode.INFERENCE, PlanOptions.unoptimised());
                    float[] x = Check.random(r, Check.count(fast.input().dims()));
                    fast.input().copyFrom(x);
                    slow.input().copyFrom(x);
                    assertClose("inference", slow.forward().toFloatArray(), fast.forward().toFloatArray());
                    assertTrue(fast.describe().stream().anyMatch(l -> l.contains("folded batchnorm")),
                            fast.describe().toString());
                }
            }
        }
    }

    @Test
    void aTrainingStepWithEveryCustomLayerAllocatesNothing() {
        Plan plan;
        try (Scope check = Scope.leakChecked("alloc"); Network net = Network.create(allCustom(), 3)) {
            plan = net.plan(4, Mode.TRAINING, PlanOptions.defaults().inputGradient(true));
            Plan inference = net.plan(4, Mode.INFERENCE);
            List<String> described = plan.describe();
            for (String layer : List.of("stn1: affine grid", "deform1: deformable conv v2", "se1: squeeze-excitation")) {
                assertTrue(described.stream().anyMatch(l -> l.startsWith(layer)), layer + " in " + described);
            }
            SplittableRandom r = new SplittableRandom(5);
            plan.input().copyFrom(Check.random(r, Check.count(plan.input().dims())));
            inference.input().copyFrom(Check.random(r, Check.count(inference.input().dims())));
            plan.forward();
            plan.backward();
            inference.forward();
            long allocations = plan.scope().allocations();
            long inferenceAllocations = inference.scope().allocations();
            int live = NativeResource.liveCount();
            long bytes = NativeResource.liveBytes();
            for (int i = 0; i < 3; i++) {
                plan.forward();
                plan.outputGradient().copyFrom(Check.random(r, Check.count(plan.output().dims())));
                plan.backward();
                inference.forward();
            }
            assertEquals(allocations, plan.scope().allocations(), "allocations by the training plan's scope");
            assertEquals(inferenceAllocations, inference.scope().allocations(), "allocations by the inference plan's scope");
            assertEquals(live, NativeResource.liveCount(), "live native resources");
            assertEquals(bytes, NativeResource.liveBytes(), "live native bytes");
        }
        assertTrue(plan.isClosed());
        assertThrows(IllegalStateException.class, plan::forward);
    }

    @Test
    void frozenCustomLayersHaveNoTrainableParameters() {
        try (Scope check = Scope.leakChecked("frozen"); Network net = Network.create(allCustom(), 3)) {
            List<String> all = net.parameters().stream().map(Parameter::name).toList();
            assertTrue(all.containsAll(List.of("se1.fc1.weight", "se1.fc1.bias", "se1.fc2.weight", "se1.fc2.bias",
                    "deform1.weight", "deform_offset1.weight", "deform_mask1.bias", "theta1.weight", "theta1.bias")), all.toString());
            net.setFrozen(true, "se1", "theta1");
            List<String> left = net.parameters().stream().map(Parameter::name).toList();
            assertFalse(left.stream().anyMatch(n -> n.startsWith("se1.") || n.startsWith("theta1.")), left.toString());
            assertEquals(all.size() - 6, left.size());
            Plan plan = net.plan(2, Mode.TRAINING);
            plan.input().copyFrom(Check.random(new SplittableRandom(1), Check.count(plan.input().dims())));
            plan.forward();
            plan.backward();
        }
    }
}
