package dev.stride.tests.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.testing.Check;
import dev.stride.train.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Planning: optimised and unoptimised plans agree, steps allocate nothing, closing frees everything. */
class NetworkPlanTest {

    /** The TensorFlow Fashion-MNIST reference convnet, scaled down to keep the test fast. */
    static NetworkSpec smallConvnet() {
        return NetworkBuilder.input(1, 12, 12).conv(4, 5).relu().maxPool(2, 2).conv(8, 3).relu().maxPool(2, 2)
                .flatten().fc(16).relu().fc(10).build();
    }

    static NetworkSpec residual() {
        return NetworkBuilder.input(3, 8, 8).conv(8, 3).batchNorm().relu().residualBlock(8, 1).residualBlock(16, 2)
                .globalAvgPool().flatten().fc(5).build();
    }

    static NetworkSpec dense() {
        return NetworkBuilder.input(2, 8, 8).conv(6, 3).denseBlock(2, 4, true).transition(0.5).dropout(0.0)
                .flatten().fc(4).build();
    }

    record Result(float[] out, List<float[]> grads, float[] inputGrad) {}

    static Result run(NetworkSpec spec, int batch, PlanOptions options, long seed) {
        try (Network net = Network.create(spec, 7)) {
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

    static void assertSame(String what, Result a, Result b) {
        Check.close(what + " output", new long[] {a.out().length}, a.out(), b.out(), 1e-5, 1e-4);
        Check.close(what + " input gradient", new long[] {a.inputGrad().length}, a.inputGrad(), b.inputGrad(), 1e-5, 1e-4);
        for (int i = 0; i < a.grads().size(); i++) {
            Check.close(what + " gradient " + i, new long[] {a.grads().get(i).length}, a.grads().get(i), b.grads().get(i),
                    1e-5, 1e-4);
        }
    }

    @Test
    void fusedAndUnfusedTrainingPlansAgree() {
        try (Scope check = Scope.leakChecked("fusion")) {
            for (NetworkSpec spec : List.of(smallConvnet(), residual(), dense())) {
                Result fast = run(spec, 3, PlanOptions.defaults(), 11);
                Result slow = run(spec, 3, PlanOptions.unoptimised(), 11);
                assertSame(spec.output().name(), fast, slow);
            }
        }
    }

    @Test
    void foldedInferenceEqualsUnfoldedAndTrainingModeStatistics() {
        try (Scope check = Scope.leakChecked("fold"); Network net = Network.create(residual(), 3)) {
            // Give the running statistics non-trivial values with a few training steps' forward passes.
            Plan train = net.plan(4, Mode.TRAINING);
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < 3; i++) {
                train.input().copyFrom(Check.random(r, Check.count(train.input().dims())));
                train.forward();
            }
            float[] x = Check.random(r, 2 * 3 * 8 * 8);
            Plan folded = net.plan(2, Mode.INFERENCE);
            Plan plain = net.plan(2, Mode.INFERENCE, PlanOptions.unoptimised());
            folded.input().copyFrom(x);
            plain.input().copyFrom(x);
            float[] a = folded.forward().toFloatArray();
            float[] b = plain.forward().toFloatArray();
            Check.close("folded vs unfolded", new long[] {a.length}, b, a, 1e-5, 1e-4);
            assertTrue(folded.describe().stream().anyMatch(l -> l.contains("folded batchnorm")), folded.describe().toString());
            assertFalse(folded.describe().stream().anyMatch(l -> l.startsWith("batchnorm")), folded.describe().toString());
        }
    }

    @Test
    void aTrainingStepAllocatesNothingAndCreatesNoPrimitive() {
        try (Scope check = Scope.leakChecked("alloc"); Network net = Network.create(dense(), 3)) {
            Plan plan = net.plan(4, Mode.TRAINING);
            SplittableRandom r = new SplittableRandom(5);
            plan.input().copyFrom(Check.random(r, Check.count(plan.input().dims())));
            plan.forward();
            plan.backward();
            long allocations = plan.scope().allocations();
            int live = NativeResource.liveCount();
            long bytes = NativeResource.liveBytes();
            for (int i = 0; i < 5; i++) {
                plan.forward();
                plan.outputGradient().segment().fill((byte) 0);
                plan.backward();
            }
            assertEquals(allocations, plan.scope().allocations(), "allocations by the plan's scope");
            assertEquals(live, NativeResource.liveCount(), "live native resources");
            assertEquals(bytes, NativeResource.liveBytes(), "live native bytes");
        }
    }

    @Test
    void closingTheNetworkClosesItsPlans() {
        Plan plan;
        try (Scope check = Scope.leakChecked("close"); Network net = Network.create(smallConvnet(), 1)) {
            plan = net.plan(2, Mode.TRAINING);
            net.plan(8, Mode.INFERENCE);
        }
        assertTrue(plan.isClosed());
        assertThrows(IllegalStateException.class, plan::forward);
    }
}
