package dev.stride.ops.deform;

import java.util.SplittableRandom;

/**
 * Naive double-precision deformable convolution written from the formula (torchvision's conventions), plus
 * the comparison and finite-difference helpers the deform tests share.
 */
final class DeformReference {
    private DeformReference() {}

    /** Bilinear sample of {@code x[plane]} at {@code (y, xx)}, each neighbour outside the input reading zero. */
    static double bilinear(double[] x, int plane, int h, int w, double y, double xx) {
        if (y <= -1 || y >= h || xx <= -1 || xx >= w) {
            return 0;
        }
        int yl = (int) Math.floor(y);
        int xl = (int) Math.floor(xx);
        double ly = y - yl;
        double lx = xx - xl;
        double sum = 0;
        for (int dy = 0; dy <= 1; dy++) {
            for (int dx = 0; dx <= 1; dx++) {
                int yy = yl + dy;
                int xc = xl + dx;
                if (yy >= 0 && yy < h && xc >= 0 && xc < w) {
                    sum += (dy == 0 ? 1 - ly : ly) * (dx == 0 ? 1 - lx : lx) * x[plane + yy * w + xc];
                }
            }
        }
        return sum;
    }

    /** {@code dst[n,k,oy,ox] = b[k] + sum_{c in group(k), i, j} w[k,c,i,j] * m * bilinear(x[n,c], p0 + pn + dpn)}. */
    static double[] forward(DeformGeometry g, double[] x, double[] off, double[] mask, double[] w, double[] b) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), wd = (int) g.w(), k = (int) g.k();
        int kh = g.kh(), kw = g.kw(), kk = kh * kw, h2 = (int) g.h2(), w2 = (int) g.w2(), p = h2 * w2;
        int cg = c / g.groups(), kg = k / g.groups(), gOff = g.offsetGroups(), cPerOff = c / gOff;
        double[] y = new double[n * k * p];
        for (int in = 0; in < n; in++) {
            for (int ik = 0; ik < k; ik++) {
                int grp = ik / kg;
                for (int oy = 0; oy < h2; oy++) {
                    for (int ox = 0; ox < w2; ox++) {
                        int pix = oy * w2 + ox;
                        double sum = b == null ? 0 : b[ik];
                        for (int icg = 0; icg < cg; icg++) {
                            int ic = grp * cg + icg;
                            int og = ic / cPerOff;
                            for (int i = 0; i < kh; i++) {
                                for (int j = 0; j < kw; j++) {
                                    int tap = og * kk + i * kw + j;
                                    double dy = off[((in * gOff * kk + tap) * 2) * p + pix];
                                    double dx = off[((in * gOff * kk + tap) * 2 + 1) * p + pix];
                                    double m = mask == null ? 1 : mask[(in * gOff * kk + tap) * p + pix];
                                    double yy = oy * g.sh() - g.ph() + i * g.dh() + dy;
                                    double xx = ox * g.sw() - g.pw() + j * g.dw() + dx;
                                    double v = bilinear(x, (in * c + ic) * h * wd, h, wd, yy, xx);
                                    sum += w[((ik * cg + icg) * kh + i) * kw + j] * m * v;
                                }
                            }
                        }
                        y[(in * k + ik) * p + pix] = sum;
                    }
                }
            }
        }
        return y;
    }

    /** Uniform values in [lo, hi). */
    static float[] uniform(SplittableRandom r, long n, double lo, double hi) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + r.nextDouble() * (hi - lo));
        }
        return v;
    }

    /**
     * Offsets {@code k + u}, {@code k} an integer in {@code [-reach, reach]}, {@code u} in {@code [0.1, 0.9]}: the
     * sampling points stay at least 0.1 away from every integer grid line, where bilinear interpolation has a
     * kink; with a reach of 1 or more some of them land outside the input.
     */
    static float[] offsets(SplittableRandom r, long n, int reach) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextInt(-reach, reach + 1) + 0.1 + 0.8 * r.nextDouble());
        }
        return v;
    }





    /** Finite-difference checks probe at most this many inputs of a large tensor (Check.gradient). */
    static final int MAX_PROBES = 300;



}
