package dev.stride.conv;

/**
 * Convolution forward and backward (data, weights, bias) as naive loops straight from the formula, in double
 * precision: an independent reference to check oneDNN's result against (tests, {@code stride conv-check}).
 * Slow on purpose.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class ConvolutionReference {
    private ConvolutionReference() {}

    /**
     * {@code dst[n,k,o...] = bias[k] + sum src[n, g*C/G + c, o*S - PL + f*D] * w[k, c, f...]} over 2D or 3D,
     * with plain row-major arrays: src {@code N,C,[D,]H,W}, weights {@code K,C/G,F...} (the grouped
     * {@code G,K/G,C/G,F...} layout is the same bytes), bias {@code K} or null.
     */
    public static float[] forward(Convolution.Geometry g, float[] src, float[] weights, float[] bias) {
        int sp = g.spatialDims();
        int n = (int) g.src()[0];
        int c = (int) g.src()[1];
        int k = (int) g.dst()[1];
        int groups = g.groups();
        int cg = c / groups;
        int kg = k / groups;
        int[] in = new int[3];
        int[] out = new int[3];
        int[] f = new int[3];
        int[] s = new int[3];
        int[] d = new int[3];
        int[] p = new int[3];
        // Pad 2D to 3D with a unit depth so one loop nest serves both.
        for (int i = 0; i < 3; i++) {
            int j = i - (3 - sp);
            in[i] = j < 0 ? 1 : (int) g.src()[2 + j];
            out[i] = j < 0 ? 1 : (int) g.dst()[2 + j];
            f[i] = j < 0 ? 1 : (int) g.weights()[g.weights().length - sp + j];
            s[i] = j < 0 ? 1 : (int) g.strides()[j];
            d[i] = j < 0 ? 1 : (int) g.dilation()[j];
            p[i] = j < 0 ? 0 : (int) g.padLeft()[j];
        }
        int inPlane = in[0] * in[1] * in[2];
        int outPlane = out[0] * out[1] * out[2];
        int fPlane = f[0] * f[1] * f[2];
        float[] dst = new float[n * k * outPlane];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < k; oc++) {
                int grp = oc / kg;
                for (int od = 0; od < out[0]; od++) {
                    for (int oh = 0; oh < out[1]; oh++) {
                        for (int ow = 0; ow < out[2]; ow++) {
                            double acc = bias == null ? 0 : bias[oc];
                            for (int ic = 0; ic < cg; ic++) {
                                int srcC = grp * cg + ic;
                                for (int fd = 0; fd < f[0]; fd++) {
                                    int id = od * s[0] - p[0] + fd * d[0];
                                    if (id < 0 || id >= in[0]) continue;
                                    for (int fh = 0; fh < f[1]; fh++) {
                                        int ih = oh * s[1] - p[1] + fh * d[1];
                                        if (ih < 0 || ih >= in[1]) continue;
                                        for (int fw = 0; fw < f[2]; fw++) {
                                            int iw = ow * s[2] - p[2] + fw * d[2];
                                            if (iw < 0 || iw >= in[2]) continue;
                                            float x = src[(b * c + srcC) * inPlane + (id * in[1] + ih) * in[2] + iw];
                                            float w = weights[(oc * cg + ic) * fPlane + (fd * f[1] + fh) * f[2] + fw];
                                            acc += (double) x * w;
                                        }
                                    }
                                }
                            }
                            dst[(b * k + oc) * outPlane + (od * out[1] + oh) * out[2] + ow] = (float) acc;
                        }
                    }
                }
            }
        }
        return dst;
    }

    /**
     * The forward in double precision, for finite differences: same formula and layouts as
     * {@link #forward(Convolution.Geometry, float[], float[], float[])}.
     */
    public static double[] forward(Convolution.Geometry g, double[] src, double[] weights, double[] bias) {
        double[] dst = new double[Math.toIntExact(count(g.dst()))];
        int plane = Math.toIntExact(count(g.dst()) / (g.dst()[0] * g.dst()[1]));
        if (bias != null) {
            for (int i = 0; i < dst.length; i++) {
                dst[i] = bias[(i / plane) % (int) g.dst()[1]];
            }
        }
        visit(g, (d, s, w) -> dst[d] += src[s] * weights[w]);
        return dst;
    }

    /**
     * Backward data, the adjoint of the forward in {@code src}: every product
     * {@code src[n, c, o*S - PL + f*D] * w[k, c, f]} that fed {@code dst[n, k, o]} sends
     * {@code diff_dst[n, k, o] * w[k, c, f]} back to that source element. Taps that landed in the zero
     * padding send nothing.
     */
    public static double[] backwardData(Convolution.Geometry g, double[] diffDst, double[] weights) {
        double[] diffSrc = new double[Math.toIntExact(count(g.src()))];
        visit(g, (d, s, w) -> diffSrc[s] += diffDst[d] * weights[w]);
        return diffSrc;
    }

    /**
     * Backward weights: {@code diff_w[k, c, f] = sum_{n, o} diff_dst[n, k, o] * src[n, g*C/G + c, o*S - PL + f*D]},
     * in the plain {@code K, C/G, F...} layout (the same bytes as {@code G, K/G, C/G, F...}).
     */
    public static double[] backwardWeights(Convolution.Geometry g, double[] src, double[] diffDst) {
        double[] diffW = new double[Math.toIntExact(count(g.weights()))];
        visit(g, (d, s, w) -> diffW[w] += diffDst[d] * src[s]);
        return diffW;
    }

    /** Backward bias: {@code diff_bias[k] = sum_{n, o} diff_dst[n, k, o]}. */
    public static double[] backwardBias(Convolution.Geometry g, double[] diffDst) {
        int k = (int) g.dst()[1];
        int plane = Math.toIntExact(count(g.dst()) / (g.dst()[0] * k));
        double[] diffB = new double[k];
        for (int i = 0; i < diffDst.length; i++) {
            diffB[(i / plane) % k] += diffDst[i];
        }
        return diffB;
    }

    /** One multiply-add of the convolution: flat indices into dst, src and weights (all row-major plain). */
    @FunctionalInterface
    private interface Tap {
        void accept(int dst, int src, int weights);
    }

    /**
     * Visits every (output, input, weight) triple the formula multiplies, skipping taps in the zero padding.
     * The three directions differ only in which of the three arrays they accumulate into.
     */
    private static void visit(Convolution.Geometry g, Tap tap) {
        int sp = g.spatialDims();
        int n = (int) g.src()[0];
        int c = (int) g.src()[1];
        int k = (int) g.dst()[1];
        int cg = c / g.groups();
        int kg = k / g.groups();
        int[] in = new int[3];
        int[] out = new int[3];
        int[] f = new int[3];
        int[] s = new int[3];
        int[] d = new int[3];
        int[] p = new int[3];
        for (int i = 0; i < 3; i++) {
            int j = i - (3 - sp);
            in[i] = j < 0 ? 1 : (int) g.src()[2 + j];
            out[i] = j < 0 ? 1 : (int) g.dst()[2 + j];
            f[i] = j < 0 ? 1 : (int) g.weights()[g.weights().length - sp + j];
            s[i] = j < 0 ? 1 : (int) g.strides()[j];
            d[i] = j < 0 ? 1 : (int) g.dilation()[j];
            p[i] = j < 0 ? 0 : (int) g.padLeft()[j];
        }
        int inPlane = in[0] * in[1] * in[2];
        int outPlane = out[0] * out[1] * out[2];
        int fPlane = f[0] * f[1] * f[2];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < k; oc++) {
                int grp = oc / kg;
                for (int od = 0; od < out[0]; od++) {
                    for (int oh = 0; oh < out[1]; oh++) {
                        for (int ow = 0; ow < out[2]; ow++) {
                            int dstIdx = (b * k + oc) * outPlane + (od * out[1] + oh) * out[2] + ow;
                            for (int ic = 0; ic < cg; ic++) {
                                int srcC = grp * cg + ic;
                                for (int fd = 0; fd < f[0]; fd++) {
                                    int id = od * s[0] - p[0] + fd * d[0];
                                    if (id < 0 || id >= in[0]) continue;
                                    for (int fh = 0; fh < f[1]; fh++) {
                                        int ih = oh * s[1] - p[1] + fh * d[1];
                                        if (ih < 0 || ih >= in[1]) continue;
                                        for (int fw = 0; fw < f[2]; fw++) {
                                            int iw = ow * s[2] - p[2] + fw * d[2];
                                            if (iw < 0 || iw >= in[2]) continue;
                                            tap.accept(dstIdx, (b * c + srcC) * inPlane + (id * in[1] + ih) * in[2] + iw,
                                                    (oc * cg + ic) * fPlane + (fd * f[1] + fh) * f[2] + fw);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static long count(long[] dims) {
        long n = 1;
        for (long v : dims) {
            n *= v;
        }
        return n;
    }
}
