package dev.stride.train;

import static dev.stride.testing.Check.close;
import static dev.stride.train.Params.f32;
import static dev.stride.train.Params.grad;
import static dev.stride.train.Params.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SGD against updates written out from torch.optim.SGD's formulas, in double precision. */
class SgdTest {

    /** Gradients for three steps of a 3-element weight and a 2-element bias. */
    static final double[][] GW = {f32(0.5, -1.25, 2.0), f32(-0.3, 0.7, 1.1), f32(0.05, -2.5, 0.4)};
    static final double[][] GB = {f32(1.5, -0.2), f32(0.25, 0.6), f32(-0.9, 0.35)};

    @Test
    void momentumWithoutNesterovOnOneElementByHand() {
        // p = 1, g = 0.5, lr = 0.1, momentum 0.9.
        // step 1: b = g = 0.5;              p = 1 - 0.1 * 0.5 = 0.95
        // step 2: b = 0.9 * 0.5 + 0.5 = 0.95; p = 0.95 - 0.1 * 0.95 = 0.855
        // step 3: b = 0.9 * 0.95 + 0.5 = 1.355; p = 0.855 - 0.1355 = 0.7195
        double[] want = {0.95, 0.855, 0.7195};
        try (Scope scope = Scope.leakChecked("sgd by hand")) {
            Parameter p = Params.of(scope, "w", 1.0);
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).build(scope, List.of(p));
            for (int t = 0; t < 3; t++) {
                grad(p, 0.5);
                sgd.step();
                assertEquals(want[t], values(p)[0], 1e-6, "step " + (t + 1));
            }
        }
    }

    @Test
    void nesterovOnOneElementByHand() {
        // step 1: b = 0.5;  d = g + 0.9 b = 0.95;   p = 1 - 0.095 = 0.905
        // step 2: b = 0.95; d = 0.5 + 0.855 = 1.355; p = 0.905 - 0.1355 = 0.7695
        double[] want = {0.905, 0.7695};
        try (Scope scope = Scope.leakChecked("nesterov by hand")) {
            Parameter p = Params.of(scope, "w", 1.0);
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).nesterov(true).build(scope, List.of(p));
            for (int t = 0; t < 2; t++) {
                grad(p, 0.5);
                sgd.step();
                assertEquals(want[t], values(p)[0], 1e-6, "step " + (t + 1));
            }
        }
    }

    @Test
    void plainSgdWithWeightDecay() {
        check(0.1, 0, 0, false, 0.05, false);
    }

    @Test
    void momentumWithDampeningAndWeightDecay() {
        check(0.05, 0.9, 0.3, false, 0.01, false);
    }

    @Test
    void nesterovWithWeightDecayExceptOnTheBias() {
        check(0.2, 0.8, 0, true, 0.1, true);
    }

    /** Three steps against {@code torch.optim.SGD}'s single-tensor update written out in double. */
    private static void check(double lr, double momentum, double dampening, boolean nesterov, double wd,
            boolean biasExcluded) {
        double[] w = f32(0.3, -0.7, 1.2);
        double[] b = f32(-0.1, 0.25);
        double[] bufW = new double[3];
        double[] bufB = new double[2];
        try (Scope scope = Scope.leakChecked("sgd")) {
            Parameter pw = Params.of(scope, "fc.weight", w);
            Parameter pb = Params.of(scope, "fc.bias", b);
            Sgd sgd = Sgd.builder(lr).momentum(momentum).dampening(dampening).nesterov(nesterov).weightDecay(wd)
                    .noWeightDecay(biasExcluded ? p -> p.name().endsWith(".bias") : p -> false)
                    .build(scope, List.of(pw, pb));
            for (int t = 1; t <= 3; t++) {
                grad(pw, GW[t - 1]);
                grad(pb, GB[t - 1]);
                sgd.step();
                reference(w, GW[t - 1], bufW, t, lr, momentum, dampening, nesterov, wd);
                reference(b, GB[t - 1], bufB, t, lr, momentum, dampening, nesterov, biasExcluded ? 0 : wd);
                close("weight after step " + t, w, values(pw), 1e-7, 1e-6);
                close("bias after step " + t, b, values(pb), 1e-7, 1e-6);
                if (momentum != 0) {
                    close("momentum buffer after step " + t, bufW,
                            sgd.state().get("fc.weight.momentum_buffer").toFloatArray(), 1e-7, 1e-6);
                }
            }
            assertEquals(3, sgd.stepCount());
        }
    }

    static void reference(double[] p, double[] g, double[] buf, int t, double lr, double momentum, double dampening,
            boolean nesterov, double wd) {
        for (int i = 0; i < p.length; i++) {
            double d = g[i] + wd * p[i];
            if (momentum != 0) {
                buf[i] = t == 1 ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    @Test
    void plainSgdHasNoStateAndMomentumHasOneBufferPerParameter() {
        try (Scope scope = Scope.leakChecked("sgd state")) {
            Parameter w = Params.of(scope, "conv1.weight", new float[6], 2, 3);
            Parameter b = Params.of(scope, "conv1.bias", 0, 0);
            assertTrue(Sgd.builder(0.1).build(scope, List.of(w, b)).state().isEmpty());
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).build(scope, List.of(w, b));
            assertEquals(List.of("conv1.weight.momentum_buffer", "conv1.bias.momentum_buffer"), List.copyOf(sgd.state().keySet()));
            assertEquals(List.of(2L, 3L), java.util.Arrays.stream(sgd.state().get("conv1.weight.momentum_buffer").dims())
                    .boxed().toList());
            assertEquals(8 * 4, sgd.stateBytes());
        }
    }

    @Test
    void badSettingsAreClearErrors() {
        try (Scope scope = Scope.leakChecked("sgd errors")) {
            List<Parameter> ps = List.of(Params.of(scope, "w", 1.0));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Sgd.builder(0.1).nesterov(true).build(scope, ps));
            assertEquals("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum 0.0 and dampening 0.0",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(-1).build(scope, ps));
            assertEquals("SGD: learning rate must be a finite number >= 0, got -1.0", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).momentum(-0.5).build(scope, ps));
            assertEquals("SGD: momentum must be a finite number >= 0, got -0.5", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).weightDecay(Double.NaN).build(scope, ps));
            assertEquals("SGD: weight decay must be a finite number >= 0, got NaN", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).build(scope, List.of()));
            assertEquals("SGD: expected at least one parameter, got an empty list", e.getMessage());
        }
    }

    @Test
    void toStringShowsNonDefaultSettings() {
        try (Scope scope = Scope.leakChecked("sgd toString")) {
            Parameter w = Params.of(scope, "fc.weight", new float[4], 2, 2);
            Parameter b = Params.of(scope, "fc.bias", 0, 0);
            Sgd sgd = Sgd.builder(0.05).momentum(0.9).nesterov(true).weightDecay(5e-4)
                    .noWeightDecay(Optimizer::isBiasOrNorm).build(scope, List.of(w, b));
            assertEquals("SGD(lr=0.05, momentum=0.9, nesterov=true, weight_decay=5.0E-4 (not on 1 of 2 parameters))",
                    sgd.toString());
            assertEquals("SGD(lr=0.1)", Sgd.builder(0.1).build(scope, List.of(w)).toString());
        }
    }
}
