package dev.stride.tests.support;

import dev.stride.conv.Convolution;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.pool.Pooling;
import dev.stride.testing.Check;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A child-JVM {@code main} (see {@link dev.stride.testing.ChildJvm}) that sweeps small sliding-window configurations, convolution
 * and pooling, 2D and 3D, training and inference, forward and both backwards, against the naive references.
 * Each spatial dim draws its own extent 1..3, dilation 1..3, stride 1..3, padding 0..2 (left and right apart)
 * or "same", and input 1..5; channels 1..3 per group, 1..3 groups. It prints every configuration before
 * running it, so when oneDNN crashes the last line names the culprit; a wrong number exits with status 1.
 *
 * <p>Arguments: {@code conv|pool}, the number of configurations, the seed.
 */
public final class WindowSweep {
    private WindowSweep() {}

    public static void main(String[] args) {
        String family = args[0];
        int count = Integer.parseInt(args[1]);
        SplittableRandom r = new SplittableRandom(Long.parseLong(args[2]));
        int run = 0;
        int rejected = 0;
        try (Scope scope = Scope.leakChecked("sweep"); Stream s = Stream.create(scope)) {
            if (family.equals("conv")) {
                for (Object[] k : KNOWN) {
                    conv(s, (long[]) k[0], (Convolution.Params) k[1], r);
                }
            }
            while (run < count) {
                boolean ok = family.equals("conv") ? conv(scope, s, r) : pool(scope, s, r);
                if (ok) {
                    run++;
                } else {
                    rejected++;
                }
            }
        } catch (AssertionError e) {
            System.out.println("WRONG: " + e.getMessage());
            System.out.flush();
            System.exit(1);
        }
        System.out.println("ran " + run + " " + family + " configurations (" + rejected + " rejected as invalid)");
    }

    private static int[] draw(SplittableRandom r, int sp, int lo, int hi) {
        int[] v = new int[sp];
        for (int i = 0; i < sp; i++) {
            v[i] = r.nextInt(lo, hi + 1);
        }
        return v;
    }

    /** Configurations that once crashed oneDNN or got wrong numbers from it, run before the random ones. */
    private static final Object[][] KNOWN = {
            // SIGSEGV in brgemm_convolution_fwd_t::perform_outwork: dilation along an extent of 1.
            {new long[] {1, 1, 1, 1}, Convolution.Params.of(1, 1).stride(1, 2).dilation(1, 2).padding(0, 1)},
            {new long[] {1, 1, 1, 1, 1}, Convolution.Params.of(1, 1).stride(1, 1, 2).dilation(1, 1, 2).padding(0, 0, 1)},
            // Wrong numbers from brg_conv_fwd in inference: one input channel, one output column, stride 2 or 3.
            {new long[] {1, 1, 5, 3}, Convolution.Params.of(1, 3).stride(1, 2)},
            {new long[] {2, 1, 4, 4}, Convolution.Params.of(2, 5, 4).stride(1, 3).padding(1, 0)},
            {new long[] {1, 1, 5, 1}, Convolution.Params.of(1, 3).stride(1, 2).samePadding().dilation(2, 1)},
            // "same" where the window is shorter than the stride: no padding, W2 = ceil(W1/S).
            {new long[] {1, 2, 12, 12}, Convolution.Params.of(3, 1).stride(2).samePadding()},
            {new long[] {1, 2, 7, 5, 3}, Convolution.Params.of(2, 1).stride(3).samePadding()}};

    /** One random convolution; false when the geometry is invalid (rejected in Java, as it must be). */
    private static boolean conv(Scope scope, Stream s, SplittableRandom r) {
        int sp = r.nextBoolean() ? 2 : 3;
        int groups = r.nextInt(1, 4);
        long c = (long) groups * r.nextInt(1, 4);
        int k = groups * r.nextInt(1, 4);
        long[] src = new long[2 + sp];
        src[0] = r.nextInt(1, 3);
        src[1] = c;
        int[] in = draw(r, sp, 1, 5);
        for (int i = 0; i < sp; i++) {
            src[2 + i] = in[i];
        }
        Convolution.Params p = Convolution.Params.of(k, draw(r, sp, 1, 3)).stride(draw(r, sp, 1, 3))
                .dilation(draw(r, sp, 1, 3)).groups(groups).bias(r.nextBoolean());
        p = switch (r.nextInt(3)) {
            case 0 -> p.samePadding();
            case 1 -> p.padding(draw(r, sp, 0, 2));
            default -> p.padding(draw(r, sp, 0, 2), draw(r, sp, 0, 2));
        };
        try {
            Convolution.Geometry.of("conv", src, p);
        } catch (IllegalArgumentException e) {
            return false;
        }
        conv(s, src, p, r);
        return true;
    }

    /** Runs one convolution in every direction and both prop kinds against the reference. */
    private static void conv(Stream s, long[] src, Convolution.Params p, SplittableRandom r) {
        Convolution.Geometry g = Convolution.Geometry.of("conv", src, p);
        String label = Arrays.toString(src) + " " + p;
        System.out.println("conv " + label);
        System.out.flush();
        float[] x = Check.random(r, Check.count(g.src()));
        float[] w = Check.random(r, Check.count(g.weights()));
        float[] b = g.bias() == null ? null : Check.random(r, g.bias()[0]);
        float[] dy = Check.random(r, Check.count(g.dst()));
        float[] want = ConvolutionReference.forward(g, x, w, b);
        try (Scope t = Scope.open("conv")) {
            Tensor tx = Tensor.of(t, "x", x, g.src());
            Tensor tw = Tensor.of(t, "w", w, g.weights());
            Tensor tb = b == null ? null : Tensor.of(t, "b", b, g.bias());
            for (PropKind mode : new PropKind[] {PropKind.INFERENCE, PropKind.TRAINING}) {
                Convolution.Forward f = Convolution.Forward.create(t, "conv", src, p, mode, null);
                Tensor y = Tensor.zeros(t, "y", g.dst());
                f.executePlain(s, tx, tw, tb, y);
                Check.close(label + " " + mode + " (" + f.primitive().implementation() + ")", g.dst(), want,
                        y.toFloatArray(), 1e-4, 1e-4);
                if (mode == PropKind.TRAINING) {
                    Convolution.BackwardData bd = Convolution.BackwardData.create(t, "conv.bd", f);
                    Tensor dx = Tensor.zeros(t, "dx", g.src());
                    Tensor tdy = Tensor.of(t, "dy", dy, g.dst());
                    bd.executePlain(s, tdy, tw, dx);
                    Check.close(label + " diff_src (" + bd.primitive().implementation() + ")", g.src(),
                            Check.toFloat(ConvolutionReference.backwardData(g, Check.toDouble(dy), Check.toDouble(w))),
                            dx.toFloatArray(), 1e-4, 1e-4);
                    Convolution.BackwardWeights bw = Convolution.BackwardWeights.create(t, "conv.bw", f);
                    Tensor dw = Tensor.zeros(t, "dw", g.weights());
                    Tensor db = g.bias() == null ? null : Tensor.zeros(t, "db", g.bias());
                    bw.executePlain(s, tx, tdy, dw, db);
                    Check.close(label + " diff_weights (" + bw.primitive().implementation() + ")", g.weights(),
                            Check.toFloat(ConvolutionReference.backwardWeights(g, Check.toDouble(x), Check.toDouble(dy))),
                            dw.toFloatArray(), 1e-4, 1e-4);
                    if (db != null) {
                        Check.close(label + " diff_bias", g.bias(),
                                Check.toFloat(ConvolutionReference.backwardBias(g, Check.toDouble(dy))),
                                db.toFloatArray(), 1e-4, 1e-4);
                    }
                }
            }
        }
    }

    /** One random pooling forward (both prop kinds) and backward against the reference. */
    private static boolean pool(Scope scope, Stream s, SplittableRandom r) {
        int sp = r.nextBoolean() ? 2 : 3;
        long[] src = new long[2 + sp];
        src[0] = r.nextInt(1, 3);
        src[1] = r.nextInt(1, 4);
        int[] in = draw(r, sp, 1, 5);
        for (int i = 0; i < sp; i++) {
            src[2 + i] = in[i];
        }
        Pooling.Algorithm[] algs = Pooling.Algorithm.values();
        Pooling.Params p = Pooling.Params.of(algs[r.nextInt(algs.length)], draw(r, sp, 1, 3)).stride(draw(r, sp, 1, 3));
        p = r.nextBoolean() ? p.padding(draw(r, sp, 0, 2)) : p.padding(draw(r, sp, 0, 2), draw(r, sp, 0, 2));
        Pooling.Geometry g;
        try {
            g = Pooling.Geometry.of("pool", src, p);
        } catch (IllegalArgumentException e) {
            return false;
        }
        String label = Arrays.toString(src) + " " + p;
        System.out.println("pool " + label);
        System.out.flush();
        float[] x = Check.random(r, Check.count(g.src()));
        float[] want = Check.toFloat(PoolingReference.forward(g, Check.toDouble(x)));
        try (Scope t = Scope.open("pool")) {
            Tensor tx = Tensor.of(t, "x", x, g.src());
            for (PropKind mode : new PropKind[] {PropKind.INFERENCE, PropKind.TRAINING}) {
                Pooling.Forward f = Pooling.Forward.create(t, "pool", src, p, mode);
                Tensor y = Tensor.zeros(t, "y", g.dst());
                f.executePlain(s, tx, y);
                Check.close(label + " " + mode + " (" + f.primitive().implementation() + ")", g.dst(), want,
                        y.toFloatArray(), 1e-4, 1e-4);
            }
        }
        return true;
    }
}
