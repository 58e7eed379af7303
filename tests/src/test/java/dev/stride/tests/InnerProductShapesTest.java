package dev.stride.tests;

import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.linear.InnerProduct;
import dev.stride.testing.Check;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every class of inner product shape (one output, a few, many; small and large {@code C*H*W}; batch 1 and more;
 * rank 2 to 5 inputs) in both forward prop kinds and both backward directions, against naive loops. oneDNN
 * picks a different implementation and different layouts per class (OC = 1 in inference once summed a
 * channels-last source against plain-order weights), so each class is run, not just a typical one.
 */
class InnerProductShapesTest {

    private static final long[][] SHAPES = {
            {1, 7}, {5, 300},
            {1, 10, 13}, {4, 10, 13}, {2, 200, 3},
            {1, 3, 4, 4}, {2, 16, 3, 3}, {8, 32, 7, 7}, {3, 1, 5, 5}, {2, 4, 1, 1},
            {1, 64, 2, 2, 2}, {4, 2, 3, 2, 3}};
    private static final int[] OUTPUTS = {1, 2, 5, 17};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (long[] dims : SHAPES) {
            for (int oc : OUTPUTS) {
                out.add(Arguments.of(Arrays.toString(dims) + " OC=" + oc, dims, oc));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyDirectionMatchesNaiveLoops(String label, long[] dims, int oc) {
        int n = (int) dims[0];
        int in = (int) (Check.count(dims) / n);
        boolean bias = oc != 2; // one no-bias output count per shape
        SplittableRandom r = new SplittableRandom(label.hashCode());
        float[] x = Check.random(r, (long) n * in);
        float[] w = Check.random(r, (long) oc * in);
        float[] b = bias ? Check.random(r, oc) : null;
        float[] dy = Check.random(r, (long) n * oc);
        long[] wDims = dims.clone();
        wDims[0] = oc;
        long[] dst = {n, oc};
        float[] wantY = Check.toFloat(LinearReference.innerProduct(n, in, oc, Check.toDouble(x), Check.toDouble(w),
                b == null ? null : Check.toDouble(b)));
        double[] wantDx = new double[n * in];
        double[] wantDw = new double[oc * in];
        double[] wantDb = new double[oc];
        for (int s = 0; s < n; s++) {
            for (int o = 0; o < oc; o++) {
                double g = dy[s * oc + o];
                wantDb[o] += g;
                for (int i = 0; i < in; i++) {
                    wantDx[s * in + i] += g * w[o * in + i];
                    wantDw[o * in + i] += g * x[s * in + i];
                }
            }
        }
        try (Scope scope = Scope.leakChecked(label); Stream s = Stream.create(scope)) {
            Tensor tx = Tensor.of(scope, "x", x, dims);
            Tensor tw = Tensor.of(scope, "w", w, wDims);
            Tensor tb = bias ? Tensor.of(scope, "b", b, oc) : null;
            Tensor tdy = Tensor.of(scope, "dy", dy, dst);
            for (PropKind mode : List.of(PropKind.INFERENCE, PropKind.TRAINING)) {
                try (InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", dims, oc, bias, mode)) {
                    Tensor y = Tensor.zeros(scope, "y", dst);
                    fc.executePlain(s, tx, tw, tb, y);
                    Check.close(label + " " + mode + " dst (" + fc.primitive().implementation() + ", src "
                            + fc.srcDesc().layout() + ", weights " + fc.weightsDesc().layout() + ")", dst, wantY,
                            y.toFloatArray(), 1e-4, 1e-4);
                    if (mode != PropKind.TRAINING) {
                        continue;
                    }
                    try (InnerProduct.BackwardData bd = InnerProduct.BackwardData.create(scope, "fc.bd", fc);
                            InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fc.bw", fc)) {
                        Tensor dx = Tensor.zeros(scope, "dx", dims);
                        bd.executePlain(s, tdy, tw, dx);
                        Check.close(label + " diff_src (" + bd.primitive().implementation() + ")", dims, Check.toFloat(wantDx),
                                dx.toFloatArray(), 1e-4, 1e-4);
                        Tensor dw = Tensor.zeros(scope, "dw", wDims);
                        Tensor db = bias ? Tensor.zeros(scope, "db", oc) : null;
                        bw.executePlain(s, tx, tdy, dw, db);
                        Check.close(label + " diff_weights (" + bw.primitive().implementation() + ")", wDims, Check.toFloat(wantDw),
                                dw.toFloatArray(), 1e-4, 1e-4);
                        if (bias) {
                            Check.close(label + " diff_bias", new long[] {oc}, Check.toFloat(wantDb), db.toFloatArray(), 1e-4, 1e-4);
                        }
                    }
                }
            }
        }
    }
}
