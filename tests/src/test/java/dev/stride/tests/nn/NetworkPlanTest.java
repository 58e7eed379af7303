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
import dev.stride.nn.Node;
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

    /**
     * A dense block's concatenation stacks its inputs' channels and keeps the first input's channel-blocked
     * layout even where a later input starts inside a block (12 + 4 + 4 channels), so the layers after it do
     * not fall back to their plain-layout kernels.
     */
    @Test
    void concatStacksItsInputsInTheFirstInputsBlockedLayout() {
        NetworkBuilder b = NetworkBuilder.input(3, 6, 6).conv(12, 3);
        Node a = b.current();
        Node c = b.conv(4, 3).current();
        Node d = b.from(a).conv(4, 3).current();
        NetworkSpec spec = b.from(a).concat(c, d).build();
        try (Scope check = Scope.leakChecked("concat"); Network net = Network.create(spec, 9)) {
            Plan plan = net.plan(2, Mode.TRAINING);
            float[] x = Check.random(new SplittableRandom(3), Check.count(plan.input().dims()));
            plan.input().copyFrom(x);
            float[] out = plan.forward().toFloatArray();

            double[] ya = conv(net, "conv1", new long[] {2, 3, 6, 6}, 12, Check.toDouble(x));
            double[] yc = conv(net, "conv2", new long[] {2, 12, 6, 6}, 4, ya);
            double[] yd = conv(net, "conv3", new long[] {2, 12, 6, 6}, 4, ya);
            double[] want = new double[out.length];
            int plane = 36;
            for (int n = 0; n < 2; n++) {
                System.arraycopy(ya, n * 12 * plane, want, n * 20 * plane, 12 * plane);
                System.arraycopy(yc, n * 4 * plane, want, (n * 20 + 12) * plane, 4 * plane);
                System.arraycopy(yd, n * 4 * plane, want, (n * 20 + 16) * plane, 4 * plane);
            }
            Check.close("concat", new long[] {2, 20, 6, 6}, Check.toFloat(want), out, 1e-5, 1e-4);

            String conv1 = line(plan, "conv1");
            String dst = conv1.substring(conv1.indexOf("dst ") + 4).split("[ ,]")[0];
            String concat = line(plan, "concat1");
            if (!dst.equals("abcd")) {
                assertEquals("concat1: concat " + dst, concat, plan.describe().toString());
            }
        }
    }

    private static double[] conv(Network net, String name, long[] src, int filters, double[] x) {
        var g = dev.stride.conv.Convolution.Geometry.of(name, src,
                dev.stride.conv.Convolution.Params.of(filters, 3).samePadding());
        return dev.stride.conv.ConvolutionReference.forward(g, x,
                Check.toDouble(net.tensor(name + ".weight").toFloatArray()),
                Check.toDouble(net.tensor(name + ".bias").toFloatArray()));
    }

    private static String line(Plan plan, String layer) {
        return plan.describe().stream().filter(l -> l.startsWith(layer + ":") || l.startsWith(layer + " "))
                .findFirst().orElseThrow(() -> new AssertionError("no " + layer + " in " + plan.describe()));
    }

    @Test
    void aBatchTooLargeForOneTensorIsNamedWithTheLargestLayerAndTheMostThatFits() {
        try (Scope check = Scope.leakChecked("batch");
                Network net = Network.create(NetworkBuilder.input(1, 4, 3).flatten().fc(4).build(), 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> net.plan(Integer.MAX_VALUE, Mode.INFERENCE));
            // 2147483647 * 12 elements; (2^31 - 1) / 12 = 178956970 samples fit.
            assertEquals("batch 2147483647 is too large: input's 1x4x3 per sample makes 25769803764 elements, more than "
                    + "one tensor may hold (2147483647, MemoryDesc.MAX_ELEMENTS); at most batch 178956970", e.getMessage());
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
