package dev.stride.tests;

import java.util.function.DoubleBinaryOperator;

/** Naive double-precision references for the tensor ops, written from the formulas (row-major arrays). */
final class TensorOpsReference {
    private TensorOpsReference() {}

    static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Flat index into {@code small} (same rank, dims equal or 1) of flat index {@code i} of {@code big}. */
    static int broadcastIndex(long[] big, long[] small, long i) {
        long idx = 0;
        long stride = 1;
        for (int d = big.length - 1; d >= 0; d--) {
            long coord = i % big[d];
            i /= big[d];
            if (small[d] != 1) {
                idx += coord * stride;
            }
            stride *= small[d];
        }
        return (int) idx;
    }

    /** {@code y[i] = a[i] op b[broadcast(i)]}. */
    static double[] binary(double[] a, long[] aDims, double[] b, long[] bDims, DoubleBinaryOperator op) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = op.applyAsDouble(a[i], b[broadcastIndex(aDims, bDims, i)]);
        }
        return y;
    }

    /** Concatenation along {@code axis} of row-major pieces. */
    static double[] concat(int axis, long[][] dims, double[][] xs) {
        long outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= dims[0][d];
        }
        long inner = 1;
        for (int d = axis + 1; d < dims[0].length; d++) {
            inner *= dims[0][d];
        }
        long total = 0;
        for (long[] d : dims) {
            total += d[axis];
        }
        double[] y = new double[(int) (outer * total * inner)];
        long offset = 0;
        for (int p = 0; p < xs.length; p++) {
            long len = dims[p][axis];
            for (long o = 0; o < outer; o++) {
                for (long j = 0; j < len; j++) {
                    for (long k = 0; k < inner; k++) {
                        y[(int) ((o * total + offset + j) * inner + k)] = xs[p][(int) ((o * len + j) * inner + k)];
                    }
                }
            }
            offset += len;
        }
        return y;
    }

    /**
     * {@code C[b] = op(A[b]) op(B[b]) + bias}: A stored {@code [batch] x (transA ? K x M : M x K)}, B stored
     * {@code [batchB] x (transB ? N x K : K x N)} with batchB 1 or batch; bias of N (or null).
     */
    static double[] matmul(long batch, long m, long k, long n, double[] a, boolean transA, double[] b, boolean transB,
            boolean sharedB, double[] bias) {
        long bt = Math.max(batch, 1);
        double[] c = new double[(int) (bt * m * n)];
        for (long q = 0; q < bt; q++) {
            long qb = sharedB ? 0 : q;
            for (long i = 0; i < m; i++) {
                for (long j = 0; j < n; j++) {
                    double s = bias == null ? 0 : bias[(int) j];
                    for (long p = 0; p < k; p++) {
                        double av = a[(int) (q * m * k + (transA ? p * m + i : i * k + p))];
                        double bv = b[(int) (qb * k * n + (transB ? j * k + p : p * n + j))];
                        s += av * bv;
                    }
                    c[(int) (q * m * n + i * n + j)] = s;
                }
            }
        }
        return c;
    }
}
