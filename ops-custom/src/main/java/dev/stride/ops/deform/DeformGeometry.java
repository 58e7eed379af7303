package dev.stride.ops.deform;

import dev.stride.core.Shapes;
import java.util.Arrays;

/**
 * Every shape of one deformable convolution, computed and validated before any work.
 *
 * <p><b>Shape</b> (torchvision's {@code deform_conv2d} conventions, all plain row-major f32):
 * <ul>
 *   <li>src {@code N x C x H1 x W1};
 *   <li>weights {@code K x C/G x KH x KW};
 *   <li>bias {@code K};
 *   <li>offset {@code N x 2*G_off*KH*KW x H2 x W2}, channel {@code 2*(g*KH*KW + i*KW + j)} the {@code dy} and
 *       the next one the {@code dx} of kernel tap {@code (i, j)} in offset group {@code g};
 *   <li>mask (v2) {@code N x G_off*KH*KW x H2 x W2};
 *   <li>dst {@code N x K x H2 x W2}, {@code H2 = (H1 - D*(F-1) - 1 + 2P)/S + 1}, which must be an integer.
 * </ul>
 *
 * <p>Immutable (a record of values), safe to share between threads.
 */
public record DeformGeometry(long n, long c, long h, long w, long k, int kh, int kw, int sh, int sw, int ph, int pw,
        int dh, int dw, int groups, int offsetGroups, long h2, long w2, boolean bias, boolean modulated) {

    /** Validates {@code p} against an input of {@code srcDims} ({@code N, C, H, W}). */
    public static DeformGeometry of(String layer, long[] srcDims, DeformConv2d.Params p) {
        Shapes.requireRank(layer, srcDims, 4);
        Shapes.requireDims(layer, "src", srcDims);
        int[] f = two(layer, "extent F", p.extent());
        int[] s = two(layer, "stride S", p.stride());
        int[] pad = two(layer, "padding P", p.padding());
        int[] dil = two(layer, "dilation", p.dilation());
        long c = srcDims[1];
        if (p.filters() < 1) {
            throw new IllegalArgumentException(layer + ": filters K must be >= 1, got " + p.filters());
        }
        if (p.groups() < 1 || p.offsetGroups() < 1) {
            throw new IllegalArgumentException(layer + ": groups G and offset groups G_off must be >= 1, got G="
                    + p.groups() + ", G_off=" + p.offsetGroups());
        }
        if (c % p.groups() != 0) {
            throw new IllegalArgumentException(layer + ": input channels C=" + c + " (input " + Arrays.toString(srcDims)
                    + ") are not divisible by groups G=" + p.groups());
        }
        if (p.filters() % p.groups() != 0) {
            throw new IllegalArgumentException(layer + ": filters K=" + p.filters() + " are not divisible by groups G="
                    + p.groups());
        }
        if (c % p.offsetGroups() != 0) {
            throw new IllegalArgumentException(layer + ": input channels C=" + c + " (input " + Arrays.toString(srcDims)
                    + ") are not divisible by offset groups G_off=" + p.offsetGroups());
        }
        Shapes.requireWindow(layer, "H", f[0], s[0], pad[0], pad[0], dil[0]);
        Shapes.requireWindow(layer, "W", f[1], s[1], pad[1], pad[1], dil[1]);
        long h2 = Shapes.windowOutput(layer, "H", srcDims[2], f[0], s[0], pad[0], pad[0], dil[0]);
        long w2 = Shapes.windowOutput(layer, "W", srcDims[3], f[1], s[1], pad[1], pad[1], dil[1]);
        DeformGeometry g = new DeformGeometry(srcDims[0], c, srcDims[2], srcDims[3], p.filters(), f[0], f[1], s[0], s[1],
                pad[0], pad[1], dil[0], dil[1], p.groups(), p.offsetGroups(), h2, w2, p.bias(), p.modulated());
        // The Java kernels index with ints: every tensor stays within MemoryDesc.MAX_ELEMENTS (2^31-1). The
        // weights go first: once KH*KW is bounded, the offset's channel count 2*G_off*KH*KW cannot overflow.
        Shapes.requireDims(layer, "weights", g.weights(), new String[] {"K", "C/G", "KH", "KW"},
                "filters K, input channels C, groups G and extent F");
        Shapes.requireDims(layer, "dst", g.dst(), new String[] {"N", "K", "H2", "W2"},
                "batch N, filters K and the input's H, W with padding P, extent F, stride S and dilation");
        Shapes.requireDims(layer, "offset", g.offset(), new String[] {"N", "2*G_off*KH*KW", "H2", "W2"},
                "batch N, offset groups G_off, extent F and the output's H2, W2");
        return g;
    }

    private static int[] two(String layer, String what, int[] v) {
        if (v == null || v.length < 1 || v.length > 2) {
            throw new IllegalArgumentException(layer + ": " + what + " needs 1 or 2 values (H, W), got "
                    + (v == null ? "null" : Arrays.toString(v)));
        }
        return v.length == 1 ? new int[] {v[0], v[0]} : v.clone();
    }

    static long count(long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public long[] src() {
        return new long[] {n, c, h, w};
    }

    public long[] weights() {
        return new long[] {k, c / groups, kh, kw};
    }

    public long[] biasDims() {
        return new long[] {k};
    }

    public long[] offset() {
        return new long[] {n, 2L * offsetGroups * kh * kw, h2, w2};
    }

    public long[] mask() {
        return new long[] {n, (long) offsetGroups * kh * kw, h2, w2};
    }

    public long[] dst() {
        return new long[] {n, k, h2, w2};
    }

    /** The offset shape as its formula with the numbers in, for error messages. */
    String offsetFormula() {
        return "N x 2*G_off*KH*KW x H2 x W2 = " + n + " x 2*" + offsetGroups + "*" + kh + "*" + kw + " x " + h2 + " x " + w2;
    }

    String maskFormula() {
        return "N x G_off*KH*KW x H2 x W2 = " + n + " x " + offsetGroups + "*" + kh + "*" + kw + " x " + h2 + " x " + w2;
    }

    /** Rows of the column matrix: {@code C*KH*KW}. */
    public long columnRows() {
        return c * kh * kw;
    }

    /** Output pixels per image: {@code H2*W2}. */
    public long outputPixels() {
        return h2 * w2;
    }

    /** Multiply-adds of the GEMM times two, plus nothing for the sampling. */
    public long forwardFlops() {
        return 2 * n * k * (c / groups) * kh * kw * h2 * w2;
    }
}
