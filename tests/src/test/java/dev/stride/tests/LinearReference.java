package dev.stride.tests;

import dev.stride.eltwise.Eltwise;

/**
 * Naive double-precision references for the linear family, written from the formulas: inner product,
 * the element-wise functions, softmax / log-softmax along an axis, and the softmax cross-entropy loss.
 */
final class LinearReference {
    private LinearReference() {}

    /** {@code dst[n, o] = bias[o] + sum_i src[n, i] * w[o, i]} with each sample and filter flattened. */
    static double[] innerProduct(int n, int in, int out, double[] src, double[] w, double[] bias) {
        double[] dst = new double[n * out];
        for (int s = 0; s < n; s++) {
            for (int o = 0; o < out; o++) {
                double acc = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    acc += src[s * in + i] * w[o * in + i];
                }
                dst[s * out + o] = acc;
            }
        }
        return dst;
    }

    /** {@code f(x; alpha, beta)} of every element; the {@code *_USE_DST} variants have the same forward. */
    static double[] eltwise(Eltwise.Algorithm alg, double alpha, double beta, double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = eltwise(alg, alpha, beta, x[i]);
        }
        return y;
    }

    static double eltwise(Eltwise.Algorithm alg, double alpha, double beta, double x) {
        return switch (alg) {
            case RELU, RELU_USE_DST -> x > 0 ? x : alpha * x;
            case ELU, ELU_USE_DST -> x > 0 ? x : alpha * (Math.exp(x) - 1);
            case TANH, TANH_USE_DST -> Math.tanh(x);
            case LOGISTIC, LOGISTIC_USE_DST -> 1 / (1 + Math.exp(-x));
            case SQRT, SQRT_USE_DST -> Math.sqrt(x);
            case EXP, EXP_USE_DST -> Math.exp(x);
            case SQUARE -> x * x;
            case ABS -> Math.abs(x);
            case LINEAR -> alpha * x + beta;
            case CLIP -> Math.min(beta, Math.max(alpha, x));
            case SWISH -> x / (1 + Math.exp(-alpha * x));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU_ERF -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            default -> throw new IllegalArgumentException("no reference for " + alg);
        };
    }

    /**
     * {@code erf} by its Maclaurin series {@code 2/sqrt(pi) sum_k (-1)^k x^(2k+1) / (k! (2k+1))}, exact to
     * ~1e-12 for {@code |x| <= 4} (the largest term there is ~1e6), and 1 beyond to double precision.
     */
    static double erf(double x) {
        if (Math.abs(x) > 6) {
            return Math.signum(x);
        }
        double term = x;
        double sum = x;
        for (int k = 1; k < 200; k++) {
            term *= -x * x / k;
            double add = term / (2 * k + 1);
            sum += add;
            if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                break;
            }
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    /** Softmax (or log-softmax) of row-major {@code x} of {@code dims} along {@code axis}. */
    static double[] softmax(long[] dims, int axis, boolean log, double[] x) {
        long outer = 1;
        long inner = 1;
        for (int d = 0; d < axis; d++) {
            outer *= dims[d];
        }
        for (int d = axis + 1; d < dims.length; d++) {
            inner *= dims[d];
        }
        int len = (int) dims[axis];
        double[] y = new double[x.length];
        for (long o = 0; o < outer; o++) {
            for (long i = 0; i < inner; i++) {
                int base = (int) (o * len * inner + i);
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < len; k++) {
                    max = Math.max(max, x[base + (int) (k * inner)]);
                }
                double sum = 0;
                for (int k = 0; k < len; k++) {
                    sum += Math.exp(x[base + (int) (k * inner)] - max);
                }
                for (int k = 0; k < len; k++) {
                    int at = base + (int) (k * inner);
                    y[at] = log ? x[at] - max - Math.log(sum) : Math.exp(x[at] - max) / sum;
                }
            }
        }
        return y;
    }

    /** {@code -(1/N) sum_n log softmax(logits[n])[label_n]}. */
    static double crossEntropy(int n, int k, double[] logits, int[] labels) {
        double[] lp = softmax(new long[] {n, k}, 1, true, logits);
        double sum = 0;
        for (int s = 0; s < n; s++) {
            sum -= lp[s * k + labels[s]];
        }
        return sum / n;
    }
}
