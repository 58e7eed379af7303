package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.norm.LayerNorm;
import dev.stride.norm.LayerNorm.Params;
import dev.stride.testing.Check;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Layer normalization through oneDNN against the double-precision reference and finite differences. */
class LayerNormTest {

    record Case(String label, long[] dims, Params params) {
        @Override
        public String toString() {
            return label;
        }
    }

    static java.util.stream.Stream<Case> cases() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                new Case("(6272, 256), the benchmark shape", new long[] {6272, 256}, d),
                new Case("2D (4, 7)", new long[] {4, 7}, d),
                new Case("(N, T, C) = (2, 5, 12)", new long[] {2, 5, 12}, d),
                new Case("(N, T, C) batch 1", new long[] {1, 9, 33}, d),
                new Case("4D (2, 3, 4, 5)", new long[] {2, 3, 4, 5}, d),
                new Case("5D (2, 2, 3, 2, 6)", new long[] {2, 2, 3, 2, 6}, d),
                new Case("one row (1, 64)", new long[] {1, 64}, d),
                new Case("C = 1: every row normalises to beta", new long[] {3, 1}, d),
                new Case("no affine", new long[] {3, 4, 10}, d.affine(false)),
                new Case("eps 1e-3", new long[] {5, 8}, d.epsilon(1e-3)));
    }

    static double[] d(float[] v) {
        return v == null ? null : Check.toDouble(v);
    }

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + r.nextDouble() * (hi - lo));
        return v;
    }

    record Run(float[] y, float[] mean, float[] var, float[] dx, float[] dgamma, float[] dbeta, float[] yInference) {}

    static Run run(Scope scope, Case c, float[] x, float[] gamma, float[] beta, float[] dy) {
        long[] dims = c.dims();
        long ch = dims[dims.length - 1];
        long[] stats = Arrays.copyOf(dims, dims.length - 1);
        boolean affine = c.params().affine();
        try (Scope s = scope.child("run"); Stream stream = Stream.create(s)) {
            LayerNorm.Forward fwd = LayerNorm.Forward.create(s, "ln", dims, c.params(), PropKind.TRAINING);
            LayerNorm.Forward inf = LayerNorm.Forward.create(s, "ln.inf", dims, c.params(), PropKind.INFERENCE);
            LayerNorm.Backward bwd = LayerNorm.Backward.create(s, "ln.bwd", fwd);
            Tensor src = Tensor.of(s, "x", x, dims);
            Tensor g = affine ? Tensor.of(s, "gamma", gamma, ch) : null;
            Tensor b = affine ? Tensor.of(s, "beta", beta, ch) : null;
            Tensor y = Tensor.zeros(s, "y", dims);
            Tensor yi = Tensor.zeros(s, "y_inference", dims);
            Tensor mean = Tensor.zeros(s, "mean", stats);
            Tensor var = Tensor.zeros(s, "var", stats);
            fwd.execute(stream, fwd.bind(s, src, g, b, mean, var, y));
            inf.execute(stream, inf.bind(s, src, g, b, null, null, yi));
            Tensor diffDst = Tensor.of(s, "dy", dy, dims);
            Tensor dx = Tensor.zeros(s, "dx", dims);
            Tensor dg = affine ? Tensor.zeros(s, "dgamma", ch) : null;
            Tensor db = affine ? Tensor.zeros(s, "dbeta", ch) : null;
            bwd.execute(stream, bwd.bind(s, src, mean, var, g, diffDst, dx, dg, db));
            stream.await();
            return new Run(y.toFloatArray(), mean.toFloatArray(), var.toFloatArray(), dx.toFloatArray(),
                    dg == null ? null : dg.toFloatArray(), db == null ? null : db.toFloatArray(), yi.toFloatArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBackwardMatchTheReference(Case c) {
        SplittableRandom r = new SplittableRandom(c.label().hashCode());
        long[] dims = c.dims();
        int ch = (int) dims[dims.length - 1];
        int n = (int) Check.count(dims);
        float[] x = uniform(r, n, -1.5, 2.5);
        float[] gamma = uniform(r, ch, 0.5, 1.5);
        float[] beta = uniform(r, ch, -0.5, 0.5);
        float[] dy = Check.random(r, n);
        boolean affine = c.params().affine();
        double eps = c.params().epsilon();
        try (Scope scope = Scope.leakChecked(c.label())) {
            Run got = run(scope, c, x, gamma, beta, dy);
            NormReference.Forward f = NormReference.layerNorm(d(x), dims, affine ? d(gamma) : null, affine ? d(beta) : null, eps);
            NormReference.Backward b = NormReference.layerNormBackward(d(x), dims, affine ? d(gamma) : null, eps, d(dy));
            long[] stats = Arrays.copyOf(dims, dims.length - 1);
            Check.close(c + ": y", dims, Check.toFloat(f.y()), got.y(), 1e-4, 1e-4);
            Check.close(c + ": inference y", dims, Check.toFloat(f.y()), got.yInference(), 1e-4, 1e-4);
            Check.close(c + ": mean", stats, Check.toFloat(f.mean()), got.mean(), 1e-5, 1e-5);
            Check.close(c + ": variance (biased)", stats, Check.toFloat(f.var()), got.var(), 1e-5, 1e-4);
            Check.close(c + ": diff_src", dims, Check.toFloat(b.dx()), got.dx(), 2e-4, 1e-3);
            if (affine) {
                // dgamma/dbeta sum over every row: (6272, 256) adds 6272 terms in f32.
                Check.close(c + ": diff_scale", null, Check.toFloat(b.dgamma()), got.dgamma(), 5e-4, 1e-4);
                Check.close(c + ": diff_shift", null, Check.toFloat(b.dbeta()), got.dbeta(), 5e-4, 1e-4);
            }
        }
    }

    static java.util.stream.Stream<Case> gradientCases() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                new Case("(3, 5)", new long[] {3, 5}, d),
                new Case("(N, T, C) = (2, 3, 4)", new long[] {2, 3, 4}, d),
                new Case("4D (1, 2, 2, 6)", new long[] {1, 2, 2, 6}, d),
                new Case("no affine (2, 2, 5)", new long[] {2, 2, 5}, d.affine(false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("gradientCases")
    void gradientsMatchCentralDifferences(Case c) {
        SplittableRandom r = new SplittableRandom(c.label().hashCode());
        long[] dims = c.dims();
        int ch = (int) dims[dims.length - 1];
        int n = (int) Check.count(dims);
        float[] x = uniform(r, n, -1.5, 2.5);
        float[] gamma = uniform(r, ch, 0.5, 1.5);
        float[] beta = uniform(r, ch, -0.5, 0.5);
        float[] dy = Check.random(r, n);
        boolean affine = c.params().affine();
        double eps = c.params().epsilon();
        double[] gx = d(x);
        double[] gg = affine ? d(gamma) : null;
        double[] gb = affine ? d(beta) : null;
        try (Scope scope = Scope.leakChecked(c.label())) {
            Run got = run(scope, c, x, gamma, beta, dy);
            Function<double[], double[]> ofX = xs -> NormReference.layerNorm(xs, dims, gg, gb, eps).y();
            Check.gradient(c + ": diff_src", dims, ofX, gx, d(dy), got.dx(), 1e-3, 5e-4, 5e-3);
            if (affine) {
                Check.gradient(c + ": diff_scale", null, g -> NormReference.layerNorm(gx, dims, g, gb, eps).y(), gg, d(dy),
                        got.dgamma(), 1e-3, 5e-4, 5e-3);
                Check.gradient(c + ": diff_shift", null, b -> NormReference.layerNorm(gx, dims, gg, b, eps).y(), gb, d(dy),
                        got.dbeta(), 1e-3, 5e-4, 5e-3);
            }
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {256}, d, "ln1: expected 2D, 3D, 4D or 5D input (got 1D: [256])"),
                Arguments.of(new long[] {1, 2, 3, 4, 5, 6}, d, "ln1: expected 2D, 3D, 4D or 5D input (got 6D: [1, 2, 3, 4, 5, 6])"),
                Arguments.of(new long[] {4, 0}, d, "ln1: input dims [4, 0] must be positive"),
                Arguments.of(new long[] {6272, 256}, d.epsilon(0), "ln1: eps must be a finite number > 0, got 0.0"),
                Arguments.of(new long[] {6272, 256}, d.epsilon(-1), "ln1: eps must be a finite number > 0, got -1.0"),
                Arguments.of(new long[] {6272, 256}, d.epsilon(Double.NaN), "ln1: eps must be a finite number > 0, got NaN"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidConfigurationsFailBeforeAnyNativeCall(long[] dims, Params p, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LayerNorm.Forward.create(scope, "ln1", dims, p, PropKind.TRAINING));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    static java.util.stream.Stream<Arguments> invalidBindings() {
        return java.util.stream.Stream.of(
                Arguments.of(PropKind.TRAINING, "gamma", new long[] {8},
                        "ln1: scale (gamma) must have dims [16] (one value per channel C), got tensor 'gamma' [8]"),
                Arguments.of(PropKind.TRAINING, "beta", new long[] {17},
                        "ln1: shift (beta) must have dims [16] (one value per channel C), got tensor 'beta' [17]"),
                Arguments.of(PropKind.TRAINING, "mean", new long[] {2, 16},
                        "ln1: mean must have dims [2, 7] (one value per row: the input's dims without the last), got tensor 'mean' [2, 16]"),
                Arguments.of(PropKind.TRAINING, "variance", new long[] {14},
                        "ln1: variance must have dims [2, 7] (one value per row: the input's dims without the last), got tensor 'variance' [14]"),
                Arguments.of(PropKind.INFERENCE, "mean", new long[] {2, 7},
                        "ln1: inference-mode layer norm computes its statistics internally: pass null for mean and variance"));
    }

    @ParameterizedTest
    @MethodSource("invalidBindings")
    void wrongDimsAreRejectedWhenBinding(PropKind mode, String which, long[] wrong, String message) {
        long[] dims = {2, 7, 16};
        long[] stats = {2, 7};
        try (Scope scope = Scope.leakChecked("bind " + which);
                LayerNorm.Forward fwd = LayerNorm.Forward.create(scope, "ln1", dims, Params.defaults(), mode)) {
            Tensor x = Tensor.zeros(scope, "x", dims);
            Tensor g = Tensor.zeros(scope, "gamma", which.equals("gamma") ? wrong : new long[] {16});
            Tensor b = Tensor.zeros(scope, "beta", which.equals("beta") ? wrong : new long[] {16});
            Tensor mean = Tensor.zeros(scope, "mean", which.equals("mean") ? wrong : stats);
            Tensor var = mode == PropKind.INFERENCE ? null : Tensor.zeros(scope, "variance", which.equals("variance") ? wrong : stats);
            Tensor y = Tensor.zeros(scope, "y", dims);
            try (Scope bind = Scope.open("bind")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> fwd.bind(bind, x, g, b, mean, var, y));
                assertEquals(message, e.getMessage());
                assertEquals(0, bind.allocations(), "rejected before the argument array was built");
            }
        }
    }

    @Test
    void backwardNeedsATrainingForward() {
        try (Scope scope = Scope.leakChecked("bwd of inference");
                LayerNorm.Forward fwd = LayerNorm.Forward.create(scope, "ln1", new long[] {4, 8}, Params.defaults(), PropKind.INFERENCE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LayerNorm.Backward.create(scope, "ln1.bwd", fwd));
            assertEquals("ln1.bwd: the backward pass needs a training-mode forward (it reads the statistics), got inference",
                    e.getMessage());
        }
    }
}
