package dev.stride.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.testing.Check;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/** What every optimizer promises: no allocation per step, checkpointable state, lifecycle and input checks. */
class OptimizerTest {

    /** Three parameters of awkward sizes (not multiples of a vector), a 2D one, a 4D one and a bias. */
    static List<Parameter> network(Scope scope, SplittableRandom r) {
        return List.of(
                Params.of(scope, "conv1.weight", Check.random(r, 8 * 3 * 5 * 5), 8, 3, 5, 5),
                Params.of(scope, "conv1.bias", Check.random(r, 8), 8),
                Params.of(scope, "fc.weight", Check.random(r, 10 * 123), 10, 123));
    }

    static void randomGrads(List<Parameter> ps, SplittableRandom r) {
        for (Parameter p : ps) {
            p.grad().copyFrom(Check.random(r, p.elements()));
        }
    }

    static final List<BiFunction<Scope, List<Parameter>, Optimizer>> OPTIMIZERS = List.of(
            (s, ps) -> Sgd.builder(0.1).build(s, ps),
            (s, ps) -> Sgd.builder(0.1).momentum(0.9).dampening(0.1).weightDecay(1e-3).build(s, ps),
            (s, ps) -> Sgd.builder(0.1).momentum(0.9).nesterov(true).weightDecay(1e-3)
                    .noWeightDecay(Optimizer::isBiasOrNorm).build(s, ps),
            (s, ps) -> Adam.builder().lr(1e-2).weightDecay(1e-2).noWeightDecay(Optimizer::isBiasOrNorm).build(s, ps),
            (s, ps) -> AdamW.builder().lr(1e-2).build(s, ps));

    @Test
    void stepAllocatesNoNativeMemory() {
        try (Scope scope = Scope.leakChecked("no allocation")) {
            SplittableRandom r = new SplittableRandom(1);
            List<Parameter> ps = network(scope, r);
            randomGrads(ps, r);
            for (var make : OPTIMIZERS) {
                Optimizer opt = make.apply(scope, ps);
                long allocations = scope.allocations();
                long bytes = scope.bytesAllocated();
                int live = NativeResource.liveCount();
                long liveBytes = NativeResource.liveBytes();
                for (int i = 0; i < 50; i++) {
                    opt.setLearningRate(opt.learningRate() * 0.99);
                    GradClip.byNorm(ps, 0.5);
                    GradClip.byValue(ps, 0.01);
                    opt.step();
                }
                String what = opt.toString();
                assertEquals(allocations, scope.allocations(), what + ": resources created during steps");
                assertEquals(bytes, scope.bytesAllocated(), what + ": native bytes allocated during steps");
                assertEquals(live, NativeResource.liveCount(), what + ": live native resources changed");
                assertEquals(liveBytes, NativeResource.liveBytes(), what + ": live native bytes changed");
                assertEquals(50, opt.stepCount());
                opt.close();
            }
        }
    }

    @Test
    void stepAllocatesNoHeapMemoryOnceCompiled() {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (Scope scope = Scope.leakChecked("no heap allocation")) {
            SplittableRandom r = new SplittableRandom(2);
            List<Parameter> ps = network(scope, r);
            randomGrads(ps, r);
            for (var make : OPTIMIZERS) {
                Optimizer opt = make.apply(scope, ps);
                for (int i = 0; i < 300; i++) {
                    GradClip.byNorm(ps, 1e9);
                    opt.step();
                }
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 200; i++) {
                    GradClip.byNorm(ps, 1e9);
                    opt.step();
                }
                long bytes = threads.getCurrentThreadAllocatedBytes() - before;
                // A scratch array allocated per step would be >= 1 KiB a step; allow a little for the JIT's own work.
                assertTrue(bytes < 200 * 64, opt + ": " + bytes + " heap bytes allocated in 200 steps");
                opt.close();
            }
        }
    }

    @Test
    void resumingFromSavedStateContinuesExactly() {
        for (var make : OPTIMIZERS) {
            try (Scope scope = Scope.leakChecked("resume")) {
                SplittableRandom r = new SplittableRandom(7);
                List<Parameter> straight = network(scope, new SplittableRandom(3));
                List<Parameter> resumed = network(scope, new SplittableRandom(3));
                List<List<float[]>> grads = new ArrayList<>();
                for (int t = 0; t < 5; t++) {
                    List<float[]> g = new ArrayList<>();
                    for (Parameter p : straight) {
                        g.add(Check.random(r, p.elements()));
                    }
                    grads.add(g);
                }
                Optimizer a = make.apply(scope, straight);
                for (int t = 0; t < 5; t++) {
                    setGrads(straight, grads.get(t));
                    a.step();
                }
                // Run 3 steps, save values, state and step count, then restore them into fresh objects.
                Optimizer b = make.apply(scope, resumed);
                for (int t = 0; t < 3; t++) {
                    setGrads(resumed, grads.get(t));
                    b.step();
                }
                List<float[]> savedValues = Params.snapshot(resumed);
                Map<String, float[]> savedState = new java.util.LinkedHashMap<>();
                b.state().forEach((k, v) -> savedState.put(k, v.toFloatArray()));
                long savedSteps = b.stepCount();
                b.close();
                List<Parameter> fresh = network(scope, new SplittableRandom(99));
                for (int i = 0; i < fresh.size(); i++) {
                    fresh.get(i).value().copyFrom(savedValues.get(i));
                }
                Optimizer c = make.apply(scope, fresh);
                assertEquals(savedState.keySet(), c.state().keySet());
                c.state().forEach((k, v) -> v.copyFrom(savedState.get(k)));
                c.setStepCount(savedSteps);
                for (int t = 3; t < 5; t++) {
                    setGrads(fresh, grads.get(t));
                    c.step();
                }
                for (int i = 0; i < fresh.size(); i++) {
                    assertArrayEquals(Params.values(straight.get(i)), Params.values(fresh.get(i)),
                            a + ": " + fresh.get(i).name() + " after resuming differs from the uninterrupted run");
                }
            }
        }
    }

    private static void setGrads(List<Parameter> ps, List<float[]> g) {
        for (int i = 0; i < ps.size(); i++) {
            ps.get(i).grad().copyFrom(g.get(i));
        }
    }

    @Test
    void learningRateCanChangeBetweenSteps() {
        try (Scope scope = Scope.leakChecked("lr")) {
            Parameter p = Params.of(scope, "w", 1.0);
            Sgd sgd = Sgd.builder(0.1).build(scope, List.of(p));
            Params.grad(p, 1.0);
            sgd.step();
            sgd.setLearningRate(0.01);
            assertEquals(0.01, sgd.learningRate());
            sgd.step();
            assertEquals(1 - 0.1 - 0.01, Params.values(p)[0], 1e-7);
            var e = assertThrows(IllegalArgumentException.class, () -> sgd.setLearningRate(Double.POSITIVE_INFINITY));
            assertEquals("SGD: learning rate must be a finite number >= 0, got Infinity", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> sgd.setStepCount(-1));
        }
    }

    @Test
    void closedOptimizerOrClosedParameterThrows() {
        try (Scope scope = Scope.leakChecked("closed")) {
            Parameter p = Params.of(scope, "w", 1.0, 2.0);
            Adam adam = Adam.builder().build(scope, List.of(p));
            assertEquals(2 * 2 * 4, adam.stateBytes());
            adam.close();
            adam.close();
            assertTrue(adam.isClosed());
            var e = assertThrows(IllegalStateException.class, adam::step);
            assertTrue(e.getMessage().startsWith("Adam optimizer is closed"), e.getMessage());
            assertThrows(IllegalStateException.class, adam::state);

            Sgd sgd = Sgd.builder(0.1).build(scope, List.of(p));
            p.grad().close();
            e = assertThrows(IllegalStateException.class, sgd::step);
            assertTrue(e.getMessage().contains("'w.grad'"), e.getMessage());
        }
    }

    @Test
    void closingTheScopeFreesTheState() {
        Optimizer opt;
        try (Scope params = Scope.leakChecked("params")) {
            Parameter p = Params.of(params, "w", 1.0, 2.0);
            try (Scope scope = Scope.open("optimizer owner")) {
                opt = Sgd.builder(0.1).momentum(0.9).build(scope, List.of(p));
                assertFalse(opt.isClosed());
            }
            assertTrue(opt.isClosed());
        }
    }

    @Test
    void parametersAreCheckedWhenCreated() {
        try (Scope scope = Scope.leakChecked("parameter checks")) {
            Tensor v = Tensor.zeros(scope, "v", 2, 3);
            var e = assertThrows(IllegalArgumentException.class, () -> new Parameter("fc.weight", v, Tensor.zeros(scope, "g", 3, 2)));
            assertEquals("parameter 'fc.weight': grad dims [3, 2] differ from value dims [2, 3]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Parameter("fc.weight", v, v));
            assertEquals("parameter 'fc.weight': value and grad share memory ('v' and 'v')", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Parameter("", v, v));
            assertEquals("parameter name must be a non-empty string, got ''", e.getMessage());
            Parameter ok = new Parameter("fc.weight", v, Tensor.zeros(scope, "g", 2, 3));
            assertEquals(6, ok.elements());
            e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).build(scope, List.of(ok, ok)));
            assertEquals("SGD: parameter names must be unique, 'fc.weight' appears twice", e.getMessage());
        }
    }

    @Test
    void weightDecayExclusionPicksOneDimensionalParameters() {
        try (Scope scope = Scope.leakChecked("exclusion")) {
            List<Parameter> ps = network(scope, new SplittableRandom(5));
            Sgd sgd = Sgd.builder(0.1).weightDecay(0.1).noWeightDecay(Optimizer::isBiasOrNorm).build(scope, ps);
            assertTrue(sgd.decays(0));
            assertFalse(sgd.decays(1));
            assertTrue(sgd.decays(2));
            Sgd none = Sgd.builder(0.1).noWeightDecay(p -> false).build(scope, ps);
            assertFalse(none.decays(0), "no weight decay at all when it is 0");
        }
    }
}
