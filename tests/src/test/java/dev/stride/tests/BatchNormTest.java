package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stride.core.DataType;
import dev.stride.core.ExecArgs;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.BatchNorm.Params;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Batch normalization through oneDNN against the double-precision reference, finite differences and hand arithmetic. */
class BatchNormTest {

    /** {@code channelsLast}: nhwc / ndhwc source layout instead of plain nchw. */
    record Case(String label, long[] dims, boolean channelsLast, Params params) {
        @Override
        public String toString() {
            return label;
        }
    }

    static java.util.stream.Stream<Case> cases() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                new Case("2D (N,C) batch 8", new long[] {8, 5}, false, d),
                new Case("2D batch 2, the smallest training batch", new long[] {2, 3}, false, d),
                new Case("3D (N,C,W)", new long[] {3, 4, 7}, false, d),
                new Case("4D batch 1", new long[] {1, 3, 5, 7}, false, d),
                new Case("4D batch 4 odd sizes", new long[] {4, 6, 5, 3}, false, d),
                new Case("4D 17 channels", new long[] {2, 17, 3, 3}, false, d),
                new Case("4D nhwc 16 channels", new long[] {2, 16, 5, 5}, true, d),
                new Case("4D single pixel batch 3", new long[] {3, 4, 1, 1}, false, d),
                new Case("5D", new long[] {2, 3, 3, 4, 5}, false, d),
                new Case("5D ndhwc batch 1", new long[] {1, 8, 2, 3, 3}, true, d),
                new Case("4D fused ReLU", new long[] {3, 5, 4, 4}, false, d.fuseRelu(true)),
                new Case("5D fused ReLU nhwc", new long[] {2, 16, 2, 3, 3}, true, d.fuseRelu(true)),
                new Case("4D no affine", new long[] {2, 4, 3, 5}, false, d.affine(false)),
                new Case("2D no affine + ReLU, eps 1e-3", new long[] {6, 3}, false, d.affine(false).fuseRelu(true).epsilon(1e-3)));
    }

    static MemoryDesc desc(Scope scope, long[] dims, boolean channelsLast) {
        if (!channelsLast) {
            return MemoryDesc.plain(scope, dims);
        }
        return MemoryDesc.of(scope, DataType.F32, dims.length == 4 ? FormatTag.NHWC : FormatTag.ACDEB, dims);
    }

    static Tensor tensor(Scope scope, String name, MemoryDesc desc, float[] values) {
        Tensor t = Tensor.allocate(scope, name, desc);
        t.copyFrom(values);
        return t;
    }

    static float[] affineValues(SplittableRandom r, int c, double lo, double hi) {
        float[] v = new float[c];
        for (int i = 0; i < c; i++) v[i] = (float) (lo + r.nextDouble() * (hi - lo));
        return v;
    }

    /** Inputs off-centre and not unit-scaled, so that normalising does something. */
    static float[] input(SplittableRandom r, long n) {
        float[] x = Check.random(r, n);
        for (int i = 0; i < x.length; i++) x[i] = x[i] * 1.7f + 0.3f;
        return x;
    }

    static double[] d(float[] v) {
        return v == null ? null : Check.toDouble(v);
    }

    /** oneDNN's outputs of one training step: y, batch mean, batch variance, dx, dgamma, dbeta. */
    record Run(float[] y, float[] mean, float[] var, float[] dx, float[] dgamma, float[] dbeta) {}

    static Run train(Scope scope, Case c, float[] x, float[] gamma, float[] beta, float[] dy) {
        int ch = (int) c.dims()[1];
        try (Scope s = scope.child("train"); Stream stream = Stream.create(s)) {
            MemoryDesc md = desc(s, c.dims(), c.channelsLast());
            BatchNorm.Forward fwd = BatchNorm.Forward.create(s, "bn", md, c.params(), PropKind.TRAINING);
            BatchNorm.Backward bwd = BatchNorm.Backward.create(s, "bn.bwd", fwd);
            boolean affine = c.params().affine();
            Tensor src = tensor(s, "x", fwd.srcDesc(), x);
            Tensor dst = Tensor.allocate(s, "y", fwd.dstDesc());
            Tensor g = affine ? Tensor.of(s, "gamma", gamma, ch) : null;
            Tensor b = affine ? Tensor.of(s, "beta", beta, ch) : null;
            Tensor mean = Tensor.zeros(s, "mean", ch);
            Tensor var = Tensor.zeros(s, "var", ch);
            Tensor ws = fwd.workspaceDesc() == null ? null : Tensor.allocate(s, "ws", fwd.workspaceDesc());
            assertEquals(c.params().fuseRelu(), ws != null, "a workspace exactly when ReLU is fused");
            fwd.execute(stream, fwd.bind(s, src, g, b, mean, var, dst, ws));
            Tensor diffDst = tensor(s, "dy", bwd.diffDstDesc(), dy);
            Tensor diffSrc = Tensor.allocate(s, "dx", bwd.diffSrcDesc());
            Tensor dg = affine ? Tensor.zeros(s, "dgamma", ch) : null;
            Tensor db = affine ? Tensor.zeros(s, "dbeta", ch) : null;
            bwd.execute(stream, bwd.bind(s, src, mean, var, g, ws, diffDst, diffSrc, dg, db));
            stream.await();
            return new Run(dst.toFloatArray(), mean.toFloatArray(), var.toFloatArray(), diffSrc.toFloatArray(),
                    dg == null ? null : dg.toFloatArray(), db == null ? null : db.toFloatArray());
        }
    }

    static float[] infer(Scope scope, Case c, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv) {
        int ch = (int) c.dims()[1];
        try (Scope s = scope.child("infer"); Stream stream = Stream.create(s)) {
            BatchNorm.Forward fwd = BatchNorm.Forward.create(s, "bn", desc(s, c.dims(), c.channelsLast()), c.params(),
                    PropKind.INFERENCE);
            assertNull(fwd.workspaceDesc(), "inference keeps no workspace");
            Tensor src = tensor(s, "x", fwd.srcDesc(), x);
            Tensor dst = Tensor.allocate(s, "y", fwd.dstDesc());
            boolean affine = c.params().affine();
            fwd.execute(stream, fwd.bind(s, src, affine ? Tensor.of(s, "gamma", gamma, ch) : null,
                    affine ? Tensor.of(s, "beta", beta, ch) : null, Tensor.of(s, "rm", rm, ch), Tensor.of(s, "rv", rv, ch), dst, null));
            stream.await();
            return dst.toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void trainingForwardAndBackwardMatchTheReference(Case c) {
        SplittableRandom r = new SplittableRandom(c.label().hashCode());
        int ch = (int) c.dims()[1];
        long n = Check.count(c.dims());
        float[] x = input(r, n);
        float[] gamma = affineValues(r, ch, 0.5, 1.5);
        float[] beta = affineValues(r, ch, -0.5, 0.5);
        float[] dy = Check.random(r, n);
        boolean affine = c.params().affine();
        double eps = c.params().epsilon();
        boolean relu = c.params().fuseRelu();
        try (Scope scope = Scope.leakChecked(c.label())) {
            Run got = train(scope, c, x, gamma, beta, dy);
            NormReference.Forward f = NormReference.batchNorm(d(x), c.dims(), affine ? d(gamma) : null,
                    affine ? d(beta) : null, null, null, eps, relu);
            NormReference.Backward b = NormReference.batchNormBackward(d(x), c.dims(), affine ? d(gamma) : null,
                    affine ? d(beta) : null, eps, relu, d(dy));
            Check.close(c + ": y", c.dims(), Check.toFloat(f.y()), got.y(), 1e-4, 1e-4);
            Check.close(c + ": batch mean", null, Check.toFloat(f.mean()), got.mean(), 1e-5, 1e-5);
            Check.close(c + ": batch variance (biased)", null, Check.toFloat(f.var()), got.var(), 1e-5, 1e-4);
            Check.close(c + ": diff_src", c.dims(), Check.toFloat(b.dx()), got.dx(), 2e-4, 1e-3);
            if (affine) {
                Check.close(c + ": diff_scale", null, Check.toFloat(b.dgamma()), got.dgamma(), 2e-4, 1e-4);
                Check.close(c + ": diff_shift", null, Check.toFloat(b.dbeta()), got.dbeta(), 2e-4, 1e-4);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void inferenceUsesTheRunningStatistics(Case c) {
        SplittableRandom r = new SplittableRandom(31 * c.label().hashCode());
        int ch = (int) c.dims()[1];
        float[] x = input(r, Check.count(c.dims()));
        float[] gamma = affineValues(r, ch, 0.5, 1.5);
        float[] beta = affineValues(r, ch, -0.5, 0.5);
        float[] rm = affineValues(r, ch, -0.3, 0.6);
        float[] rv = affineValues(r, ch, 0.2, 2.0);
        boolean affine = c.params().affine();
        try (Scope scope = Scope.leakChecked(c.label())) {
            float[] got = infer(scope, c, x, gamma, beta, rm, rv);
            NormReference.Forward f = NormReference.batchNorm(d(x), c.dims(), affine ? d(gamma) : null,
                    affine ? d(beta) : null, d(rm), d(rv), c.params().epsilon(), c.params().fuseRelu());
            Check.close(c + ": inference y", c.dims(), Check.toFloat(f.y()), got, 1e-5, 1e-5);
        }
    }

    @Test
    void inferenceAcceptsOneValuePerChannel() {
        // Batch statistics of a single value are degenerate, running statistics are not.
        Case c = new Case("1x3x1x1 inference", new long[] {1, 3, 1, 1}, false, Params.defaults());
        try (Scope scope = Scope.leakChecked(c.label())) {
            float[] got = infer(scope, c, new float[] {1, 2, 3}, new float[] {1, 2, 0.5f}, new float[] {0, 1, -1},
                    new float[] {0, 1, 2}, new float[] {4, 1, 0.25f});
            double e = BatchNorm.DEFAULT_EPSILON;
            float[] want = {(float) (1 / Math.sqrt(4 + e)), (float) (2 * 1 / Math.sqrt(1 + e) + 1),
                (float) (0.5 * 1 / Math.sqrt(0.25 + e) - 1)};
            Check.close("1x3x1x1", null, want, got, 1e-6, 1e-6);
        }
    }

    /** Small shapes for central differences; the ReLU rows keep every pre-activation away from the kink. */
    static java.util.stream.Stream<Case> gradientCases() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                new Case("2D (4,3)", new long[] {4, 3}, false, d),
                new Case("4D batch 1", new long[] {1, 2, 3, 3}, false, d),
                new Case("4D batch 3", new long[] {3, 2, 2, 3}, false, d),
                new Case("5D nhwc-like ndhwc", new long[] {2, 3, 2, 2, 2}, true, d),
                new Case("4D fused ReLU", new long[] {3, 2, 2, 3}, false, d.fuseRelu(true)),
                new Case("3D no affine", new long[] {2, 3, 4}, false, d.affine(false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("gradientCases")
    void gradientsMatchCentralDifferencesOfTheTrainingForward(Case c) {
        int ch = (int) c.dims()[1];
        long n = Check.count(c.dims());
        boolean affine = c.params().affine();
        boolean relu = c.params().fuseRelu();
        double eps = c.params().epsilon();
        float[] x = null;
        float[] gamma = null;
        float[] beta = null;
        SplittableRandom r = new SplittableRandom(c.label().hashCode());
        for (int attempt = 0; ; attempt++) {
            x = input(r, n);
            gamma = affineValues(r, ch, 0.5, 1.5);
            beta = affineValues(r, ch, -0.5, 0.5);
            if (!relu || minAbs(NormReference.batchNorm(d(x), c.dims(), d(gamma), d(beta), null, null, eps, false).y()) > 0.05) {
                break;
            }
            if (attempt > 1000) throw new AssertionError("no kink-free input found");
        }
        float[] dy = Check.random(r, n);
        double[] gx = d(x);
        double[] gg = affine ? d(gamma) : null;
        double[] gb = affine ? d(beta) : null;
        try (Scope scope = Scope.leakChecked(c.label())) {
            Run got = train(scope, c, x, gamma, beta, dy);
            // The reference forward recomputes the batch statistics from the perturbed x.
            Function<double[], double[]> ofX = xs -> NormReference.batchNorm(xs, c.dims(), gg, gb, null, null, eps, relu).y();
            Check.gradient(c + ": diff_src", c.dims(), ofX, gx, d(dy), got.dx(), 1e-3, 5e-4, 5e-3);
            if (affine) {
                Function<double[], double[]> ofGamma = g -> NormReference.batchNorm(gx, c.dims(), g, gb, null, null, eps, relu).y();
                Function<double[], double[]> ofBeta = b -> NormReference.batchNorm(gx, c.dims(), gg, b, null, null, eps, relu).y();
                Check.gradient(c + ": diff_scale", null, ofGamma, gg, d(dy), got.dgamma(), 1e-3, 5e-4, 5e-3);
                Check.gradient(c + ": diff_shift", null, ofBeta, gb, d(dy), got.dbeta(), 1e-3, 5e-4, 5e-3);
            }
        }
    }

    static double minAbs(double[] v) {
        double m = Double.MAX_VALUE;
        for (double x : v) m = Math.min(m, Math.abs(x));
        return m;
    }

    @Test
    void runningStatisticsFollowPyTorchOverThreeStepsByHand() {
        // x is [N=2, C=2, H=1, W=2]: each channel sees 4 values per step, so M/(M-1) = 4/3.
        // channel 0: {1,2,3,4}, {2,4,6,8}, {0,0,0,4}; channel 1: {-1,-1,1,1}, {10,10,10,10}, {0,1,2,3}.
        float[][] steps = {
            {1, 2, -1, -1, 3, 4, 1, 1},
            {2, 4, 10, 10, 6, 8, 10, 10},
            {0, 0, 0, 1, 0, 4, 2, 3},
        };
        // momentum 0.1, starting from PyTorch's initial running mean 0 and variance 1:
        //   ch0 mean 2.5, 5, 1; unbiased var 5/3, 20/3, 4
        //   rm: 0.1*2.5 = 0.25; 0.9*0.25 + 0.5 = 0.725; 0.9*0.725 + 0.1 = 0.7525
        //   rv: 0.9 + 0.1*5/3 = 1.0666667; 0.96 + 0.6666667 = 1.6266667; 1.464 + 0.4 = 1.864
        //   ch1 mean 0, 10, 1.5; unbiased var 4/3, 0, 5/3
        //   rm: 0; 1; 0.9 + 0.15 = 1.05
        //   rv: 0.9 + 0.1333333 = 1.0333333; 0.93; 0.837 + 0.1666667 = 1.0036667
        float[][] wantMean = {{0.25f, 0f}, {0.725f, 1f}, {0.7525f, 1.05f}};
        float[][] wantVar = {{1.0666667f, 1.0333333f}, {1.6266667f, 0.93f}, {1.864f, 1.0036667f}};
        long[] dims = {2, 2, 1, 2};
        try (Scope scope = Scope.leakChecked("running"); Stream stream = Stream.create(scope);
                BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn", dims, Params.defaults(), PropKind.TRAINING)) {
            Tensor x = Tensor.zeros(scope, "x", dims);
            Tensor y = Tensor.zeros(scope, "y", dims);
            Tensor mean = Tensor.zeros(scope, "mean", 2);
            Tensor var = Tensor.zeros(scope, "var", 2);
            Tensor rm = Tensor.of(scope, "running_mean", new float[] {0, 0}, 2);
            Tensor rv = Tensor.of(scope, "running_var", new float[] {1, 1}, 2);
            ExecArgs args = fwd.bind(scope, x, Tensor.of(scope, "g", new float[] {1, 1}, 2),
                    Tensor.of(scope, "b", new float[] {0, 0}, 2), mean, var, y, null);
            long before = scope.allocations();
            for (int step = 0; step < 3; step++) {
                x.copyFrom(steps[step]);
                fwd.execute(stream, args);
                fwd.updateRunningStats(stream, args, rm, rv);
                Check.close("step " + (step + 1) + " running mean", null, wantMean[step], rm.toFloatArray(), 1e-6, 1e-6);
                Check.close("step " + (step + 1) + " running var", null, wantVar[step], rv.toFloatArray(), 1e-6, 1e-6);
            }
            assertEquals(before, scope.allocations(), "a training step with its running-stat update allocates nothing");
        }
    }

    @Test
    void momentumZeroKeepsAndOneReplacesTheRunningStatistics() {
        long[] dims = {4, 1};
        try (Scope scope = Scope.leakChecked("momentum edges"); Stream stream = Stream.create(scope)) {
            for (double m : new double[] {0, 1}) {
                BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn", dims, Params.defaults().momentum(m).affine(false),
                        PropKind.TRAINING);
                Tensor rm = Tensor.of(scope, "rm", new float[] {7}, 1);
                Tensor rv = Tensor.of(scope, "rv", new float[] {3}, 1);
                ExecArgs args = fwd.bind(scope, Tensor.of(scope, "x", new float[] {1, 2, 3, 4}, dims), null, null,
                        Tensor.zeros(scope, "mean", 1), Tensor.zeros(scope, "var", 1), Tensor.zeros(scope, "y", dims), null);
                fwd.execute(stream, args);
                fwd.updateRunningStats(stream, args, rm, rv);
                assertArrayEquals(m == 0 ? new float[] {7} : new float[] {2.5f}, rm.toFloatArray(), 1e-6f);
                assertArrayEquals(m == 0 ? new float[] {3} : new float[] {5f / 3}, rv.toFloatArray(), 1e-6f);
            }
        }
    }

    static java.util.stream.Stream<Arguments> invalid() {
        Params d = Params.defaults();
        return java.util.stream.Stream.of(
                Arguments.of(new long[] {8}, d, PropKind.TRAINING, "bn1: expected 2D, 3D, 4D or 5D input (got 1D: [8])"),
                Arguments.of(new long[] {1, 2, 3, 4, 5, 6}, d, PropKind.INFERENCE,
                        "bn1: expected 2D, 3D, 4D or 5D input (got 6D: [1, 2, 3, 4, 5, 6])"),
                Arguments.of(new long[] {2, 0, 4, 4}, d, PropKind.TRAINING, "bn1: input dims [2, 0, 4, 4] must be positive"),
                Arguments.of(new long[] {1, 3}, d, PropKind.TRAINING,
                        "bn1: expected more than 1 value per channel when training, got input [1, 3] (N = 1)"),
                Arguments.of(new long[] {1, 16, 1, 1}, d, PropKind.TRAINING,
                        "bn1: expected more than 1 value per channel when training, got input [1, 16, 1, 1] (N*H*W = 1)"),
                Arguments.of(new long[] {1, 4, 1, 1, 1}, d, PropKind.TRAINING,
                        "bn1: expected more than 1 value per channel when training, got input [1, 4, 1, 1, 1] (N*D*H*W = 1)"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.momentum(-0.1), PropKind.TRAINING, "bn1: momentum must be in [0, 1], got -0.1"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.momentum(1.5), PropKind.TRAINING, "bn1: momentum must be in [0, 1], got 1.5"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.momentum(Double.NaN), PropKind.TRAINING, "bn1: momentum must be in [0, 1], got NaN"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.epsilon(0), PropKind.TRAINING, "bn1: eps must be a finite number > 0, got 0.0"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.epsilon(-1e-5), PropKind.INFERENCE, "bn1: eps must be a finite number > 0, got -1.0E-5"),
                Arguments.of(new long[] {2, 4, 3, 3}, d.epsilon(Double.POSITIVE_INFINITY), PropKind.TRAINING,
                        "bn1: eps must be a finite number > 0, got Infinity"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidConfigurationsFailBeforeAnyNativeCall(long[] dims, Params p, PropKind mode, String message) {
        try (Scope scope = Scope.leakChecked("invalid")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BatchNorm.Forward.create(scope, "bn1", dims, p, mode));
            assertEquals(message, e.getMessage());
            assertEquals(0, scope.allocations(), "rejected before any native resource was created");
        }
    }

    /** Which tensor is wrong (gamma, beta, mean, ...), built as {@code [C]} except the one named. */
    static java.util.stream.Stream<Arguments> invalidBindings() {
        return java.util.stream.Stream.of(
                Arguments.of("gamma", Params.defaults(), 5,
                        "bn1: scale (gamma) must have dims [4] (one value per channel C), got tensor 'gamma' [5]"),
                Arguments.of("beta", Params.defaults(), 3,
                        "bn1: shift (beta) must have dims [4] (one value per channel C), got tensor 'beta' [3]"),
                Arguments.of("mean", Params.defaults(), 8,
                        "bn1: batch mean must have dims [4] (one value per channel C), got tensor 'mean' [8]"),
                Arguments.of("variance", Params.defaults(), 1,
                        "bn1: batch variance must have dims [4] (one value per channel C), got tensor 'variance' [1]"),
                Arguments.of("gamma", Params.defaults().affine(false), 4,
                        "bn1: this layer has no scale/shift (affine = false): pass null for gamma and beta"),
                Arguments.of("workspace", Params.defaults().fuseRelu(true), 0,
                        "bn1: the fused ReLU needs a workspace tensor (workspaceDesc())"));
    }

    @ParameterizedTest
    @MethodSource("invalidBindings")
    void wrongChannelCountsAreRejectedWhenBinding(String which, Params p, int size, String message) {
        long[] dims = {2, 4, 3, 3};
        try (Scope scope = Scope.leakChecked("bind " + which);
                BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn1", dims, p, PropKind.TRAINING)) {
            boolean affine = p.affine() || which.equals("gamma");
            Tensor x = Tensor.zeros(scope, "x", dims);
            Tensor g = affine ? Tensor.zeros(scope, "gamma", which.equals("gamma") ? size : 4) : null;
            Tensor b = affine && p.affine() ? Tensor.zeros(scope, "beta", which.equals("beta") ? size : 4) : null;
            Tensor mean = Tensor.zeros(scope, "mean", which.equals("mean") ? size : 4);
            Tensor var = Tensor.zeros(scope, "variance", which.equals("variance") ? size : 4);
            Tensor y = Tensor.zeros(scope, "y", dims);
            try (Scope bind = Scope.open("bind")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> fwd.bind(bind, x, g, b, mean, var, y, null));
                assertEquals(message, e.getMessage());
                assertEquals(0, bind.allocations(), "rejected before the argument array was built");
            }
        }
    }

    @Test
    void backwardNeedsATrainingForward() {
        try (Scope scope = Scope.leakChecked("bwd of inference");
                BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn1", new long[] {2, 3}, Params.defaults(), PropKind.INFERENCE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BatchNorm.Backward.create(scope, "bn1.bwd", fwd));
            assertEquals("bn1.bwd: the backward pass needs a training-mode forward (batch statistics), got inference", e.getMessage());
        }
    }

    @Test
    void describeAndParamsPrintOnlyNonDefaults() {
        assertEquals("", Params.defaults().toString());
        assertEquals("momentum=0.01, affine=false, relu", Params.defaults().momentum(0.01).affine(false).fuseRelu(true).toString());
        try (Scope scope = Scope.leakChecked("describe");
                BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn1", new long[] {2, 3, 4, 4},
                        Params.defaults().fuseRelu(true), PropKind.TRAINING)) {
            assertEquals("BatchNorm.Forward bn1 [2, 3, 4, 4] training (relu)", fwd.describe());
            assertNotNull(fwd.workspaceDesc());
            assertEquals(16, fwd.geometry().valuesPerChannel() / 2);
        }
    }
}
