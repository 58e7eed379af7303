package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.testing.Check;
import dev.stride.train.Adam;
import dev.stride.train.AdamW;
import dev.stride.train.GradClip;
import dev.stride.train.LrSchedule;
import dev.stride.train.Optimizer;
import dev.stride.train.Parameter;
import dev.stride.train.Sgd;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Optimizers, gradient clipping and learning-rate schedules against PyTorch 1.13 ({@code tests/golden/optim.py}):
 * the same initial values and the same gradient at each of 5 steps, replayed here; values compared after every
 * step.
 */
class OptimGoldenTest {

    static final int STEPS = 5;
    static final Predicate<Parameter> BIAS = p -> p.name().equals("b");

    private static Npy.Floats load(String name) throws Exception {
        return Npy.readFloats(Path.of(OptimGoldenTest.class.getResource("/golden/optim/" + name + ".npy").toURI()));
    }

    static Stream<Arguments> optimizers() {
        return Stream.of(
                Arguments.of("sgd", (BiFunction<Scope, List<Parameter>, Optimizer>) (s, ps) -> Sgd.builder(0.1).build(s, ps)),
                Arguments.of("sgd_wd", opt((s, ps) -> Sgd.builder(0.1).weightDecay(0.05).build(s, ps))),
                Arguments.of("sgd_momentum", opt((s, ps) -> Sgd.builder(0.05).momentum(0.9).weightDecay(1e-2).build(s, ps))),
                Arguments.of("sgd_dampening", opt((s, ps) -> Sgd.builder(0.05).momentum(0.8).dampening(0.3).build(s, ps))),
                Arguments.of("sgd_nesterov", opt((s, ps) -> Sgd.builder(0.05).momentum(0.9).nesterov(true).weightDecay(5e-3)
                        .noWeightDecay(BIAS).build(s, ps))),
                Arguments.of("adam", opt((s, ps) -> Adam.builder().lr(1e-2).build(s, ps))),
                Arguments.of("adam_wd", opt((s, ps) -> Adam.builder().lr(1e-2).betas(0.8, 0.99).eps(1e-6).weightDecay(0.1)
                        .noWeightDecay(BIAS).build(s, ps))),
                Arguments.of("adamw", opt((s, ps) -> AdamW.builder().lr(1e-2).build(s, ps))),
                Arguments.of("adamw_wd", opt((s, ps) -> AdamW.builder().lr(2e-2).betas(0.85, 0.995).weightDecay(0.3)
                        .noWeightDecay(BIAS).build(s, ps))));
    }

    private static BiFunction<Scope, List<Parameter>, Optimizer> opt(BiFunction<Scope, List<Parameter>, Optimizer> f) {
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void optimizerMatchesPyTorchStepByStep(String name, BiFunction<Scope, List<Parameter>, Optimizer> make)
            throws Exception {
        Npy.Floats w0 = load("w0");
        Npy.Floats b0 = load("b0");
        float[] gw = load("gw").data();
        float[] gb = load("gb").data();
        float[] wantW = load(name + "_w").data();
        float[] wantB = load(name + "_b").data();
        int nw = w0.data().length;
        int nb = b0.data().length;
        try (Scope scope = Scope.leakChecked("golden " + name)) {
            Parameter w = new Parameter("w", Tensor.of(scope, "w", w0.data(), w0.shape()), Tensor.zeros(scope, "w.grad", w0.shape()));
            Parameter b = new Parameter("b", Tensor.of(scope, "b", b0.data(), b0.shape()), Tensor.zeros(scope, "b.grad", b0.shape()));
            Optimizer opt = make.apply(scope, List.of(w, b));
            for (int t = 0; t < STEPS; t++) {
                w.grad().copyFrom(Arrays.copyOfRange(gw, t * nw, (t + 1) * nw));
                b.grad().copyFrom(Arrays.copyOfRange(gb, t * nb, (t + 1) * nb));
                opt.step();
                Check.close(name + " w after step " + (t + 1), w0.shape(), Arrays.copyOfRange(wantW, t * nw, (t + 1) * nw),
                        w.value().toFloatArray(), 1e-7, 1e-6);
                Check.close(name + " b after step " + (t + 1), b0.shape(), Arrays.copyOfRange(wantB, t * nb, (t + 1) * nb),
                        b.value().toFloatArray(), 1e-7, 1e-6);
            }
        }
    }

    @Test
    void clipGradNormAndValueMatchPyTorch() throws Exception {
        Npy.Floats w0 = load("w0");
        Npy.Floats b0 = load("b0");
        float[] gw = load("gw").data();
        float[] gb = load("gb").data();
        int nw = w0.data().length;
        int nb = b0.data().length;
        try (Scope scope = Scope.leakChecked("golden clip")) {
            Parameter w = new Parameter("w", Tensor.of(scope, "w", w0.data(), w0.shape()), Tensor.zeros(scope, "w.grad", w0.shape()));
            Parameter b = new Parameter("b", Tensor.of(scope, "b", b0.data(), b0.shape()), Tensor.zeros(scope, "b.grad", b0.shape()));
            List<Parameter> ps = List.of(w, b);
            w.grad().copyFrom(Arrays.copyOfRange(gw, 0, nw));
            b.grad().copyFrom(Arrays.copyOfRange(gb, 0, nb));
            double total = GradClip.byNorm(ps, 5.0);
            assertEquals(load("clip_norm_total").data()[0], total, 1e-6 * total);
            Check.close("clip_grad_norm_ w", w0.shape(), load("clip_norm_w").data(), w.grad().toFloatArray(), 1e-7, 1e-6);
            Check.close("clip_grad_norm_ b", b0.shape(), load("clip_norm_b").data(), b.grad().toFloatArray(), 1e-7, 1e-6);
            w.grad().copyFrom(Arrays.copyOfRange(gw, nw, 2 * nw));
            b.grad().copyFrom(Arrays.copyOfRange(gb, nb, 2 * nb));
            GradClip.byValue(ps, 0.5);
            assertArrayEquals(load("clip_value_w").data(), w.grad().toFloatArray());
            assertArrayEquals(load("clip_value_b").data(), b.grad().toFloatArray());
        }
    }

    static Stream<Arguments> schedules() {
        return Stream.of(
                Arguments.of("lr_step", LrSchedule.stepDecay(0.1, 3, 0.5)),
                Arguments.of("lr_multistep", LrSchedule.multiStepDecay(0.1, 0.1, 2, 5, 9)),
                Arguments.of("lr_cosine", LrSchedule.cosine(0.1, 10, 0.001)),
                Arguments.of("lr_linear", LrSchedule.linear(0.1, 0.1, 1.0, 4)),
                Arguments.of("lr_warmup_cosine", LrSchedule.warmup(3, 0.01, LrSchedule.cosine(0.1, 7, 0))),
                Arguments.of("lr_warmup_step", LrSchedule.warmup(2, 0.25, LrSchedule.stepDecay(0.1, 3, 0.1))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schedules")
    void scheduleMatchesPyTorchScheduler(String name, LrSchedule schedule) throws Exception {
        float[] want = load(name).data();
        for (int t = 0; t < want.length; t++) {
            // PyTorch steps most schedulers recursively; the closed forms agree to rounding (goldens are f32).
            assertEquals(want[t], schedule.lr(t), 1e-9 + 1e-6 * want[t], name + " at step " + t);
        }
    }
}
