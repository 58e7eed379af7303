package dev.stride.norm;

import dev.stride.conv.Convolution;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.Arrays;

/**
 * Folds an inference-mode batch normalization into the convolution before it: at test time batchnorm
 * becomes a linear operator, so {@code BN(conv(x))} is one convolution with
 *
 * <pre>
 *   s[k]  = gamma[k] / sqrt(runningVar[k] + eps)
 *   W'[k] = W[k] * s[k]                       (every weight of output channel k)
 *   b'[k] = (b[k] - runningMean[k]) * s[k] + beta[k]     (b = 0 for a convolution without bias)
 * </pre>
 *
 * <p>The folded convolution always has a bias: create it with {@code params.bias(true)}. Without affine, pass
 * null for gamma and beta (1 and 0). Arithmetic in double, results rounded to f32 once.
 *
 * <p><b>Shape</b>: weights {@code K x C/G x F...} (or grouped {@code G x K/G x C/G x F...}, the same bytes),
 * bias, gamma, beta, running mean and variance {@code K}.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class BatchNormFold {
    private BatchNormFold() {}

    /** Folded weights (plain, the convolution's weights dims) and bias ({@code K}). */
    public record Folded(float[] weights, float[] bias) {}

    /** Folded weights and bias as plain f32 tensors. */
    public record FoldedTensors(Tensor weights, Tensor bias) {}

    /**
     * Folds plain row-major arrays; {@code bias} may be null (no bias), {@code gamma}/{@code beta} null
     * without affine. Everything is validated before anything is computed.
     */
    public static Folded fold(String layer, Convolution.Geometry conv, float[] weights, float[] bias, float[] gamma,
            float[] beta, float[] runningMean, float[] runningVar, double eps) {
        long k = conv.dst()[1];
        long expectWeights = 1;
        for (long d : conv.weights()) {
            expectWeights *= d;
        }
        if (weights == null || weights.length != expectWeights) {
            throw new IllegalArgumentException(layer + ": convolution weights must have " + expectWeights + " values "
                    + Arrays.toString(conv.weights()) + ", got " + (weights == null ? "null" : weights.length));
        }
        requireK(layer, "convolution bias", bias, k, true);
        requireK(layer, "gamma", gamma, k, true);
        requireK(layer, "beta", beta, k, true);
        requireK(layer, "running mean", runningMean, k, false);
        requireK(layer, "running variance", runningVar, k, false);
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(layer + ": eps must be a finite number > 0, got " + eps);
        }
        for (int i = 0; i < k; i++) {
            if (!(runningVar[i] >= 0)) {
                throw new IllegalArgumentException(layer + ": running variance of channel " + i + " is " + runningVar[i]
                        + "; a variance must be >= 0");
            }
        }
        // Output channel k owns a contiguous run of F*F*C/G weights in both the plain and the grouped layout.
        int perFilter = (int) (expectWeights / k);
        float[] w = new float[weights.length];
        float[] b = new float[(int) k];
        for (int oc = 0; oc < k; oc++) {
            double g = gamma == null ? 1 : gamma[oc];
            double s = g / Math.sqrt((double) runningVar[oc] + eps);
            for (int j = oc * perFilter; j < (oc + 1) * perFilter; j++) {
                w[j] = (float) (weights[j] * s);
            }
            double b0 = bias == null ? 0 : bias[oc];
            double beta0 = beta == null ? 0 : beta[oc];
            b[oc] = (float) ((b0 - runningMean[oc]) * s + beta0);
        }
        return new Folded(w, b);
    }

    /**
     * Folds tensors (any layout: they are read in plain order) into new plain f32 tensors owned by
     * {@code scope}: weights with the convolution's weights dims, bias {@code [K]}.
     */
    public static FoldedTensors fold(Scope scope, String layer, Convolution.Geometry conv, Tensor weights, Tensor bias,
            Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps) {
        Folded f = fold(layer, conv, values(weights), values(bias), values(gamma), values(beta), values(runningMean),
                values(runningVar), eps);
        Tensor w = Tensor.of(scope, layer + ".folded_weights", f.weights(), conv.weights());
        try {
            return new FoldedTensors(w, Tensor.of(scope, layer + ".folded_bias", f.bias(), conv.dst()[1]));
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private static float[] values(Tensor t) {
        return t == null ? null : t.toFloatArray();
    }

    private static void requireK(String layer, String what, float[] v, long k, boolean optional) {
        if (v == null) {
            if (optional) {
                return;
            }
            throw new IllegalArgumentException(layer + ": no values given for " + what);
        }
        if (v.length != k) {
            throw new IllegalArgumentException(layer + ": " + what + " has " + v.length
                    + " values, expected K = " + k + " (one per output channel of the convolution)");
        }
    }
}
