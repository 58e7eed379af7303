package dev.stride.tests;

/**
 * Batch and layer normalization as naive loops straight from the formulas, in double precision, with
 * plain row-major arrays: BN over {@code N, C, spatial...} per channel, LN over the last dimension per row.
 */
final class NormReference {
    private NormReference() {}

    /** Output and the statistics used (batch statistics in training, the given ones in inference). */
    record Forward(double[] y, double[] mean, double[] var) {}

    /** Gradients of {@code sum(dy * y)}; {@code dgamma}/{@code dbeta} per channel. */
    record Backward(double[] dx, double[] dgamma, double[] dbeta) {}

    static long spatial(long[] dims) {
        long s = 1;
        for (int i = 2; i < dims.length; i++) s *= dims[i];
        return s;
    }

    /**
     * {@code y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta)}; {@code gamma}/{@code beta} null = 1/0.
     * With {@code mean == null} the batch statistics (biased variance) are computed.
     */
    static Forward batchNorm(double[] x, long[] dims, double[] gamma, double[] beta, double[] mean, double[] var,
            double eps, boolean relu) {
        int n = (int) dims[0];
        int c = (int) dims[1];
        int s = (int) spatial(dims);
        if (mean == null) {
            mean = new double[c];
            var = new double[c];
            double m = (double) n * s;
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) sum += x[(b * c + ch) * s + i];
                double mu = sum / m;
                double sq = 0;
                for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) {
                    double d = x[(b * c + ch) * s + i] - mu;
                    sq += d * d;
                }
                mean[ch] = mu;
                var[ch] = sq / m;
            }
        }
        double[] y = new double[x.length];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                double inv = 1 / Math.sqrt(var[ch] + eps);
                double g = gamma == null ? 1 : gamma[ch];
                double bt = beta == null ? 0 : beta[ch];
                for (int i = 0; i < s; i++) {
                    int idx = (b * c + ch) * s + i;
                    double v = g * (x[idx] - mean[ch]) * inv + bt;
                    y[idx] = relu ? Math.max(0, v) : v;
                }
            }
        }
        return new Forward(y, mean, var);
    }

    /** Training-mode backward: the batch statistics depend on {@code x}. */
    static Backward batchNormBackward(double[] x, long[] dims, double[] gamma, double[] beta, double eps, boolean relu,
            double[] dy) {
        Forward f = batchNorm(x, dims, gamma, beta, null, null, eps, relu);
        int n = (int) dims[0];
        int c = (int) dims[1];
        int s = (int) spatial(dims);
        double m = (double) n * s;
        double[] dx = new double[x.length];
        double[] dgamma = new double[c];
        double[] dbeta = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double inv = 1 / Math.sqrt(f.var()[ch] + eps);
            double g = gamma == null ? 1 : gamma[ch];
            double sdy = 0;
            double sdyx = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) {
                int idx = (b * c + ch) * s + i;
                double d = relu && f.y()[idx] <= 0 ? 0 : dy[idx];
                sdy += d;
                sdyx += d * (x[idx] - f.mean()[ch]) * inv;
            }
            dgamma[ch] = sdyx;
            dbeta[ch] = sdy;
            for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) {
                int idx = (b * c + ch) * s + i;
                double d = relu && f.y()[idx] <= 0 ? 0 : dy[idx];
                double xhat = (x[idx] - f.mean()[ch]) * inv;
                dx[idx] = g * inv * (d - sdy / m - xhat * sdyx / m);
            }
        }
        return new Backward(dx, dgamma, dbeta);
    }

    /** Layer norm over the last dimension of {@code dims}; statistics per row. */
    static Forward layerNorm(double[] x, long[] dims, double[] gamma, double[] beta, double eps) {
        int c = (int) dims[dims.length - 1];
        int rows = x.length / c;
        double[] y = new double[x.length];
        double[] mean = new double[rows];
        double[] var = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int i = 0; i < c; i++) sum += x[r * c + i];
            double mu = sum / c;
            double sq = 0;
            for (int i = 0; i < c; i++) {
                double d = x[r * c + i] - mu;
                sq += d * d;
            }
            mean[r] = mu;
            var[r] = sq / c;
            double inv = 1 / Math.sqrt(var[r] + eps);
            for (int i = 0; i < c; i++) {
                y[r * c + i] = (gamma == null ? 1 : gamma[i]) * (x[r * c + i] - mu) * inv + (beta == null ? 0 : beta[i]);
            }
        }
        return new Forward(y, mean, var);
    }

    static Backward layerNormBackward(double[] x, long[] dims, double[] gamma, double eps, double[] dy) {
        Forward f = layerNorm(x, dims, null, null, eps);
        int c = (int) dims[dims.length - 1];
        int rows = x.length / c;
        double[] dx = new double[x.length];
        double[] dgamma = new double[c];
        double[] dbeta = new double[c];
        for (int r = 0; r < rows; r++) {
            double inv = 1 / Math.sqrt(f.var()[r] + eps);
            double sg = 0;
            double sgx = 0;
            for (int i = 0; i < c; i++) {
                int idx = r * c + i;
                double xhat = (x[idx] - f.mean()[r]) * inv;
                double g = (gamma == null ? 1 : gamma[i]) * dy[idx];
                sg += g;
                sgx += g * xhat;
                dgamma[i] += dy[idx] * xhat;
                dbeta[i] += dy[idx];
            }
            for (int i = 0; i < c; i++) {
                int idx = r * c + i;
                double xhat = (x[idx] - f.mean()[r]) * inv;
                double g = (gamma == null ? 1 : gamma[i]) * dy[idx];
                dx[idx] = inv * (g - sg / c - xhat * sgx / c);
            }
        }
        return new Backward(dx, dgamma, dbeta);
    }
}
