package dev.stride.tests.support;

import dev.stride.pool.Pooling;

/**
 * Pooling as naive loops straight from the formula, in double precision, over plain row-major arrays
 * ({@code N,C,[D,]H,W}). 2D is run as 3D with a unit depth so one loop nest serves both.
 */
public final class PoolingReference {
    private PoolingReference() {}

    /** {@code dst[o] = reduce_{i in window(o), i inside the input} src[i]}, per the geometry's algorithm. */
    public static double[] forward(Pooling.Geometry g, double[] src) {
        Dims d = new Dims(g);
        double[] dst = new double[Math.toIntExact(d.n * d.c * d.out[0] * d.out[1] * d.out[2])];
        long window = g.windowSize();
        int o = 0;
        for (int nc = 0; nc < d.n * d.c; nc++) {
            int base = nc * d.in[0] * d.in[1] * d.in[2];
            for (int od = 0; od < d.out[0]; od++) {
                for (int oh = 0; oh < d.out[1]; oh++) {
                    for (int ow = 0; ow < d.out[2]; ow++) {
                        double max = Double.NEGATIVE_INFINITY;
                        double sum = 0;
                        double sumSq = 0;
                        int count = 0;
                        for (int fd = 0; fd < d.f[0]; fd++) {
                            int id = od * d.s[0] - d.p[0] + fd;
                            if (id < 0 || id >= d.in[0]) continue;
                            for (int fh = 0; fh < d.f[1]; fh++) {
                                int ih = oh * d.s[1] - d.p[1] + fh;
                                if (ih < 0 || ih >= d.in[1]) continue;
                                for (int fw = 0; fw < d.f[2]; fw++) {
                                    int iw = ow * d.s[2] - d.p[2] + fw;
                                    if (iw < 0 || iw >= d.in[2]) continue;
                                    double v = src[base + (id * d.in[1] + ih) * d.in[2] + iw];
                                    max = Math.max(max, v);
                                    sum += v;
                                    sumSq += v * v;
                                    count++;
                                }
                            }
                        }
                        dst[o++] = switch (g.algorithm()) {
                            case MAX -> max;
                            case AVG_INCLUDE_PADDING -> sum / window;
                            case AVG_EXCLUDE_PADDING -> sum / count;
                            case L2 -> Math.sqrt(sumSq / count);
                        };
                    }
                }
            }
        }
        return dst;
    }

    /**
     * The analytic L2 gradient {@code dx_i = sum_w x_i dy_w / (k_w y_w)}, with the subgradient 0 for windows
     * whose norm is 0 (the convention the safe backward implements).
     */
    public static double[] l2Backward(Pooling.Geometry g, double[] src, double[] dy) {
        Dims d = new Dims(g);
        double[] y = forward(g, src);
        double[] dx = new double[src.length];
        int o = 0;
        for (int nc = 0; nc < d.n * d.c; nc++) {
            int base = nc * d.in[0] * d.in[1] * d.in[2];
            for (int od = 0; od < d.out[0]; od++) {
                for (int oh = 0; oh < d.out[1]; oh++) {
                    for (int ow = 0; ow < d.out[2]; ow++, o++) {
                        int count = 0;
                        for (int pass = 0; pass < 2; pass++) {
                            for (int fd = 0; fd < d.f[0]; fd++) {
                                int id = od * d.s[0] - d.p[0] + fd;
                                if (id < 0 || id >= d.in[0]) continue;
                                for (int fh = 0; fh < d.f[1]; fh++) {
                                    int ih = oh * d.s[1] - d.p[1] + fh;
                                    if (ih < 0 || ih >= d.in[1]) continue;
                                    for (int fw = 0; fw < d.f[2]; fw++) {
                                        int iw = ow * d.s[2] - d.p[2] + fw;
                                        if (iw < 0 || iw >= d.in[2]) continue;
                                        int i = base + (id * d.in[1] + ih) * d.in[2] + iw;
                                        if (pass == 0) count++;
                                        else if (y[o] > 0) dx[i] += src[i] * dy[o] / (count * y[o]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx;
    }

    /** Spatial dims padded to 3 (depth 1 for 2D). */
    private static final class Dims {
        final int n;
        final int c;
        final int[] in = {1, 1, 1};
        final int[] out = {1, 1, 1};
        final int[] f = {1, 1, 1};
        final int[] s = {1, 1, 1};
        final int[] p = {0, 0, 0};

        Dims(Pooling.Geometry g) {
            n = (int) g.src()[0];
            c = (int) g.src()[1];
            int sp = g.spatialDims();
            for (int i = 0; i < sp; i++) {
                int j = 3 - sp + i;
                in[j] = (int) g.src()[2 + i];
                out[j] = (int) g.dst()[2 + i];
                f[j] = (int) g.extent()[i];
                s[j] = (int) g.strides()[i];
                p[j] = (int) g.padLeft()[i];
            }
        }
    }
}
