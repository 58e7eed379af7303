package dev.stride.tests;

import static dev.stride.tests.FuzzSupport.check;
import static dev.stride.tests.FuzzSupport.checkScalar;
import static dev.stride.tests.FuzzSupport.dot;
import static dev.stride.tests.FuzzSupport.fault;
import static dev.stride.tests.FuzzSupport.plain;
import static dev.stride.tests.FuzzSupport.values;

import dev.stride.conv.Convolution;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.PostOps;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.pool.Pooling;
import dev.stride.tests.FuzzCase.Gen;
import dev.stride.tests.FuzzSupport.Fault;
import dev.stride.tests.support.PoolingReference;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Fuzz generators for the windowed families: convolution and pooling, 2D and 3D, every direction. */
final class FuzzConv {
    private FuzzConv() {}

    /** Spatial sizes, extents, strides, paddings and dilations whose output is a positive integer. */
    record Window(long[] in, int[] f, int[] s, int[] pl, int[] pr, int[] d, boolean same) {}

    static Window window(Gen g, int sp, boolean allowSame, boolean allowDilation, boolean padBelowExtent) {
        long[] in = new long[sp];
        int[] f = new int[sp];
        int[] s = new int[sp];
        int[] pl = new int[sp];
        int[] pr = new int[sp];
        int[] d = new int[sp];
        boolean same = allowSame && g.r.nextInt(5) == 0;
        boolean asym = g.r.nextInt(3) == 0;
        for (int i = 0; i < sp; i++) {
            f[i] = g.between(1, 3);
            s[i] = g.between(1, 2);
            d[i] = allowDilation ? g.between(1, 2) : 1;
            if (allowDilation && f[i] == 1 && g.r.nextInt(10) == 0) d[i] = g.pick(new Integer[] {1000, Integer.MAX_VALUE});
            int maxPad = padBelowExtent ? f[i] - 1 : 2;
            pl[i] = g.between(0, maxPad);
            pr[i] = asym ? g.between(0, maxPad) : pl[i];
            long span = (long) d[i] * (f[i] - 1) + 1;
            long x = g.dim(1, 6);
            x = Math.max(x, span - pl[i] - pr[i]);
            long num = x - span + pl[i] + pr[i];
            if (!same && num % s[i] != 0) {
                x += s[i] - num % s[i];
            }
            in[i] = x;
        }
        return new Window(in, f, s, pl, pr, d, same);
    }

    /** Turns {@code v} into the mutated value in one (random) spatial entry, keeping the array per-dim. */
    static int[] breakOne(Gen g, int[] v, int bad) {
        int[] out = v.clone();
        out[g.r.nextInt(out.length)] = bad;
        return out;
    }

    static final String[] CONV_PARAMS = {
        "N|N|input dims|srcDims|src", "C|C|channels|input dims|srcDims|src", "spatial|H|W|D|H1|W1|D1|input dims|srcDims|src",
        "filters|K|filters", "extent|F|extent", "stride|S|stride", "padding|P|PL|PR|padding", "dilation|dilation|D",
        "groups|G|groups", "output|S|stride|W2|H2|D2", "rank|rank|dims|1D|2D|3D|4D|5D|6D", "extentCount|extent|F",
        "src tensor|src", "weights tensor|weights", "bias tensor|bias", "dst tensor|dst", "stream|stream",
        "closed primitive|fzconv|closed"};

    static FuzzCase convolution(Gen g) {
        int sp = g.r.nextInt(10) < 7 ? 2 : 3;
        int dir = g.between(0, 2); // forward, backward data, backward weights
        // Backward data takes no bias, backward weights no weights.
        g.mutate(Arrays.stream(CONV_PARAMS).filter(x -> !(dir == 1 && x.startsWith("bias")) && !(dir == 2 && x.startsWith("weights")))
                .toArray(String[]::new));
        if (dir == 1 && g.is("src tensor")) g.names = java.util.List.of("diffDst", "diff_dst");
        if (dir == 1 && g.is("dst tensor")) g.names = java.util.List.of("diffSrc", "diff_src");
        if (dir == 2 && g.is("dst tensor")) g.names = java.util.List.of("diffWeights", "diff_weights");
        int groups = g.pick(new Integer[] {1, 1, 1, 2, 3});
        long n = g.dim("N", 1, 2);
        long c = g.is("C") ? g.badLong() : groups * g.dim(1, 3);
        int k = g.is("filters") ? g.badInt() : groups * g.between(1, 3);
        // A bad padding is mutated from an explicitly padded window: on a "same" window the other dims' explicit
        // padding would be zero, making the configuration wrong in a second, unnamed way.
        Window w = window(g, sp, !g.is("padding"), true, false);
        boolean bias = dir != 1 && g.coin();
        int[] f = w.f;
        int[] s = w.s;
        int[] pl = w.pl;
        int[] pr = w.pr;
        int[] d = w.d;
        long[] src = new long[2 + sp];
        src[0] = n;
        src[1] = c;
        System.arraycopy(w.in, 0, src, 2, sp);
        if (g.is("spatial")) src[2 + g.r.nextInt(sp)] = g.badLong();
        if (g.is("extent")) f = breakOne(g, f, g.badInt());
        // A huge stride or dilation is legal where the window fits anyway (extent 1, zero numerator, "same").
        if (g.is("stride")) s = breakOne(g, s, g.nonPositive());
        if (g.is("dilation")) d = breakOne(g, d, g.nonPositive());
        if (g.is("padding")) {
            int bad = g.pick(new Integer[] {-1, -4, Integer.MIN_VALUE, Integer.MAX_VALUE});
            g.how(bad == Integer.MAX_VALUE ? "Integer.MAX_VALUE" : "negative");
            pl = breakOne(g, pl, bad);
        }
        if (g.is("groups")) {
            if (g.coin()) {
                groups = g.badInt();
            } else {
                groups = (int) c + 1; // does not divide C
                g.how("does not divide C");
            }
        }
        if (g.is("output")) {
            // A stride that does not divide (W1 - span + PL + PR): the output size is not an integer.
            int i = g.r.nextInt(sp);
            long span = (long) d[i] * (f[i] - 1) + 1;
            long num = src[2 + i] - span + pl[i] + pr[i];
            s = s.clone();
            s[i] = (int) num + 1 + g.between(0, 1);
            if (num <= 0) {
                src[2 + i] += 2;
                s[i] = (int) (num + 2) + 1;
            }
            g.how("non-integer output size");
        }
        if (g.is("rank")) {
            src = g.coin() ? Arrays.copyOf(src, 3) : Arrays.copyOf(src, 6);
            if (src[src.length - 1] == 0) src[src.length - 1] = 4;
            g.how("rank " + src.length);
        }
        if (g.is("extentCount")) {
            f = new int[sp == 2 ? 3 : 2];
            Arrays.fill(f, 1);
            g.how(f.length + " extents for " + sp + " spatial dims");
        }
        Convolution.Params p = Convolution.Params.of(k, f).stride(s).dilation(d).groups(groups).bias(bias);
        // "same" padding fits any stride: the non-integer output needs explicit padding.
        p = w.same && !g.is("output") ? p.samePadding() : Arrays.equals(pl, pr) ? p.padding(pl) : p.padding(pl, pr);
        boolean relu = dir == 0 && g.r.nextInt(4) == 0;
        boolean sum = dir == 0 && g.r.nextInt(5) == 0;
        PropKind mode = dir == 0 && g.coin() ? PropKind.INFERENCE : PropKind.TRAINING;
        boolean extraBias = g.is("bias tensor") && !bias;
        Fault biasFault = bias ? fault(g, "bias tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        if (extraBias) g.how("bias tensor given to a convolution without bias");
        Fault srcFault = fault(g, "src tensor");
        Fault wFault = fault(g, "weights tensor");
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        boolean closedPrim = g.is("closed primitive");
        if (closedStream) g.how("closed stream");
        if (closedPrim) g.how("primitive closed before use");
        boolean valid = g.mutated == null;
        String[] dirs = {"Forward", "BackwardData", "BackwardWeights"};
        long[] srcDims = src;
        Convolution.Params params = p;
        String desc = "Convolution." + dirs[dir] + " srcDims=" + Arrays.toString(srcDims) + " " + paramsString(params)
                + (dir == 0 ? " mode=" + mode + (relu ? " +relu post-op" : "") + (sum ? " +sum post-op" : "") : "")
                + ", executePlain";
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            PostOps po = null;
            if (relu || sum) {
                po = PostOps.create(scope);
                if (sum) po.sum(1f);
                if (relu) po.eltwise(Eltwise.Algorithm.RELU, 0f, 0f);
            }
            Convolution.Forward fw = Convolution.Forward.create(scope, "fzconv", srcDims, params, mode, po);
            Convolution.Geometry geo = fw.geometry();
            Stream st = closedStream ? FuzzSupport.closedStream(scope) : stream;
            Tensor x = plain(scope, "src", geo.src(), r, true, dir == 1 ? null : srcFault);
            Tensor wt = plain(scope, "weights", geo.weights(), r, true, wFault);
            if (dir == 0) {
                Tensor b = extraBias ? plain(scope, "bias", new long[] {geo.dst()[1]}, r, true, null)
                        : geo.bias() == null ? null : plain(scope, "bias", geo.bias(), r, true, biasFault);
                Tensor y = plain(scope, "dst", geo.dst(), r, sum, dstFault);
                double[] before = valid && sum ? values(y) : null;
                if (closedPrim) fw.close();
                fw.executePlain(st, x, wt, b, y);
                if (!valid) return;
                double[] want = ConvolutionReference.forward(geo, values(x), values(wt), b == null ? null : values(b));
                for (int i = 0; i < want.length; i++) {
                    if (sum) want[i] += before[i];
                    if (relu) want[i] = Math.max(0, want[i]);
                }
                check("conv forward", want, y.toFloatArray(), 1e-4, 1e-4);
            } else if (dir == 1) {
                Convolution.BackwardData bd = Convolution.BackwardData.create(scope, "fzconv.bwd", fw);
                Tensor dy = plain(scope, "diffDst", geo.dst(), r, true, srcFault);
                Tensor dx = plain(scope, "diffSrc", geo.src(), r, false, dstFault);
                if (closedPrim) bd.close();
                bd.executePlain(st, dy, wt, dx);
                if (!valid) return;
                double[] want = ConvolutionReference.backwardData(geo, values(dy), values(wt));
                check("conv backward data", want, dx.toFloatArray(), 1e-4, 1e-4);
            } else {
                Convolution.BackwardWeights bw = Convolution.BackwardWeights.create(scope, "fzconv.bwdw", fw);
                Tensor dy = plain(scope, "diffDst", geo.dst(), r, true, null);
                Tensor dw = plain(scope, "diffWeights", geo.weights(), r, false, dstFault);
                Tensor db = extraBias ? plain(scope, "diffBias", new long[] {geo.dst()[1]}, r, false, null)
                        : geo.bias() == null ? null : plain(scope, "diffBias", geo.bias(), r, false, biasFault);
                if (closedPrim) bw.close();
                bw.executePlain(st, x, dy, dw, db);
                if (!valid) return;
                check("conv backward weights", ConvolutionReference.backwardWeights(geo, values(x), values(dy)),
                        dw.toFloatArray(), 1e-4, 1e-4);
                if (db != null) {
                    check("conv backward bias", ConvolutionReference.backwardBias(geo, values(dy)), db.toFloatArray(), 1e-4, 1e-4);
                }
            }
        });
    }

    static String paramsString(Convolution.Params p) {
        return "Params.of(" + p.filters() + ", " + Arrays.toString(p.extent()) + ").stride(" + Arrays.toString(p.stride())
                + ")" + (p.same() ? ".samePadding()" : ".padding(" + Arrays.toString(p.padLeft()) + ", "
                + Arrays.toString(p.padRight()) + ")") + ".dilation(" + Arrays.toString(p.dilation()) + ").groups("
                + p.groups() + ").bias(" + p.bias() + ")";
    }

    static final String[] POOL_PARAMS = {
        "N|N|input dims|srcDims|src", "C|C|input dims|srcDims|src", "spatial|H|W|D|H1|W1|D1|input dims|srcDims|src",
        "extent|F|extent", "stride|S|stride", "padding|P|padding", "output|S|stride|W2|H2|D2",
        "rank|rank|dims|1D|2D|3D|4D|5D|6D", "src tensor|src", "dst tensor|dst", "diffDst tensor|diffDst|diff_dst",
        "mode|training|inference|mode", "stream|stream"};

    static FuzzCase pooling(Gen g) {
        int sp = g.r.nextInt(10) < 7 ? 2 : 3;
        boolean global = g.r.nextInt(6) == 0;
        Pooling.Algorithm alg = g.pick(Pooling.Algorithm.values());
        boolean backward = g.coin();
        g.mutate(POOL_PARAMS);
        if (global && (g.is("extent") || g.is("stride") || g.is("padding") || g.is("output"))) global = false;
        if (global && alg != Pooling.Algorithm.MAX) alg = Pooling.Algorithm.AVG_INCLUDE_PADDING;
        long n = g.dim("N", 1, 2);
        long c = g.dim("C", 1, 4);
        Window w = window(g, sp, false, false, true);
        long[] src = new long[2 + sp];
        src[0] = n;
        src[1] = c;
        System.arraycopy(w.in, 0, src, 2, sp);
        int[] f = w.f;
        int[] s = w.s;
        int[] pl = w.pl;
        int[] pr = w.pr;
        if (g.is("spatial")) src[2 + g.r.nextInt(sp)] = g.badLong();
        if (g.is("extent")) f = breakOne(g, f, g.badInt());
        if (g.is("stride")) s = breakOne(g, s, g.nonPositive());
        if (g.is("padding")) {
            int i = g.r.nextInt(sp);
            pl = pl.clone();
            if (g.coin()) {
                pl[i] = g.pick(new Integer[] {-1, Integer.MIN_VALUE});
                g.how("negative");
            } else {
                pl[i] = f[i]; // a window entirely in the padding
                pr = pr.clone();
                pr[i] = f[i];
                s = s.clone();
                s[i] = 1;
                g.how("not smaller than the extent");
            }
        }
        if (g.is("output")) {
            int i = g.r.nextInt(sp);
            long num = src[2 + i] - f[i] + pl[i] + pr[i];
            s = s.clone();
            s[i] = (int) num + 2;
            if (num == 0) { src[2 + i] += 1; s[i] = 2; }
            g.how("non-integer output size");
        }
        if (g.is("rank")) {
            src = g.coin() ? Arrays.copyOf(src, 3) : Arrays.copyOf(src, 6);
            if (src[src.length - 1] == 0) src[src.length - 1] = 3;
            g.how("rank " + src.length);
        }
        if (g.is("diffDst tensor")) backward = true;
        PropKind mode = backward || g.coin() ? PropKind.TRAINING : PropKind.INFERENCE;
        if (g.is("mode")) {
            backward = true;
            alg = Pooling.Algorithm.MAX;
            mode = PropKind.INFERENCE;
            g.how("backward of an inference-mode forward");
        }
        Fault srcFault = fault(g, "src tensor");
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault dyFault = fault(g, "diffDst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        Pooling.Params p = global ? (alg == Pooling.Algorithm.MAX ? Pooling.Params.globalMax() : Pooling.Params.globalAvg())
                : Pooling.Params.of(alg, f).stride(s).padding(pl, pr);
        long[] srcDims = src;
        boolean bwd = backward;
        PropKind m = mode;
        String desc = "Pooling." + (bwd ? "Backward of " : "Forward ") + "srcDims=" + Arrays.toString(srcDims) + " "
                + (global ? p.algorithm() + " global" : "Params.of(" + alg + ", " + Arrays.toString(f) + ").stride("
                + Arrays.toString(s) + ").padding(" + Arrays.toString(pl) + ", " + Arrays.toString(pr) + ")") + " mode=" + m;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = closedStream ? FuzzSupport.closedStream(scope) : stream;
            Pooling.Forward fw = Pooling.Forward.create(scope, "fzpool", srcDims, p, m);
            Pooling.Geometry geo = fw.geometry();
            if (!bwd) {
                Tensor x = plain(scope, "src", geo.src(), r, true, srcFault);
                Tensor y = plain(scope, "dst", geo.dst(), r, false, dstFault);
                fw.executePlain(st, x, y);
                if (!valid) return;
                check("pool forward", PoolingReference.forward(geo, values(x)), y.toFloatArray(), 1e-5, 1e-4);
                return;
            }
            Pooling.Backward bw = Pooling.Backward.create(scope, "fzpool.bwd", fw);
            Tensor x = FuzzSupport.tensor(scope, "src", fw.srcDesc(), r, true, srcFault);
            Tensor y = FuzzSupport.tensor(scope, "dst", fw.dstDesc(), r, false, dstFault);
            Tensor ws = fw.hasWorkspace() ? Tensor.allocate(scope, "workspace", fw.workspaceDesc()) : null;
            Pooling.Bound fb = fw.bind(scope, x, y, ws);
            fw.execute(st, fb);
            st.await();
            Tensor dy = FuzzSupport.tensor(scope, "diffDst", bw.diffDstDesc(), r, true, dyFault);
            Tensor dx = Tensor.allocate(scope, "diffSrc", bw.diffSrcDesc());
            bw.execute(st, bw.bind(scope, fb, dy, dx));
            st.await();
            if (!valid) return;
            double[] xs = values(x);
            double[] want = PoolingReference.forward(geo, xs);
            check("pool forward (training)", want, y.toFloatArray(), 1e-5, 1e-4);
            double[] dys = values(dy);
            double[] dxs = values(dx);
            if (geo.algorithm() == Pooling.Algorithm.L2) {
                check("l2 pool backward", PoolingReference.l2Backward(geo, xs, dys), dxs, 1e-4, 1e-3);
            } else {
                // Max and average pooling are linear in x (max: locally), so <dy, pool(x)> = <dx, x>.
                checkScalar("pool backward adjoint <dy, y> vs <dx, x>", dot(dys, want), dot(dxs, xs), 1e-4);
            }
        });
    }
}
