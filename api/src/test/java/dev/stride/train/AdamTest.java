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

/** Adam and AdamW against updates written out from torch.optim.Adam/AdamW's formulas, in double precision. */
class AdamTest {

    static final double[][] GW = SgdTest.GW;
    static final double[][] GB = SgdTest.GB;

    @Test
    void constantGradientMovesByTheLearningRateEachStep() {
        // With a constant gradient the bias-corrected moments are m^ = g and v^ = g^2, so each step moves
        // p by lr * g / (|g| + eps) = lr (up to eps): 1 -> 0.9 -> 0.8 -> 0.7.
        try (Scope scope = Scope.leakChecked("adam by hand")) {
            Parameter p = Params.of(scope, "w", 1.0);
            Adam adam = Adam.builder().lr(0.1).build(scope, List.of(p));
            for (int t = 1; t <= 3; t++) {
                grad(p, 0.5);
                adam.step();
                assertEquals(1 - 0.1 * t, values(p)[0], 1e-6, "step " + t);
            }
            // m = 0.5 (1 - 0.9^3), v = 0.25 (1 - 0.999^3)
            assertEquals(0.5 * (1 - Math.pow(0.9, 3)), adam.state().get("w.exp_avg").toFloatArray()[0], 1e-7);
            assertEquals(0.25 * (1 - Math.pow(0.999, 3)), adam.state().get("w.exp_avg_sq").toFloatArray()[0], 1e-9);
        }
    }

    @Test
    void adamWithDefaults() {
        check(false, 1e-2, 0.9, 0.999, 1e-8, 0, false);
    }

    @Test
    void adamWithL2WeightDecayExceptOnTheBiasAndOtherBetas() {
        check(false, 5e-2, 0.8, 0.99, 1e-6, 0.1, true);
    }

    @Test
    void adamWDecoupledWeightDecay() {
        check(true, 1e-2, 0.9, 0.999, 1e-8, 0.05, false);
    }

    @Test
    void adamWDecoupledWeightDecayExceptOnTheBias() {
        check(true, 3e-2, 0.85, 0.995, 1e-8, 0.2, true);
    }

    private static void check(boolean decoupled, double lr, double beta1, double beta2, double eps, double wd,
            boolean biasExcluded) {
        double[] w = f32(0.3, -0.7, 1.2);
        double[] b = f32(-0.1, 0.25);
        double[][] mw = new double[2][3];
        double[][] mb = new double[2][2];
        try (Scope scope = Scope.leakChecked("adam")) {
            Parameter pw = Params.of(scope, "fc.weight", w);
            Parameter pb = Params.of(scope, "fc.bias", b);
            List<Parameter> ps = List.of(pw, pb);
            java.util.function.Predicate<Parameter> exclude = biasExcluded ? p -> p.name().endsWith(".bias") : p -> false;
            Optimizer opt = decoupled
                    ? AdamW.builder().lr(lr).betas(beta1, beta2).eps(eps).weightDecay(wd).noWeightDecay(exclude).build(scope, ps)
                    : Adam.builder().lr(lr).betas(beta1, beta2).eps(eps).weightDecay(wd).noWeightDecay(exclude).build(scope, ps);
            for (int t = 1; t <= 3; t++) {
                grad(pw, GW[t - 1]);
                grad(pb, GB[t - 1]);
                opt.step();
                reference(w, GW[t - 1], mw[0], mw[1], t, lr, beta1, beta2, eps, wd, decoupled);
                reference(b, GB[t - 1], mb[0], mb[1], t, lr, beta1, beta2, eps, biasExcluded ? 0 : wd, decoupled);
                close("weight after step " + t, w, values(pw), 1e-7, 1e-6);
                close("bias after step " + t, b, values(pb), 1e-7, 1e-6);
                close("exp_avg after step " + t, mw[0], opt.state().get("fc.weight.exp_avg").toFloatArray(), 1e-8, 1e-6);
                close("exp_avg_sq after step " + t, mw[1], opt.state().get("fc.weight.exp_avg_sq").toFloatArray(), 1e-10, 1e-6);
            }
        }
    }

    /** One step of torch.optim.Adam (or AdamW when decoupled) for one parameter, in double. */
    static void reference(double[] p, double[] g, double[] m, double[] v, int t, double lr, double beta1, double beta2,
            double eps, double wd, boolean decoupled) {
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < p.length; i++) {
            double gi = g[i];
            if (decoupled) {
                p[i] *= 1 - lr * wd;
            } else {
                gi += wd * p[i];
            }
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
        }
    }

    @Test
    void defaultsAndStateNamesFollowPyTorch() {
        try (Scope scope = Scope.leakChecked("adam defaults")) {
            List<Parameter> ps = List.of(Params.of(scope, "conv1.weight", new float[4], 2, 2), Params.of(scope, "conv1.bias", 0, 0));
            Adam adam = Adam.builder().build(scope, ps);
            assertEquals("Adam(lr=0.001)", adam.toString());
            assertEquals(0.0, adam.weightDecay());
            assertEquals(List.of("conv1.weight.exp_avg", "conv1.weight.exp_avg_sq", "conv1.bias.exp_avg", "conv1.bias.exp_avg_sq"),
                    List.copyOf(adam.state().keySet()));
            AdamW adamw = AdamW.builder().build(scope, ps);
            assertEquals("AdamW(lr=0.001, weight_decay=0.01)", adamw.toString());
            assertEquals(0.9, adamw.beta1());
            assertEquals(0.999, adamw.beta2());
            assertEquals(1e-8, adamw.eps());
            assertEquals("Adam(lr=0.002, betas=(0.5, 0.9), eps=1.0E-6)",
                    Adam.builder().lr(0.002).betas(0.5, 0.9).eps(1e-6).build(scope, ps).toString());
        }
    }

    @Test
    void badBetasAreClearErrors() {
        try (Scope scope = Scope.leakChecked("adam errors")) {
            List<Parameter> ps = List.of(Params.of(scope, "w", 1.0));
            var e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().betas(1.0, 0.999).build(scope, ps));
            assertEquals("Adam: beta1 must be in [0, 1), got 1.0", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> AdamW.builder().betas(0.9, -0.1).build(scope, ps));
            assertEquals("AdamW: beta2 must be in [0, 1), got -0.1", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> AdamW.builder().eps(-1).build(scope, ps));
            assertEquals("AdamW: eps must be a finite number >= 0, got -1.0", e.getMessage());
        }
    }

    @Test
    void settingsTheF32KernelsCannotHoldAreClearErrors() {
        try (Scope scope = Scope.leakChecked("adam f32")) {
            List<Parameter> ps = List.of(Params.of(scope, "w", 1.0));
            var e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().eps(1e-50).build(scope, ps));
            assertEquals("Adam: eps 1.0E-50 is outside f32's range (it becomes 0.0); use a value between "
                    + Float.MIN_NORMAL + " and " + Float.MAX_VALUE, e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().lr(1e300).build(scope, ps));
            assertEquals("Adam: learning rate 1.0E300 is outside f32's range (it becomes Infinity); use a value between "
                    + Float.MIN_NORMAL + " and " + Float.MAX_VALUE, e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> AdamW.builder().weightDecay(1e-60).build(scope, ps));
            assertTrue(e.getMessage().startsWith("AdamW: weight decay 1.0E-60 is outside f32's range"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().betas(0.9, 1 - 1e-10).build(scope, ps));
            assertEquals("Adam: beta2 0.9999999999 rounds to 1 in f32, the update's precision; use at most 0.99999994",
                    e.getMessage());
            assertEquals(0.0, Adam.builder().eps(0).build(scope, ps).eps(), "an exact 0 is still allowed");
        }
    }
}
