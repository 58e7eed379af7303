package dev.stride.tests;

import static dev.stride.tests.FuzzSupport.check;
import static dev.stride.tests.FuzzSupport.checkScalar;
import static dev.stride.tests.FuzzSupport.dot;
import static dev.stride.tests.FuzzSupport.fault;
import static dev.stride.tests.FuzzSupport.plain;
import static dev.stride.tests.FuzzSupport.tensor;
import static dev.stride.tests.FuzzSupport.values;

import dev.stride.conv.Convolution;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.nn.Shape;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.deform.DeformGeometry;
import dev.stride.ops.layers.CustomLayers;
import dev.stride.ops.se.SqueezeExcitation;
import dev.stride.ops.stn.AffineGrid;
import dev.stride.ops.stn.AffineSampler;
import dev.stride.ops.stn.GridSampler;
import dev.stride.ops.stn.SamplerOptions;
import dev.stride.tests.FuzzCase.Gen;
import dev.stride.tests.FuzzSupport.Fault;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * Fuzz generators for the custom ops (deformable convolution, spatial transformer, squeeze-excitation) against
 * naive references written here from their formulas (torchvision/PyTorch semantics), and for the network
 * builder and planner, where the reference is the unoptimised plan of the same network.
 */
final class FuzzCustom {
    private FuzzCustom() {}

    /** torchvision's bilinear sample of plane {@code p} ({@code h x w} at {@code base}): zero outside. */
    static double bilinear(double[] x, int base, int h, int w, double y, double xx) {
        if (y <= -1 || y >= h || xx <= -1 || xx >= w) return 0;
        int y0 = (int) Math.floor(y);
        int x0 = (int) Math.floor(xx);
        double ly = y - y0;
        double lx = xx - x0;
        double v = 0;
        for (int dy = 0; dy <= 1; dy++) for (int dx = 0; dx <= 1; dx++) {
            int yy = y0 + dy;
            int xq = x0 + dx;
            if (yy < 0 || yy >= h || xq < 0 || xq >= w) continue;
            v += (dy == 0 ? 1 - ly : ly) * (dx == 0 ? 1 - lx : lx) * x[base + yy * w + xq];
        }
        return v;
    }

    static double[] deformForward(DeformGeometry g, double[] x, double[] off, double[] mask, double[] wt, double[] b) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), w = (int) g.w(), k = (int) g.k();
        int h2 = (int) g.h2(), w2 = (int) g.w2(), kh = g.kh(), kw = g.kw(), taps = kh * kw;
        int cg = c / g.groups(), kg = k / g.groups(), cog = c / g.offsetGroups();
        double[] y = new double[n * k * h2 * w2];
        for (int s = 0; s < n; s++) for (int f = 0; f < k; f++) for (int oh = 0; oh < h2; oh++) for (int ow = 0; ow < w2; ow++) {
            double acc = b == null ? 0 : b[f];
            int grp = f / kg;
            for (int ci = 0; ci < cg; ci++) {
                int ch = grp * cg + ci;
                int og = ch / cog;
                for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++) {
                    int t = og * taps + i * kw + j;
                    double dy = off[((s * 2 * g.offsetGroups() * taps + 2 * t) * h2 + oh) * w2 + ow];
                    double dx = off[((s * 2 * g.offsetGroups() * taps + 2 * t + 1) * h2 + oh) * w2 + ow];
                    double m = mask == null ? 1 : mask[((s * g.offsetGroups() * taps + t) * h2 + oh) * w2 + ow];
                    double py = oh * g.sh() - g.ph() + i * g.dh() + dy;
                    double px = ow * g.sw() - g.pw() + j * g.dw() + dx;
                    acc += m * bilinear(x, (s * c + ch) * h * w, h, w, py, px) * wt[((f * cg + ci) * kh + i) * kw + j];
                }
            }
            y[((s * k + f) * h2 + oh) * w2 + ow] = acc;
        }
        return y;
    }

    static FuzzCase deformConv(Gen g) {
        boolean backward = g.r.nextInt(3) == 0;
        g.mutate("N|N|input dims|src", "C|C|channels|input dims|src", "spatial|H|W|H1|W1|input dims|src",
                "filters|K|filters", "extent|F|extent|KH|KW", "stride|S|stride", "padding|P|padding", "dilation|dilation|D",
                "groups|G|groups", "offsetGroups|offset groups|offsetGroups|G_off", "output|S|stride|W2|H2",
                "offset tensor|offset", "mask tensor|mask", "weights tensor|weights", "bias tensor|bias", "dst tensor|dst",
                "layout|layout|plain|nchw|src");
        int groups = g.pick(new Integer[] {1, 1, 2});
        int og = g.pick(new Integer[] {1, 1, 2});
        long n = g.dim("N", 1, 2);
        long c = g.is("C") ? g.badLong() : (long) groups * og * (g.is("layout") ? 2 : g.between(1, 2)); // nhwc = nchw for C=1
        int k = g.is("filters") ? g.badInt() : groups * g.between(1, 2);
        FuzzConv.Window w = FuzzConv.window(g, 2, false, true, false);
        int[] f = w.f(), s = w.s(), p = w.pl(), d = w.d();
        long[] src = {n, c, w.in()[0], w.in()[1]};
        // Symmetric padding only: recompute the input so the output is an integer with pl on both sides.
        for (int i = 0; i < 2; i++) {
            long span = (long) d[i] * (f[i] - 1) + 1;
            long x = Math.max(w.in()[i], span - 2L * p[i]);
            long num = x - span + 2L * p[i];
            if (num % s[i] != 0) x += s[i] - num % s[i];
            src[2 + i] = x;
        }
        // With H = W = 1 nhwc and nchw are the same bytes (a valid src): widen W by one stride (the output stays
        // an integer) so that the layout mutation is one.
        if (g.is("layout") && src[2] * src[3] == 1) src[3] += s[1];
        if (g.is("spatial")) src[2 + g.r.nextInt(2)] = g.badLong();
        if (g.is("extent")) f = FuzzConv.breakOne(g, f, g.badInt());
        if (g.is("stride")) s = FuzzConv.breakOne(g, s, g.nonPositive());
        if (g.is("dilation")) d = FuzzConv.breakOne(g, d, g.nonPositive());
        if (g.is("padding")) { p = FuzzConv.breakOne(g, p, g.pick(new Integer[] {-1, Integer.MIN_VALUE})); g.how("negative"); }
        if (g.is("groups")) { if (g.coin()) groups = g.badInt(); else { groups = (int) c + 1; g.how("does not divide C"); } }
        if (g.is("offsetGroups")) { if (g.coin()) og = g.badInt(); else { og = (int) c + 1; g.how("does not divide C"); } }
        if (g.is("output")) {
            int i = g.r.nextInt(2);
            long span = (long) d[i] * (f[i] - 1) + 1;
            long num = src[2 + i] - span + 2L * p[i];
            s = s.clone();
            s[i] = (int) num + 2;
            if (num == 0) { src[2 + i] += 1; s[i] = 2; }
            g.how("non-integer output size");
        }
        boolean modulated = g.coin();
        boolean bias = g.coin();
        boolean extraMask = g.is("mask tensor") && !modulated;
        if (extraMask) g.how("mask given to a v1 (unmodulated) deformable convolution");
        Fault maskFault = modulated ? fault(g, "mask tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        boolean extraBias = g.is("bias tensor") && !bias;
        if (extraBias) g.how("bias given without bias");
        // The backward reads no bias, and a null diffBias means "skip it" (the documented contract), so there
        // a null bias tensor is valid.
        Fault biasFault = !bias ? null : backward ? fault(g, "bias tensor", Fault.WRONG_DIMS, Fault.CLOSED)
                : fault(g, "bias tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault offFault = fault(g, "offset tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault wFault = fault(g, "weights tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean nhwc = g.is("layout");
        if (nhwc) g.how("src in nhwc");
        boolean valid = g.mutated == null;
        DeformConv2d.Params params = DeformConv2d.Params.of(k, f).stride(s).padding(p).dilation(d).groups(groups)
                .offsetGroups(og).bias(bias).modulated(modulated);
        long[] srcDims = src;
        boolean bwd = backward;
        String desc = "DeformConv2d." + (bwd ? "backwardOnce" : "forwardOnce") + " srcDims=" + Arrays.toString(srcDims)
                + " Params.of(" + k + ", " + Arrays.toString(f) + ").stride(" + Arrays.toString(s) + ").padding("
                + Arrays.toString(p) + ").dilation(" + Arrays.toString(d) + ").groups(" + groups + ").offsetGroups(" + og
                + ").bias(" + bias + ").modulated(" + modulated + ")";
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            DeformGeometry geo = DeformGeometry.of("fzdeform", srcDims, params);
            Tensor x = plain(scope, "src", geo.src(), r, true, null);
            if (nhwc) {
                try (dev.stride.core.Scope tmp = dev.stride.core.Scope.open("nhwc")) {
                    x = x.reorder(scope, dev.stride.core.MemoryDesc.of(tmp, dev.stride.core.DataType.F32,
                            dev.stride.core.FormatTag.NHWC, geo.src()), stream);
                }
            }
            Tensor off = plain(scope, "offset", geo.offset(), r, false, offFault);
            if (valid) off.copyFrom(FuzzSupport.random(r, off.desc().elements(), -1.5, 1.5));
            Tensor mask = modulated || extraMask ? plain(scope, "mask", modulated ? geo.mask()
                    : new long[] {geo.n(), (long) geo.offsetGroups() * geo.kh() * geo.kw(), geo.h2(), geo.w2()}, r, false, maskFault) : null;
            if (valid && mask != null) mask.copyFrom(FuzzSupport.random(r, mask.desc().elements(), 0, 1));
            Tensor wt = plain(scope, "weights", geo.weights(), r, true, wFault);
            Tensor b = bias || extraBias ? plain(scope, "bias", new long[] {geo.k()}, r, true, biasFault) : null;
            if (!bwd) {
                Tensor y = plain(scope, "dst", geo.dst(), r, false, dstFault);
                DeformConv2d.forwardOnce(stream, params, x, off, mask, wt, b, y);
                if (!valid) return;
                check("deformable conv forward", deformForward(geo, values(x), values(off), mask == null ? null : values(mask),
                        values(wt), b == null ? null : values(b)), y.toFloatArray(), 1e-4, 1e-3);
                return;
            }
            Tensor dy = plain(scope, "diffDst", geo.dst(), r, true, dstFault);
            Tensor dx = Tensor.zeros(scope, "diffSrc", geo.src());
            Tensor doff = Tensor.zeros(scope, "diffOffset", geo.offset());
            Tensor dmask = modulated ? Tensor.zeros(scope, "diffMask", geo.mask()) : null;
            Tensor dw = Tensor.zeros(scope, "diffWeights", geo.weights());
            Tensor db = bias || extraBias ? plain(scope, "diffBias", new long[] {geo.k()}, r, false, biasFault) : null;
            DeformConv2d.backwardOnce(stream, params, x, off, mask, wt, dy, dx, doff, dmask, dw, db);
            if (!valid) return;
            // y - b is linear in x (fixed offsets) and in w: <dy, y - b> = <dx, x> = <dw, w>; db = sum dy.
            double[] xs = values(x), ws = values(wt), dys = values(dy);
            double[] y0 = deformForward(geo, xs, values(off), mask == null ? null : values(mask), ws, null);
            double want = dot(dys, y0);
            checkScalar("deformable conv backward <dy, y> vs <dx, x>", want, dot(values(dx), xs), 1e-3);
            checkScalar("deformable conv backward <dy, y> vs <dw, w>", want, dot(values(dw), ws), 1e-3);
            if (db != null) {
                double[] wantB = new double[(int) geo.k()];
                int plane = (int) (geo.h2() * geo.w2());
                for (int i = 0; i < dys.length; i++) wantB[(i / plane) % wantB.length] += dys[i];
                check("deformable conv diff bias", wantB, db.toFloatArray(), 1e-4, 1e-4);
            }
        });
    }

    static double unnormalize(double v, int size, boolean align) {
        return align ? (v + 1) / 2 * (size - 1) : ((v + 1) * size - 1) / 2;
    }

    /** PyTorch's {@code grid_sample} (bilinear, zeros or border padding) of {@code N x C x H x W} at {@code N x H2 x W2 x 2}. */
    static double[] gridSample(double[] x, int n, int c, int h, int w, double[] grid, int h2, int w2, SamplerOptions o) {
        double[] y = new double[n * c * h2 * w2];
        for (int s = 0; s < n; s++) for (int i = 0; i < h2; i++) for (int j = 0; j < w2; j++) {
            int gi = ((s * h2 + i) * w2 + j) * 2;
            double ix = unnormalize(grid[gi], w, o.alignCorners());
            double iy = unnormalize(grid[gi + 1], h, o.alignCorners());
            if (o.padding() == SamplerOptions.Padding.BORDER) {
                ix = Math.min(Math.max(ix, 0), w - 1);
                iy = Math.min(Math.max(iy, 0), h - 1);
            }
            int x0 = (int) Math.floor(ix), y0 = (int) Math.floor(iy);
            double lx = ix - x0, ly = iy - y0;
            for (int ch = 0; ch < c; ch++) {
                double v = 0;
                for (int dy = 0; dy <= 1; dy++) for (int dx = 0; dx <= 1; dx++) {
                    int yy = y0 + dy, xq = x0 + dx;
                    if (yy < 0 || yy >= h || xq < 0 || xq >= w) continue;
                    v += (dy == 0 ? 1 - ly : ly) * (dx == 0 ? 1 - lx : lx) * x[((s * c + ch) * h + yy) * w + xq];
                }
                y[((s * c + ch) * h2 + i) * w2 + j] = v;
            }
        }
        return y;
    }

    static double[] affineGrid(double[] theta, int n, int h2, int w2, boolean align) {
        double[] grid = new double[n * h2 * w2 * 2];
        for (int s = 0; s < n; s++) for (int i = 0; i < h2; i++) for (int j = 0; j < w2; j++) {
            double x = align ? -1 + 2.0 * j / (w2 - 1) : (2.0 * j + 1) / w2 - 1;
            double y = align ? -1 + 2.0 * i / (h2 - 1) : (2.0 * i + 1) / h2 - 1;
            int t = s * 6;
            int gi = ((s * h2 + i) * w2 + j) * 2;
            grid[gi] = theta[t] * x + theta[t + 1] * y + theta[t + 2];
            grid[gi + 1] = theta[t + 3] * x + theta[t + 4] * y + theta[t + 5];
        }
        return grid;
    }

    static FuzzCase spatialTransformer(Gen g) {
        int op = g.between(0, 2); // affine grid, grid sample, affine transform
        // The one-off functions take sizes only as tensor dims: a bad size must be refused naming the dims.
        g.mutate("N|N|sizes|dims|src", "C|C|sizes|dims|src", "H|H|sizes|dims|src", "W|W|sizes|dims|src",
                "H2|H2|sizes|dims|grid|dst", "W2|W2|sizes|dims|grid|dst", "theta tensor|theta", "grid tensor|grid", "src tensor|src", "dst tensor|dst",
                "options|options", "alias|dst|disjoint|overlap");
        if (op == 0 && (g.is("C") || g.is("H") || g.is("W") || g.is("src tensor") || g.is("dst tensor") || g.is("options") || g.is("alias"))) {
            op = 2;
        }
        if (op == 1 && g.is("theta tensor")) op = 2;
        if (op == 2 && g.is("grid tensor")) op = 1;
        long n = g.dim("N", 1, 2), c = g.dim("C", 1, 3), h = g.dim("H", 1, 5), w = g.dim("W", 1, 5);
        long h2 = g.dim("H2", 2, 5), w2 = g.dim("W2", 2, 5);
        SamplerOptions o = new SamplerOptions(g.pick(SamplerOptions.Padding.values()), g.coin());
        if (g.is("options")) { o = null; g.how("null options"); }
        Fault ft = fault(g, "theta tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fg = fault(g, "grid tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fs = fault(g, "src tensor", Fault.NULL, Fault.WRONG_RANK, Fault.CLOSED);
        Fault fd = op == 2 ? fault(g, "dst tensor", Fault.NULL, Fault.WRONG_RANK, Fault.CLOSED)
                : fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean alias = g.is("alias");
        if (alias) { h2 = h; w2 = w; g.how("dst is src"); }
        boolean valid = g.mutated == null;
        SamplerOptions opts = o;
        int which = op;
        long[] sd = {n, c, h, w};
        long hh2 = h2, ww2 = w2;
        String[] names = {"AffineGrid.forward", "GridSampler.sample", "AffineSampler.transform"};
        String desc = names[op] + " src=" + Arrays.toString(sd) + " out=" + h2 + "x" + w2 + " options=" + o;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            boolean align = opts != null && opts.alignCorners();
            Tensor theta = plain(scope, "theta", AffineGrid.thetaDims(sd[0]), r, true, ft);
            Tensor grid = plain(scope, "grid", AffineGrid.gridDims(sd[0], hh2, ww2), r, false, fg);
            if (valid && which == 1) grid.copyFrom(FuzzSupport.random(r, grid.desc().elements(), -1.2, 1.2));
            if (which == 0) {
                AffineGrid.forward(theta, grid, align);
                if (valid) check("affine grid", affineGrid(values(theta), (int) sd[0], (int) hh2, (int) ww2, align),
                        grid.toFloatArray(), 1e-5, 1e-5);
                return;
            }
            Tensor x = plain(scope, "src", sd, r, true, fs);
            Tensor y = alias ? x : plain(scope, "dst", new long[] {sd[0], sd[1], hh2, ww2}, r, false, fd);
            int nn = (int) sd[0], cc = (int) sd[1], h0 = (int) sd[2], w0 = (int) sd[3];
            if (which == 1) {
                GridSampler.sample(x, grid, y, opts);
                if (valid) check("grid sample", gridSample(values(x), nn, cc, h0, w0, values(grid), (int) hh2, (int) ww2, opts),
                        y.toFloatArray(), 1e-5, 1e-4);
            } else {
                AffineSampler.transform(theta, x, y, opts);
                if (valid) {
                    double[] gr = affineGrid(values(theta), nn, (int) hh2, (int) ww2, align);
                    check("affine transform", gridSample(values(x), nn, cc, h0, w0, gr, (int) hh2, (int) ww2, opts),
                            y.toFloatArray(), 1e-4, 1e-3);
                }
            }
        });
    }

    static double[] seForward(double[] x, int n, int c, int hw, int hid, double[] w1, double[] b1, double[] w2, double[] b2) {
        double[] y = new double[x.length];
        for (int s = 0; s < n; s++) {
            double[] z = new double[c];
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < hw; i++) z[ch] += x[(s * c + ch) * hw + i];
                z[ch] /= hw;
            }
            double[] a = new double[hid];
            for (int j = 0; j < hid; j++) {
                double v = b1[j];
                for (int ch = 0; ch < c; ch++) v += w1[j * c + ch] * z[ch];
                a[j] = Math.max(0, v);
            }
            for (int ch = 0; ch < c; ch++) {
                double v = b2[ch];
                for (int j = 0; j < hid; j++) v += w2[ch * hid + j] * a[j];
                double sc = 1 / (1 + Math.exp(-v));
                for (int i = 0; i < hw; i++) y[(s * c + ch) * hw + i] = sc * x[(s * c + ch) * hw + i];
            }
        }
        return y;
    }

    static FuzzCase squeezeExcitation(Gen g) {
        boolean backward = g.coin();
        // "input": a size is refused with the input's dims and the limit it breaks (their product past 2^31-1).
        g.mutate("N|N|input", "C|C|input|channels", "H|H|input", "W|W|input",
                "r|r|reduction ratio", "divide|r|reduction ratio|divisible", "parameters|weight1|bias1|weight2|bias2",
                "layout|layout", "src tensor|src", "dst tensor|dst", "stream|stream", "closed|closed|fzse");
        long r = g.is("r") ? g.badLong() : g.pick(new Long[] {1L, 2L});
        long n = g.dim("N", 1, 2), c = g.is("C") ? g.badLong() : (g.is("r") ? 2 : r) * g.dim(1, 3), h = g.dim("H", 1, 3), w = g.dim("W", 1, 3);
        if (g.is("divide")) { r = 2; c = 3; g.how("C=3 not divisible by r=2"); }
        SqueezeExcitation.Layout layout = g.pick(SqueezeExcitation.Layout.values());
        if (g.is("layout")) { layout = null; g.how("null layout"); }
        int badParam = g.between(0, 3);
        if (g.is("parameters")) g.how(new String[] {"weight1", "bias1", "weight2", "bias2"}[badParam] + " of the wrong length");
        Fault fs = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean closed = g.is("closed");
        if (closed) g.how("block closed before use");
        boolean valid = g.mutated == null;
        boolean params = g.is("parameters");
        SqueezeExcitation.Layout lay = layout;
        long rr = r, cc = c;
        boolean bwd = backward;
        String desc = "SqueezeExcitation.create(n=" + n + ", c=" + c + ", h=" + h + ", w=" + w + ", r=" + r + ", " + layout
                + ")." + (bwd ? "forward+backward" : "forward");
        return g.build(desc, (scope, stream) -> {
            SplittableRandom rnd = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            SqueezeExcitation se = SqueezeExcitation.create(scope, "fzse", n, cc, h, w, rr, lay, g.id);
            int ci = (int) cc, hid = (int) (cc / rr);
            float[][] p = {FuzzSupport.random(rnd, (long) hid * ci, -1, 1), FuzzSupport.random(rnd, hid, -1, 1),
                FuzzSupport.random(rnd, (long) ci * hid, -1, 1), FuzzSupport.random(rnd, ci, -1, 1)};
            if (params) p[badParam] = new float[p[badParam].length + 1];
            se.setParameters(p[0], p[1], p[2], p[3]);
            Tensor x = tensor(scope, "src", se.srcDesc(), rnd, true, fs);
            Tensor y = tensor(scope, "dst", se.srcDesc(), rnd, false, fd);
            if (closed) se.close();
            se.forward(st, x, y);
            st.await();
            int nn = (int) n, hw = (int) (h * w);
            double[] xs = valid ? values(x) : null;
            double[][] pd = new double[4][];
            for (int i = 0; i < 4; i++) pd[i] = FuzzSupport.toDouble(p[i]);
            if (valid) {
                check("squeeze-excitation forward", seForward(xs, nn, ci, hw, hid, pd[0], pd[1], pd[2], pd[3]),
                        y.toFloatArray(), 1e-5, 1e-4);
            }
            if (!bwd) return;
            Tensor dy = tensor(scope, "diffDst", se.srcDesc(), rnd, true, null);
            Tensor dx = tensor(scope, "diffSrc", se.srcDesc(), rnd, false, null);
            se.backward(st, x, dy, dx);
            st.await();
            if (!valid) return;
            // Central differences of <dy, se(x)> on a few elements of x.
            double[] dys = values(dy);
            float[] got = dx.toFloatArray();
            for (int q = 0; q < Math.min(6, xs.length); q++) {
                int i = rnd.nextInt(xs.length);
                double hstep = 1e-4;
                double[] xp = xs.clone(), xm = xs.clone();
                xp[i] += hstep;
                xm[i] -= hstep;
                double want = (dot(dys, seForward(xp, nn, ci, hw, hid, pd[0], pd[1], pd[2], pd[3]))
                        - dot(dys, seForward(xm, nn, ci, hw, hid, pd[0], pd[1], pd[2], pd[3]))) / (2 * hstep);
                if (!Float.isFinite(got[i]) || Math.abs(got[i] - want) > 2e-3 + 2e-3 * Math.abs(want)) {
                    throw new FuzzCase.Wrong("squeeze-excitation backward: diff src element " + i + " is " + got[i]
                            + ", finite differences say " + want);
                }
            }
        });
    }

    static FuzzCase network(Gen g) {
        boolean pattern = g.r.nextInt(4) == 0;
        if (pattern) {
            g.mutate("input|input|dims|shape", "NMK|N|M|K|pattern", "filters|filters|filter counts", "widths|widths|K",
                    "classes|classes|outFeatures|out features|features", "batch|batch");
        } else {
            g.mutate("input|input|dims|shape", "conv filters|filters|K", "pool|F|extent|W2|H2|W1|H1|window|pool",
                    "fc|outFeatures|out features|features|fc", "batch|batch", "dropout|p|dropout|probability",
                    "se|r|reduction ratio|divisible", "empty|layer", "closed|closed", "input values|values|elements");
        }
        long c = g.dim(1, 3), h = g.dim(2, 6), w = g.dim(2, 6);
        long[] in = {c, h, w};
        if (g.is("input")) in[g.r.nextInt(3)] = g.badLong();
        int batch = g.is("batch") ? g.badInt() : g.between(2, 3); // 2+: batch norm trains on more than one value
        StringBuilder desc = new StringBuilder("NetworkBuilder" + (pattern ? ".pattern(" : ".input(") + Arrays.toString(in));
        List<UnaryOperator<NetworkBuilder>> steps = new ArrayList<>();
        boolean custom = false;
        if (pattern) {
            int n = g.between(0, 2), m = g.between(0, 2), k = g.between(0, 1);
            if (g.is("NMK")) { int which = g.between(0, 2); int bad = g.pick(new Integer[] {-1, Integer.MIN_VALUE});
                if (which == 0) n = bad; else if (which == 1) m = bad; else k = bad; g.how("negative"); }
            int[] filters = new int[Math.max(m, 0)];
            for (int i = 0; i < filters.length; i++) filters[i] = g.between(1, 4);
            if (g.is("filters")) { filters = new int[Math.max(m, 0) + 1]; Arrays.fill(filters, 2); g.how("one filter count too many"); }
            long[] widths = new long[Math.max(k, 0)];
            for (int i = 0; i < widths.length; i++) widths[i] = g.dim(1, 6);
            if (g.is("widths")) { widths = new long[Math.max(k, 0) + 1]; Arrays.fill(widths, 3); g.how("one width too many"); }
            long classes = g.is("classes") ? g.badLong() : g.dim(1, 5);
            boolean pool = g.coin() && h % 4 == 0 && w % 4 == 0;
            int nn = n, mm = m, kk = k;
            int[] ff = filters;
            long[] ww = widths;
            desc.append(", N=").append(n).append(", M=").append(m).append(", K=").append(k).append(", filters=")
                    .append(Arrays.toString(filters)).append(", pool=").append(pool).append(", fcWidths=")
                    .append(Arrays.toString(widths)).append(", classes=").append(classes).append(")");
            steps.add(b -> NetworkBuilder.pattern(Shape.of(in), nn, mm, kk, ff, pool, ww, classes));
        } else {
            desc.append(")");
            long ch = c, hh = h, ww = w;
            int layers = g.between(1, 4);
            boolean flat = false;
            String bad = g.mutated;
            int badAt = 0; // before any flatten, where every broken layer applies
            for (int i = 0; i <= layers; i++) {
                if (i == badAt && bad != null && !flat) {
                    switch (bad) {
                        case "conv filters" -> { int f = g.badInt(); steps.add(b -> b.conv(f, 1)); desc.append(".conv(").append(f).append(", 1)"); }
                        case "pool" -> { int f = (int) Math.max(hh, ww) + 1; g.how("extent " + f + " larger than the input");
                            steps.add(b -> b.maxPool(f, 1)); desc.append(".maxPool(").append(f).append(", 1)"); }
                        case "dropout" -> { double p = g.pick(new Double[] {-0.1, 1.0, 1.5, Double.NaN}); g.how("p=" + p);
                            steps.add(b -> b.dropout(p)); desc.append(".dropout(").append(p).append(")"); }
                        case "se" -> { long r = ch + 1; g.how("r=" + r + " does not divide C=" + ch); custom = true;
                            steps.add(b -> CustomLayers.squeezeExcitation(b, r)); desc.append(".squeezeExcitation(").append(r).append(")"); }
                        default -> { }
                    }
                }
                if (i == layers) break;
                int kind = flat ? 5 : g.between(0, 7);
                switch (kind) {
                    case 0 -> { int k = g.between(1, 4); boolean same = g.coin() || hh < 3 || ww < 3;
                        Convolution.Params p = same ? Convolution.Params.of(k, 3).samePadding() : Convolution.Params.of(k, 3);
                        steps.add(b -> b.conv(p)); desc.append(".conv(").append(p).append(")");
                        ch = k; if (!same) { hh -= 2; ww -= 2; } }
                    case 1 -> { steps.add(NetworkBuilder::relu); desc.append(".relu()"); }
                    case 2 -> { steps.add(NetworkBuilder::batchNorm); desc.append(".batchNorm()"); }
                    case 3 -> { if (hh % 2 == 0 && ww % 2 == 0) { steps.add(b -> b.maxPool(2, 2)); desc.append(".maxPool(2, 2)"); hh /= 2; ww /= 2; }
                        else { steps.add(b -> b.avgPool(1, 1)); desc.append(".avgPool(1, 1)"); } }
                    case 4 -> { int k = (int) ch; steps.add(b -> b.residualBlock(k, 1)); desc.append(".residualBlock(").append(k).append(", 1)"); }
                    case 6 -> { long r = ch % 2 == 0 ? 2 : 1; custom = true; steps.add(b -> CustomLayers.squeezeExcitation(b, r));
                        desc.append(".squeezeExcitation(").append(r).append(")"); }
                    case 7 -> { steps.add(NetworkBuilder::globalAvgPool); desc.append(".globalAvgPool()"); hh = 1; ww = 1; }
                    default -> { if (!flat) { steps.add(NetworkBuilder::flatten); desc.append(".flatten()"); flat = true; }
                        long o = g.dim(1, 6); steps.add(b -> b.fc(o).relu()); desc.append(".fc(").append(o).append(").relu()"); }
                }
            }
            if (!flat) { steps.add(NetworkBuilder::flatten); desc.append(".flatten()"); }
            long classes = g.is("fc") ? g.badLong() : g.dim(1, 4);
            steps.add(b -> b.fc(classes));
            desc.append(".fc(").append(classes).append(")");
            if (g.coin()) { steps.add(NetworkBuilder::softmax); desc.append(".softmax()"); }
            if (g.is("empty")) { steps.clear(); desc.setLength(0); desc.append("NetworkBuilder.input(").append(Arrays.toString(in)).append(").build()"); g.how("no layers"); }
            if (g.is("closed")) g.how("plan of a closed network");
            if (g.is("input values")) g.how("plan input copyFrom with one value too many");
        }
        boolean valid = g.mutated == null;
        String mut = g.mutated;
        boolean isPattern = pattern;
        desc.append(".build(), Network.create, plan(").append(batch).append(", TRAINING/INFERENCE) vs PlanOptions.unoptimised()");
        return g.build(desc.toString(), (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            NetworkBuilder b = isPattern ? null : NetworkBuilder.input(in);
            for (UnaryOperator<NetworkBuilder> s : steps) b = s.apply(b);
            NetworkSpec spec = b.build();
            try (Network net = Network.create(spec, g.id)) {
                if ("closed".equals(mut)) {
                    net.close();
                    net.plan(batch, Mode.INFERENCE);
                    return;
                }
                for (Mode mode : Mode.values()) {
                    try (Plan fast = net.plan(batch, mode, PlanOptions.defaults().inputGradient(mode == Mode.TRAINING));
                            Plan slow = net.plan(batch, mode, PlanOptions.unoptimised().inputGradient(mode == Mode.TRAINING))) {
                        long inCount = FuzzSupport.count(fast.input().dims());
                        float[] x = FuzzSupport.random(r, inCount + ("input values".equals(mut) ? 1 : 0), -1, 1);
                        fast.input().copyFrom(x);
                        slow.input().copyFrom(x);
                        float[] a = fast.forward().toFloatArray();
                        double[] want = FuzzSupport.toDouble(slow.forward().toFloatArray());
                        if (!valid) return;
                        check(mode + " forward, optimised plan vs unoptimised", want, a, 1e-4, 1e-3);
                        if (mode == Mode.TRAINING) {
                            float[] dy = FuzzSupport.random(r, a.length, -1, 1);
                            fast.outputGradient().copyFrom(dy);
                            slow.outputGradient().copyFrom(dy);
                            fast.backward();
                            slow.backward();
                            check("input gradient, optimised plan vs unoptimised", FuzzSupport.toDouble(slow.inputGradient().toFloatArray()),
                                    fast.inputGradient().toFloatArray(), 1e-3, 1e-2);
                        }
                    }
                }
            }
        });
    }
}
