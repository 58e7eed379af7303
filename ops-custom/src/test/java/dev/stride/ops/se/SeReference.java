package dev.stride.ops.se;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The squeeze-excitation block in double precision, written from the formulas (plain {@code nchw} arrays):
 * the reference for the comparisons and the function the finite differences differentiate.
 */
final class SeReference {
    final int n, c, h, w, hid;

    SeReference(int n, int c, int h, int w, int r) {
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.hid = c / r;
    }

    int plane() {
        return h * w;
    }

    int size() {
        return n * c * h * w;
    }

    /** Intermediates of one forward. */
    record Pass(double[] z, double[] pre1, double[] a, double[] s, double[] x) {}

    Pass forward(double[] u, double[] w1, double[] b1, double[] w2, double[] b2) {
        int hw = plane();
        double[] z = new double[n * c];
        for (int i = 0; i < n * c; i++) {
            double sum = 0;
            for (int p = 0; p < hw; p++) {
                sum += u[i * hw + p];
            }
            z[i] = sum / hw;
        }
        double[] pre1 = new double[n * hid];
        double[] a = new double[n * hid];
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < hid; j++) {
                double v = b1[j];
                for (int k = 0; k < c; k++) {
                    v += w1[j * c + k] * z[b * c + k];
                }
                pre1[b * hid + j] = v;
                a[b * hid + j] = Math.max(0, v);
            }
        }
        double[] s = new double[n * c];
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < c; k++) {
                double v = b2[k];
                for (int j = 0; j < hid; j++) {
                    v += w2[k * hid + j] * a[b * hid + j];
                }
                s[b * c + k] = 1 / (1 + Math.exp(-v));
            }
        }
        double[] x = new double[u.length];
        for (int i = 0; i < n * c; i++) {
            for (int p = 0; p < hw; p++) {
                x[i * hw + p] = s[i] * u[i * hw + p];
            }
        }
        return new Pass(z, pre1, a, s, x);
    }

    /** Gradients of {@code sum(dx * x)}: du, dW1, db1, dW2, db2. */
    record Grads(double[] du, double[] dw1, double[] db1, double[] dw2, double[] db2) {}

    Grads backward(double[] u, double[] w1, double[] w2, Pass f, double[] dx) {
        int hw = plane();
        double[] dt = new double[n * c];
        for (int i = 0; i < n * c; i++) {
            double ds = 0;
            for (int p = 0; p < hw; p++) {
                ds += dx[i * hw + p] * u[i * hw + p];
            }
            dt[i] = ds * f.s()[i] * (1 - f.s()[i]);
        }
        double[] dw2 = new double[c * hid];
        double[] db2 = new double[c];
        double[] dh = new double[n * hid];
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < c; k++) {
                double g = dt[b * c + k];
                db2[k] += g;
                for (int j = 0; j < hid; j++) {
                    dw2[k * hid + j] += g * f.a()[b * hid + j];
                    dh[b * hid + j] += g * w2[k * hid + j];
                }
            }
        }
        for (int i = 0; i < n * hid; i++) {
            dh[i] = f.pre1()[i] > 0 ? dh[i] : 0;
        }
        double[] dw1 = new double[hid * c];
        double[] db1 = new double[hid];
        double[] dz = new double[n * c];
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < hid; j++) {
                double g = dh[b * hid + j];
                db1[j] += g;
                for (int k = 0; k < c; k++) {
                    dw1[j * c + k] += g * f.z()[b * c + k];
                    dz[b * c + k] += g * w1[j * c + k];
                }
            }
        }
        double[] du = new double[u.length];
        for (int i = 0; i < n * c; i++) {
            for (int p = 0; p < hw; p++) {
                du[i * hw + p] = f.s()[i] * dx[i * hw + p] + dz[i] / hw;
            }
        }
        return new Grads(du, dw1, db1, dw2, db2);
    }

    /** Smallest |W1 z + b1| over the batch: how far the ReLU inputs stay from its kink. */
    static double reluMargin(Pass f) {
        return Arrays.stream(f.pre1()).map(Math::abs).min().orElse(Double.POSITIVE_INFINITY);
    }

    // ---- helpers ----

    static float[] random(SplittableRandom r, int count, double lo, double hi) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) r.nextDouble(lo, hi);
        }
        return v;
    }

    /** {@code nchw} values reordered to {@code nhwc}. */
    static float[] toNhwc(float[] nchw, int n, int c, int hw) {
        float[] out = new float[nchw.length];
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < c; k++) {
                for (int p = 0; p < hw; p++) {
                    out[(b * hw + p) * c + k] = nchw[(b * c + k) * hw + p];
                }
            }
        }
        return out;
    }
}
