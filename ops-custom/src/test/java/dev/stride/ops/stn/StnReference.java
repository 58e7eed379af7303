package dev.stride.ops.stn;

import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Naive double-precision references for the spatial transformer, written from the formulas (not from the
 * kernels): the affine grid, the bilinear sampler with both padding modes and both align_corners
 * conventions; plus the comparison and finite-difference helpers the tests share.
 */
final class StnReference {
    private StnReference() {}

    /** The base coordinate of point {@code i} of {@code steps} in [-1, 1]. */
    static double base(int i, int steps, boolean align) {
        if (steps == 1) {
            return 0;
        }
        return align ? -1 + 2.0 * i / (steps - 1) : (2.0 * i + 1) / steps - 1;
    }

    static double[] affineGrid(double[] theta, int n, int h2, int w2, boolean align) {
        double[] g = new double[n * h2 * w2 * 2];
        for (int b = 0; b < n; b++) {
            for (int y = 0; y < h2; y++) {
                for (int x = 0; x < w2; x++) {
                    double bx = base(x, w2, align);
                    double by = base(y, h2, align);
                    int o = ((b * h2 + y) * w2 + x) * 2;
                    g[o] = theta[6 * b] * bx + theta[6 * b + 1] * by + theta[6 * b + 2];
                    g[o + 1] = theta[6 * b + 3] * bx + theta[6 * b + 4] * by + theta[6 * b + 5];
                }
            }
        }
        return g;
    }

    /** Pixel coordinate of normalized {@code v} along a side of {@code size} pixels, before any clamp. */
    static double unnormalize(double v, int size, boolean align) {
        return align ? (v + 1) / 2 * (size - 1) : ((v + 1) * size - 1) / 2;
    }

    static double[] sample(double[] src, int n, int c, int h, int w, double[] grid, int h2, int w2,
            SamplerOptions o) {
        double[] dst = new double[n * c * h2 * w2];
        for (int b = 0; b < n; b++) {
            for (int y = 0; y < h2; y++) {
                for (int x = 0; x < w2; x++) {
                    int g = ((b * h2 + y) * w2 + x) * 2;
                    double ix = unnormalize(grid[g], w, o.alignCorners());
                    double iy = unnormalize(grid[g + 1], h, o.alignCorners());
                    if (o.padding() == SamplerOptions.Padding.BORDER) {
                        ix = Math.min(w - 1, Math.max(0, ix));
                        iy = Math.min(h - 1, Math.max(0, iy));
                    }
                    int x0 = (int) Math.floor(ix);
                    int y0 = (int) Math.floor(iy);
                    double tx = ix - x0;
                    double ty = iy - y0;
                    for (int ch = 0; ch < c; ch++) {
                        double v = (1 - tx) * (1 - ty) * at(src, b, ch, c, h, w, y0, x0)
                                + tx * (1 - ty) * at(src, b, ch, c, h, w, y0, x0 + 1)
                                + (1 - tx) * ty * at(src, b, ch, c, h, w, y0 + 1, x0)
                                + tx * ty * at(src, b, ch, c, h, w, y0 + 1, x0 + 1);
                        dst[((b * c + ch) * h2 + y) * w2 + x] = v;
                    }
                }
            }
        }
        return dst;
    }

    private static double at(double[] src, int b, int ch, int c, int h, int w, int y, int x) {
        if (y < 0 || y >= h || x < 0 || x >= w) {
            return 0;
        }
        return src[((b * c + ch) * h + y) * w + x];
    }

    /**
     * Smallest distance from any sample point's pixel coordinate to a pixel row/column, where bilinear
     * interpolation has a kink (the borders 0 and W-1 included, where the clamp has one). Finite differences
     * are only meaningful when no perturbation crosses one. A side of one pixel with align_corners maps every
     * point to 0 whatever the grid says: no kink to avoid there.
     */
    static double kinkMargin(double[] grid, int h, int w, boolean align) {
        double m = Double.MAX_VALUE;
        for (int i = 0; i < grid.length; i += 2) {
            double ix = unnormalize(grid[i], w, align);
            double iy = unnormalize(grid[i + 1], h, align);
            if (!(align && w == 1)) {
                m = Math.min(m, Math.abs(ix - Math.rint(ix)));
            }
            if (!(align && h == 1)) {
                m = Math.min(m, Math.abs(iy - Math.rint(iy)));
            }
        }
        return m;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Central differences of {@code L(x) = sum(dy * f(x))}: exact for f quadratic in x, as bilinear sampling is. */
    static double[] numericGradient(Function<double[], double[]> f, double[] x, double[] dy, double h) {
        double[] g = new double[x.length];
        double[] xp = x.clone();
        for (int i = 0; i < x.length; i++) {
            xp[i] = x[i] + h;
            double up = dot(dy, f.apply(xp));
            xp[i] = x[i] - h;
            double down = dot(dy, f.apply(xp));
            xp[i] = x[i];
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }
}
