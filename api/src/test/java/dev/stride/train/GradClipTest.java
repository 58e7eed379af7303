package dev.stride.train;

import static dev.stride.train.Params.grad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.Scope;
import java.util.List;
import org.junit.jupiter.api.Test;

/** clip_grad_norm_ and clip_grad_value_ against hand computation. */
class GradClipTest {

    @Test
    void normOverAllGradientsScalesThemTogether() {
        try (Scope scope = Scope.leakChecked("clip norm")) {
            Parameter a = Params.of(scope, "a", 0, 0);
            Parameter b = Params.of(scope, "b", 0.0);
            grad(a, 3, 4);
            grad(b, 12);
            List<Parameter> ps = List.of(a, b);
            // sqrt(9 + 16 + 144) = 13; c = 6.5 / (13 + 1e-6)
            assertEquals(13.0, GradClip.norm(ps), 1e-12);
            assertEquals(13.0, GradClip.byNorm(ps, 6.5), 1e-12);
            double c = 6.5 / (13 + 1e-6);
            assertArrayEquals(new float[] {(float) (3 * c), (float) (4 * c)}, a.grad().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {(float) (12 * c)}, b.grad().toFloatArray(), 1e-6f);
            assertEquals(6.5, GradClip.norm(ps), 1e-5);
        }
    }

    @Test
    void normBelowTheLimitLeavesGradientsAlone() {
        try (Scope scope = Scope.leakChecked("clip norm below")) {
            Parameter a = Params.of(scope, "a", 0, 0);
            grad(a, 3, 4);
            assertEquals(5.0, GradClip.byNorm(List.of(a), 5.0 + 1e-6), 1e-12);
            assertArrayEquals(new float[] {3, 4}, a.grad().toFloatArray());
            // PyTorch's coefficient max/(norm + 1e-6) is below 1 a hair under the limit too: 5/(5 + 1e-6).
            GradClip.byNorm(List.of(a), 5.0);
            float c = (float) (5 / (5 + 1e-6));
            assertArrayEquals(new float[] {3 * c, 4 * c}, a.grad().toFloatArray());
        }
    }

    @Test
    void nonFiniteNormIsReturnedAndNothingIsScaled() {
        try (Scope scope = Scope.leakChecked("clip nan")) {
            Parameter a = Params.of(scope, "a", 0, 0);
            grad(a, Double.NaN, 4);
            assertEquals(Double.NaN, GradClip.byNorm(List.of(a), 1.0));
            assertEquals(4f, a.grad().toFloatArray()[1]);
            grad(a, Double.POSITIVE_INFINITY, 4);
            assertEquals(Double.POSITIVE_INFINITY, GradClip.byNorm(List.of(a), 1.0));
            assertEquals(4f, a.grad().toFloatArray()[1]);
        }
    }

    @Test
    void byValueClampsEachElement() {
        try (Scope scope = Scope.leakChecked("clip value")) {
            Parameter a = Params.of(scope, "a", new float[5], 5);
            grad(a, -3, -0.5, 0, 0.25, Double.NaN);
            GradClip.byValue(List.of(a), 0.5);
            assertArrayEquals(new float[] {-0.5f, -0.5f, 0f, 0.25f, Float.NaN}, a.grad().toFloatArray());
        }
    }

    @Test
    void badLimitsAreClearErrors() {
        try (Scope scope = Scope.leakChecked("clip errors")) {
            List<Parameter> ps = List.of(Params.of(scope, "a", 1.0));
            var e = assertThrows(IllegalArgumentException.class, () -> GradClip.byNorm(ps, 0));
            assertEquals("clip by norm: max norm must be a finite number > 0, got 0.0", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> GradClip.byValue(ps, -1));
            assertEquals("clip by value: clip value must be a finite number > 0, got -1.0", e.getMessage());
        }
    }
}
