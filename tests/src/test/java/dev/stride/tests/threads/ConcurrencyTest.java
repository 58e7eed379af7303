package dev.stride.tests.threads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.Arg;
import dev.stride.core.ExecArgs;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanPool;
import dev.stride.testing.Check;
import dev.stride.testing.ChildJvm;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The thread contract of the core and of plans, each checked against the single-threaded result: a primitive is
 * shared by threads with their own bindings and streams; a binding, a stream or a plan used by two threads at
 * once is refused naming both; plans of one network (and a {@link PlanPool}) serve many threads; closing while
 * another thread computes waits (plans, networks) or is refused (tensors), never frees memory under the call.
 */
class ConcurrencyTest {

    static final int THREADS = 8;

    static NetworkSpec convnet() {
        return NetworkBuilder.input(2, 10, 10).conv(8, 3).batchNorm().relu().maxPool(2, 2).conv(16, 3).relu()
                .flatten().fc(10).build();
    }

    static NetworkSpec gated(Threads.Gate gate) {
        return NetworkBuilder.input(2, 10, 10).conv(8, 3).relu().flatten().fc(10).layer(gate).build();
    }

    static float[][] inputs(int count, long elements, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] in = new float[count][];
        for (int i = 0; i < count; i++) {
            in[i] = Check.random(r, elements);
        }
        return in;
    }

    /** The plan's outputs for {@code inputs}, one after the other on the calling thread. */
    static float[][] run(Plan plan, float[][] inputs) {
        float[][] out = new float[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            plan.input().copyFrom(inputs[i]);
            out[i] = plan.forward().toFloatArray();
        }
        return out;
    }

    // (a) one primitive, a binding per thread

    @Test
    void aSharedPrimitiveWithABindingPerThreadGivesTheSingleThreadedResults() throws InterruptedException {
        try (Scope scope = Scope.leakChecked("shared primitive")) {
            long[] srcDims = {2, 16, 12, 12};
            // Inference: oneDNN picks its brgemm convolutions here, which use a scratchpad (on AVX2 and AVX-512).
            var conv = Convolution.Forward.create(scope, "conv", srcDims, Convolution.Params.of(24, 3).padding(1),
                    dev.stride.core.PropKind.INFERENCE, null);
            var g = conv.geometry();
            SplittableRandom r = new SplittableRandom(3);
            float[] w = Check.random(r, Check.count(g.weights()));
            float[] b = Check.random(r, Check.count(g.bias()));
            Tensor weights = Tensor.allocate(scope, "weights", conv.weightsDesc());
            weights.copyFrom(w);
            Tensor bias = Tensor.of(scope, "bias", b, g.bias());
            float[][] in = inputs(4, Check.count(srcDims), 5);

            float[][] want = Threads.singleThreaded(() -> {
                float[][] out = new float[in.length][];
                try (Scope s = Scope.open("reference"); Stream stream = Stream.create(s)) {
                    Tensor src = Tensor.allocate(s, "src", conv.srcDesc());
                    Tensor dst = Tensor.allocate(s, "dst", conv.dstDesc());
                    ExecArgs args = conv.bind(s, src, weights, bias, dst);
                    for (int i = 0; i < in.length; i++) {
                        src.copyFrom(in[i]);
                        conv.execute(stream, args);
                        stream.await();
                        out[i] = dst.toFloatArray();
                    }
                }
                return out;
            });
            // The single-threaded result itself against the formula, so the comparison below means something.
            Check.close("conv vs naive loops", g.dst(), ConvolutionReference.forward(g, in[0], w, b), want[0], 1e-4, 1e-4);

            ExecArgs[] bound = new ExecArgs[THREADS];
            Threads.together(THREADS, t -> {
                try (Scope s = Scope.open("worker"); Stream stream = Stream.create(s)) {
                    Tensor src = Tensor.allocate(s, "src", conv.srcDesc());
                    Tensor dst = Tensor.allocate(s, "dst", conv.dstDesc());
                    ExecArgs args = conv.bind(s, src, weights, bias, dst);
                    bound[t] = args;
                    for (int it = 0; it < 40; it++) {
                        int i = (t + it) % in.length;
                        src.copyFrom(in[i]);
                        conv.execute(stream, args);
                        stream.await();
                        assertArrayEquals(want[i], dst.toFloatArray(), "thread " + t + ", iteration " + it);
                    }
                }
            });
            Tensor scratch0 = bound[0].tensor(Arg.SCRATCHPAD);
            if (scratch0 != null) { // where oneDNN's implementation uses one, every binding has its own
                assertNotSame(scratch0, bound[1].tensor(Arg.SCRATCHPAD));
            }
        }
    }

    // (a') one binding on two threads is refused

    @Test
    void oneBindingOnTwoThreadsAtOnceIsRefusedNamingBoth() throws InterruptedException {
        try (Scope scope = Scope.leakChecked("shared binding")) {
            long[] dims = {1 << 20};
            var exp = dev.stride.eltwise.Eltwise.Forward.create(scope, "exp",
                    dev.stride.core.MemoryDesc.plain(scope, dims), dev.stride.eltwise.Eltwise.Algorithm.EXP, 0, 0,
                    dev.stride.core.PropKind.INFERENCE);
            float[] x = Check.random(new SplittableRandom(9), dims[0]);
            Tensor src = Tensor.of(scope, "src", x, dims);
            Tensor dst = Tensor.zeros(scope, "dst", dims);
            ExecArgs args = exp.bind(scope, src, dst);
            AtomicInteger refused = new AtomicInteger();
            for (int round = 0; round < 50 && refused.get() == 0; round++) {
                Threads.together(THREADS, t -> {
                    try (Scope s = Scope.open("worker"); Stream stream = Stream.create(s)) {
                        for (int it = 0; it < 10; it++) {
                            try {
                                exp.execute(stream, args);
                            } catch (IllegalStateException e) {
                                assertRefusal(e.getMessage(), "ExecArgs for exp");
                                refused.incrementAndGet();
                            }
                        }
                    }
                });
            }
            assertTrue(refused.get() > 0, "8 threads executing one binding never collided");
            float[] got = dst.toFloatArray();
            for (int i = 0; i < x.length; i += 997) {
                assertEquals(Math.exp(x[i]), got[i], 1e-5 * Math.exp(x[i]), "exp at " + i);
            }
        }
    }

    /** A refusal names the object, the thread inside and the thread that called. */
    static void assertRefusal(String message, String what) {
        assertTrue(message.startsWith(what), message);
        assertTrue(message.matches("(?s).* is in use by thread '[^']+' \\(id \\d+\\); thread '[^']+' \\(id \\d+\\) called.*"),
                message);
    }

    // (b) one plan on two threads is refused, and the running call's result stays right

    @Test
    void aSharedPlanCalledWhileAnotherThreadIsInsideIsRefusedNamingBoth() throws InterruptedException {
        try (Scope check = Scope.leakChecked("shared plan")) {
            Threads.Gate gate = new Threads.Gate();
            try (Network net = Network.create(gated(gate), 4)) {
                Plan plan = net.plan(3, Mode.INFERENCE);
                float[] in = inputs(1, Check.count(plan.input().dims()), 1)[0];
                float[] want = Threads.singleThreaded(() -> run(plan, new float[][] {in})[0]);

                gate.arm();
                Throwable[] failure = new Throwable[1];
                float[][] got = new float[1][];
                Thread inside = Threads.start("inside", failure, () -> got[0] = plan.forward().toFloatArray());
                gate.awaitArrival();
                IllegalStateException e = assertThrows(IllegalStateException.class, plan::forward);
                assertRefusal(e.getMessage(), "plan(batch=3, inference)");
                assertTrue(e.getMessage().contains(Threads.label(inside)), e.getMessage());
                assertTrue(e.getMessage().contains(Threads.label(Thread.currentThread())), e.getMessage());
                gate.release();
                inside.join(10_000);
                assertNull(failure[0]);
                assertArrayEquals(want, got[0], "the call inside was not disturbed");
                assertArrayEquals(want, gate.seen, "the memory under the gate was whole");
                assertArrayEquals(want, plan.forward().toFloatArray(), "the plan stays usable");
            }
        }
    }

    @Test
    void aSharedPlanHammeredByEightThreadsRefusesAndNeverGoesWrong() throws InterruptedException {
        try (Scope check = Scope.leakChecked("shared plan stress"); Network net = Network.create(convnet(), 4)) {
            Plan plan = net.plan(4, Mode.INFERENCE);
            float[] in = inputs(1, Check.count(plan.input().dims()), 2)[0];
            float[] want = Threads.singleThreaded(() -> run(plan, new float[][] {in})[0]);
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger ran = new AtomicInteger();
            for (int round = 0; round < 50 && refused.get() == 0; round++) {
                Threads.together(THREADS, t -> {
                    for (int it = 0; it < 20; it++) {
                        try {
                            plan.forward();
                            ran.incrementAndGet();
                        } catch (IllegalStateException e) {
                            assertRefusal(e.getMessage(), "plan(batch=4, inference)");
                            refused.incrementAndGet();
                        }
                    }
                });
            }
            assertTrue(refused.get() > 0 && ran.get() > 0, refused + " refused, " + ran + " ran");
            assertArrayEquals(want, plan.forward().toFloatArray(), "after the storm the plan computes as before");
        }
    }

    // (c) serving: a plan per thread, and the pool

    @Test
    void plansPerThreadOverOneNetworkGiveTheSingleThreadedOutputs() throws InterruptedException {
        try (Scope check = Scope.leakChecked("plan per thread"); Network net = Network.create(convnet(), 4)) {
            float[][] in = inputs(4, 4L * 2 * 10 * 10, 3);
            float[][] want = Threads.singleThreaded(() -> {
                try (Plan p = net.plan(4, Mode.INFERENCE)) {
                    return run(p, in);
                }
            });
            Threads.together(THREADS, t -> {
                try (Plan p = net.plan(4, Mode.INFERENCE)) { // planned concurrently too
                    for (int it = 0; it < 30; it++) {
                        int i = (t + it) % in.length;
                        p.input().copyFrom(in[i]);
                        assertArrayEquals(want[i], p.forward().toFloatArray(), "thread " + t + ", iteration " + it);
                    }
                }
            });
        }
    }

    @Test
    void aPlanPoolServesEightThreadsWithTheSingleThreadedOutputs() throws InterruptedException {
        try (Scope check = Scope.leakChecked("plan pool"); Network net = Network.create(convnet(), 4)) {
            int batch = 4;
            int sample = 2 * 10 * 10;
            float[][] in = inputs(3, (long) batch * sample, 4);
            float[][] want = Threads.singleThreaded(() -> {
                try (Plan p = net.plan(batch, Mode.INFERENCE)) {
                    return run(p, in);
                }
            });
            try (PlanPool pool = Threads.singleThreaded(() -> PlanPool.create(net, batch, 3))) {
                assertEquals(sample, pool.sampleSize());
                assertEquals(10, pool.outputSize());
                Threads.together(THREADS, t -> {
                    for (int it = 0; it < 30; it++) {
                        int i = (t + it) % in.length;
                        int k = 1 + (t + it) % batch; // the first k samples of input i
                        float[] got = pool.predict(Arrays.copyOf(in[i], k * sample));
                        assertArrayEquals(Arrays.copyOf(want[i], k * 10), got, "thread " + t + ", " + k + " samples");
                    }
                });
                IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                        () -> pool.predict(new float[sample + 1]));
                assertTrue(bad.getMessage().contains("k x 200 floats"), bad.getMessage());
            }
        }
    }

    @Test
    void closingAPlanPoolWaitsForTheCallsInFlightAndRefusesNewOnes() throws InterruptedException {
        try (Scope check = Scope.leakChecked("pool close")) {
            Threads.Gate gate = new Threads.Gate();
            try (Network net = Network.create(gated(gate), 4)) {
                PlanPool pool = PlanPool.create(net, 2, 2);
                float[] in = inputs(1, 2L * 2 * 10 * 10, 6)[0];
                float[] want = pool.predict(in);
                gate.arm();
                Throwable[] failure = new Throwable[2];
                float[][] got = new float[1][];
                Thread caller = Threads.start("caller", failure, () -> got[0] = pool.predict(in));
                gate.awaitArrival();
                Thread closer = Threads.start("closer", new Throwable[1], pool::close);
                closer.join(200);
                assertTrue(closer.isAlive(), "close did not wait for the call in flight");
                gate.release();
                caller.join(10_000);
                closer.join(10_000);
                assertFalse(closer.isAlive());
                assertNull(failure[0]);
                assertArrayEquals(want, got[0]);
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.predict(in));
                assertEquals("plan pool is closed", e.getMessage());
            }
        }
    }

    // (d) close during use

    @Test
    void closingTheNetworkWhileAPlanRunsWaitsForTheCallThenClosesEverything() throws InterruptedException {
        closeWhileInside(true);
    }

    @Test
    void closingAPlanWhileItRunsWaitsForTheCallThenCloses() throws InterruptedException {
        closeWhileInside(false);
    }

    private static void closeWhileInside(boolean wholeNetwork) throws InterruptedException {
        try (Scope check = Scope.leakChecked("close during forward")) {
            Threads.Gate gate = new Threads.Gate();
            Network net = Network.create(gated(gate), 4);
            Plan plan = net.plan(3, Mode.INFERENCE);
            Plan other = net.plan(2, Mode.INFERENCE);
            float[] in = inputs(1, Check.count(plan.input().dims()), 7)[0];
            float[] want = run(plan, new float[][] {in})[0];

            gate.arm();
            Throwable[] failure = new Throwable[2];
            Thread inside = Threads.start("inside", failure, () -> plan.forward());
            gate.awaitArrival();
            Thread closer = Threads.start("closer", new Throwable[1], wholeNetwork ? net::close : plan::close);
            closer.join(200);
            assertTrue(closer.isAlive(), "close did not wait for the forward running on another thread");
            // Closing has begun: new calls are refused as closed, the running one goes on.
            assertEquals("plan(batch=3, inference) is closed",
                    assertThrows(IllegalStateException.class, plan::forward).getMessage());
            gate.release();
            inside.join(10_000);
            closer.join(10_000);
            assertFalse(closer.isAlive());
            assertNull(failure[0], () -> "the call inside failed: " + failure[0]);
            assertArrayEquals(want, gate.seen, "the forward's memory was freed under it");
            assertTrue(plan.isClosed());
            IllegalStateException e = assertThrows(IllegalStateException.class, plan::forward);
            assertEquals("plan(batch=3, inference) is closed", e.getMessage());
            if (wholeNetwork) {
                assertTrue(net.isClosed() && other.isClosed());
                assertThrows(IllegalStateException.class, () -> net.plan(1, Mode.INFERENCE));
            } else {
                assertFalse(net.isClosed());
                other.input().copyFrom(Arrays.copyOf(in, (int) Check.count(other.input().dims())));
                other.forward(); // the rest of the network is untouched
                net.close();
            }
        }
    }

    @Test
    void closingATensorThatACallUsesIsRefusedNamingTheThreadAndLeavesItUsable() throws InterruptedException {
        try (Scope check = Scope.leakChecked("close in use")) {
            Scope scope = Scope.open("owner");
            Tensor t = Tensor.of(scope, "t", new float[] {1, -2, 3}, 3);
            var relu = dev.stride.eltwise.Eltwise.Forward.create(scope, "relu", t.desc(),
                    dev.stride.eltwise.Eltwise.Algorithm.RELU, 0, 0, dev.stride.core.PropKind.INFERENCE);
            Tensor out = Tensor.zeros(scope, "out", 3);
            ExecArgs args = relu.bind(scope, t, out);
            Threads.InUse user = new Threads.InUse(t, "a kernel"); // what an execution or a custom op does
            IllegalStateException e = assertThrows(IllegalStateException.class, t::close);
            assertTrue(e.getMessage().startsWith("Tensor 't'"), e.getMessage());
            assertTrue(e.getMessage().contains("in use by thread " + Threads.label(user.thread)), e.getMessage());
            assertTrue(e.getMessage().contains("stays usable"), e.getMessage());
            assertFalse(t.isClosed());
            // A scope closing around it frees everything else, keeps the tensor, stays open.
            IllegalStateException s = assertThrows(IllegalStateException.class, scope::close);
            assertTrue(s.getMessage().contains("1 resource(s) in use stay open"), s.getMessage());
            assertFalse(scope.isClosed());
            assertFalse(t.isClosed());
            assertTrue(relu.isClosed() && args.isClosed() && out.isClosed());
            assertArrayEquals(new float[] {1, -2, 3}, t.toFloatArray(), "still usable");
            user.close();
            scope.close(); // now it goes; the leak check sees nothing left
            assertTrue(t.isClosed());
        }
    }

    @Test
    void tensorsAndNetworksClosedUnderRunningCallsNeverCrashAChildJvm() throws Exception {
        ChildJvm.Result r = ChildJvm.run(CloseRaces.class, 120);
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("eltwise race: ok"), r.output());
        assertTrue(r.output().contains("network race: ok"), r.output());
        assertTrue(r.output().contains("squeeze-excitation race: ok"), r.output());
    }

    @Test
    void aPlanPoolRefusesBadSizesBeforePlanning() {
        try (Scope check = Scope.leakChecked("pool args"); Network net = Network.create(convnet(), 3)) {
            assertEquals("no network given", assertThrows(IllegalArgumentException.class,
                    () -> PlanPool.create(null, 4, 2)).getMessage());
            assertEquals("plans must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                    () -> PlanPool.create(net, 4, 0)).getMessage());
            assertEquals("batch size must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                    () -> PlanPool.create(net, 0, 2)).getMessage());
            try (PlanPool pool = PlanPool.create(net, 2, 1)) {
                // One sample is 2 x 10 x 10 floats; 1.5 samples, 3 samples (over the batch) and none are refused.
                for (int floats : new int[] {300, 600, 0}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> pool.predict(new float[floats]));
                    assertTrue(e.getMessage().startsWith("samples: expected k x 200 floats")
                            && e.getMessage().endsWith("got " + floats), e.getMessage());
                }
            }
        }
    }
}
