package dev.stride.tests;

import static dev.stride.tests.FuzzSupport.check;
import static dev.stride.tests.FuzzSupport.fault;
import static dev.stride.tests.FuzzSupport.plain;
import static dev.stride.tests.FuzzSupport.tensor;
import static dev.stride.tests.FuzzSupport.values;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.linear.InnerProduct;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.LayerNorm;
import dev.stride.softmax.Softmax;
import dev.stride.tests.FuzzCase.Gen;
import dev.stride.tests.FuzzSupport.Fault;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Fuzz generators for normalization, inner product, eltwise and softmax. */
final class FuzzApi {
    private FuzzApi() {}

    /** Dims of rank {@code lo..hi}, each in {@code 1..max}; one entry replaced by a bad size when {@code param} is mutated. */
    static long[] dims(Gen g, String param, int lo, int hi, long max) {
        long[] d = new long[g.between(lo, hi)];
        for (int i = 0; i < d.length; i++) d[i] = g.dim(1, max);
        if (g.is(param)) d[g.r.nextInt(d.length)] = g.badLong();
        return d;
    }

    /** Replaces {@code d} with a tensor rank outside {@code lo..hi} when {@code param} is mutated. */
    static long[] rank(Gen g, String param, long[] d, int lo, int hi) {
        if (!g.is(param)) return d;
        int r = lo > 1 && g.coin() ? lo - 1 : hi + 1;
        long[] out = new long[r];
        for (int i = 0; i < r; i++) out[i] = i < d.length ? d[i] : 2;
        g.how("rank " + r);
        return out;
    }

    static Stream streamFor(boolean closed, dev.stride.core.Scope scope, Stream stream) {
        return closed ? FuzzSupport.closedStream(scope) : stream;
    }

    static FuzzCase batchNorm(Gen g) {
        boolean backward = g.coin();
        g.mutate("dims|input dims|srcDims|dims", "rank|rank|1D|2D|3D|4D|5D|6D", "epsilon|epsilon|eps",
                "momentum|momentum", "scale tensor|scale|gamma", "mean tensor|mean", "variance tensor|variance",
                "src tensor|src", "workspace|workspace", "perChannel|per channel|value per channel|N",
                "mode|training|inference|mode", "stream|stream");
        long[] d = dims(g, "dims", 2, 5, 3);
        if (!g.is("dims")) d[1] = g.dim(1, 5);
        d = rank(g, "rank", d, 2, 5);
        boolean affine = g.coin();
        boolean relu = g.r.nextInt(4) == 0;
        PropKind mode = backward || g.coin() ? PropKind.TRAINING : PropKind.INFERENCE;
        if (g.is("perChannel")) {
            long c = d[1];
            d = new long[d.length];
            Arrays.fill(d, 1);
            d[1] = c;
            mode = PropKind.TRAINING;
            g.how("one value per channel in training");
        }
        double eps = BatchNorm.DEFAULT_EPSILON;
        double momentum = BatchNorm.DEFAULT_MOMENTUM;
        if (g.is("epsilon")) { eps = g.pick(new Double[] {-1e-3, Double.NaN, Double.NEGATIVE_INFINITY}); g.how("eps=" + eps); }
        if (g.is("momentum")) { momentum = g.pick(new Double[] {-0.1, 1.5, Double.NaN}); g.how("momentum=" + momentum); }
        if (g.is("workspace")) { relu = true; mode = PropKind.TRAINING; g.how("no workspace for fused ReLU in training"); }
        if (g.is("mode")) { backward = true; mode = PropKind.INFERENCE; g.how("backward of an inference forward"); }
        if (mode == PropKind.TRAINING && !g.is("perChannel") && d.length >= 2 && FuzzSupport.count(d) / Math.max(1, d[1]) == 1) {
            d[0] = 2; // training needs more than one value per channel
        }
        boolean extraScale = g.is("scale tensor") && !affine;
        if (extraScale) g.how("scale given without affine");
        Fault scaleFault = affine ? fault(g, "scale tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        Fault meanFault = fault(g, "mean tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault varFault = fault(g, "variance tensor", Fault.NULL, Fault.WRONG_DIMS);
        Fault srcFault = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean noWorkspace = g.is("workspace");
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[] srcDims = d;
        boolean fused = relu;
        BatchNorm.Params p = BatchNorm.Params.defaults().epsilon(eps).momentum(momentum).affine(affine).fuseRelu(relu);
        PropKind m = mode;
        boolean bwd = backward;
        String desc = "BatchNorm." + (bwd ? "Backward of " : "Forward ") + "srcDims=" + Arrays.toString(srcDims) + " " + p
                + " affine=" + affine + " fuseRelu=" + relu + " mode=" + m;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = streamFor(closedStream, scope, stream);
            BatchNorm.Forward fw = BatchNorm.Forward.create(scope, "fzbn", srcDims, p, m);
            long[] c = fw.geometry().channelDims();
            Tensor x = tensor(scope, "src", fw.srcDesc(), r, true, srcFault);
            Tensor gamma = affine || extraScale ? plain(scope, "scale", c, r, true, scaleFault) : null;
            Tensor beta = affine || extraScale ? plain(scope, "shift", c, r, true, null) : null;
            Tensor mean = plain(scope, "mean", c, r, true, meanFault);
            Tensor var = plain(scope, "variance", c, r, false, varFault);
            if (var != null && !var.isClosed() && m == PropKind.INFERENCE && valid) {
                var.copyFrom(FuzzSupport.random(r, c[0], 0.2, 2));
            }
            Tensor y = Tensor.allocate(scope, "dst", fw.dstDesc());
            Tensor ws = fw.workspaceDesc() != null && !noWorkspace ? Tensor.allocate(scope, "workspace", fw.workspaceDesc()) : null;
            ExecArgs args = fw.bind(scope, x, gamma, beta, mean, var, y, ws);
            double[] xs = valid ? values(x) : null;
            double[] gs = gamma == null ? null : values(gamma);
            double[] bs = beta == null ? null : values(beta);
            double[] ms = m == PropKind.INFERENCE && valid ? values(mean) : null;
            double[] vs = m == PropKind.INFERENCE && valid ? values(var) : null;
            fw.execute(st, args);
            st.await();
            if (valid) {
                NormReference.Forward want = NormReference.batchNorm(xs, srcDims, gs, bs, ms, vs, p.epsilon(), fused);
                check("batch norm forward", want.y(), y.toFloatArray(), 1e-4, 1e-3);
                if (m == PropKind.TRAINING) {
                    check("batch mean", want.mean(), mean.toFloatArray(), 1e-5, 1e-4);
                    check("batch variance", want.var(), var.toFloatArray(), 1e-5, 1e-3);
                }
            }
            if (!bwd) return;
            BatchNorm.Backward bw = BatchNorm.Backward.create(scope, "fzbn.bwd", fw);
            Tensor dy = tensor(scope, "diffDst", bw.diffDstDesc(), r, true, null);
            Tensor dx = Tensor.allocate(scope, "diffSrc", bw.diffSrcDesc());
            Tensor dg = affine ? Tensor.zeros(scope, "diffScale", c) : null;
            Tensor db = affine ? Tensor.zeros(scope, "diffShift", c) : null;
            bw.execute(st, bw.bind(scope, x, mean, var, gamma, ws, dy, dx, dg, db));
            st.await();
            if (!valid) return;
            NormReference.Backward want = NormReference.batchNormBackward(xs, srcDims, gs, bs, p.epsilon(), fused, values(dy));
            check("batch norm diff src", want.dx(), dx.toFloatArray(), 1e-3, 1e-2);
            if (affine) {
                check("batch norm diff scale", want.dgamma(), dg.toFloatArray(), 1e-3, 1e-2);
                check("batch norm diff shift", want.dbeta(), db.toFloatArray(), 1e-3, 1e-2);
            }
        });
    }

    static FuzzCase layerNorm(Gen g) {
        boolean backward = g.coin();
        g.mutate("dims|input dims|srcDims|dims", "rank|rank|1D|2D|3D|4D|5D|6D", "last|normalized|last|C|dims",
                "epsilon|epsilon|eps", "scale tensor|scale|gamma", "mean tensor|mean", "src tensor|src",
                "stream|stream");
        long[] d = dims(g, "-", 2, 4, 3);
        d[d.length - 1] = g.is("last") ? g.pick(new Long[] {(1L << 31) - 1, 1L << 31, 1L << 40}) : g.dim(1, 6);
        if (g.is("dims")) d[g.r.nextInt(d.length)] = g.badLong();
        if (g.is("last")) g.how("normalized dim " + d[d.length - 1]);
        d = rank(g, "rank", d, 2, 5);
        boolean affine = g.coin();
        PropKind mode = backward || g.coin() ? PropKind.TRAINING : PropKind.INFERENCE;
        double eps = LayerNorm.DEFAULT_EPSILON;
        if (g.is("epsilon")) { eps = g.pick(new Double[] {-1e-3, Double.NaN, Double.NEGATIVE_INFINITY}); g.how("eps=" + eps); }
        boolean extraScale = g.is("scale tensor") && !affine;
        if (extraScale) g.how("scale given without affine");
        Fault scaleFault = affine ? fault(g, "scale tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        boolean extraMean = g.is("mean tensor") && mode == PropKind.INFERENCE && !backward;
        if (extraMean) g.how("mean given to an inference layer norm");
        Fault meanFault = mode == PropKind.TRAINING ? fault(g, "mean tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        Fault srcFault = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[] srcDims = d;
        double epsilon = eps;
        LayerNorm.Params p = LayerNorm.Params.defaults().epsilon(eps).affine(affine);
        PropKind m = mode;
        boolean bwd = backward;
        String desc = "LayerNorm." + (bwd ? "Backward of " : "Forward ") + "srcDims=" + Arrays.toString(srcDims)
                + " eps=" + eps + " affine=" + affine + " mode=" + m;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = streamFor(closedStream, scope, stream);
            LayerNorm.Forward fw = LayerNorm.Forward.create(scope, "fzln", srcDims, p, m);
            long[] c = fw.geometry().channelDims();
            Tensor x = tensor(scope, "src", fw.srcDesc(), r, true, srcFault);
            Tensor gamma = affine || extraScale ? plain(scope, "scale", c, r, true, scaleFault) : null;
            Tensor beta = affine || extraScale ? plain(scope, "shift", c, r, true, null) : null;
            boolean stats = m == PropKind.TRAINING || extraMean;
            Tensor mean = stats ? tensor(scope, "mean", fw.statsDesc(), r, false, meanFault) : null;
            Tensor var = stats ? tensor(scope, "variance", fw.statsDesc(), r, false, null) : null;
            Tensor y = Tensor.allocate(scope, "dst", fw.dstDesc());
            fw.execute(st, fw.bind(scope, x, gamma, beta, mean, var, y));
            st.await();
            double[] xs = valid ? values(x) : null;
            double[] gs = gamma == null ? null : values(gamma);
            if (valid) {
                check("layer norm forward", NormReference.layerNorm(xs, srcDims, gs, beta == null ? null : values(beta), epsilon).y(),
                        y.toFloatArray(), 1e-4, 1e-3);
            }
            if (!bwd) return;
            LayerNorm.Backward bw = LayerNorm.Backward.create(scope, "fzln.bwd", fw);
            Tensor dy = tensor(scope, "diffDst", bw.diffDstDesc(), r, true, null);
            Tensor dx = Tensor.allocate(scope, "diffSrc", bw.diffSrcDesc());
            Tensor dg = affine ? Tensor.zeros(scope, "diffScale", c) : null;
            Tensor db = affine ? Tensor.zeros(scope, "diffShift", c) : null;
            bw.execute(st, bw.bind(scope, x, mean, var, gamma, dy, dx, dg, db));
            st.await();
            if (!valid) return;
            NormReference.Backward want = NormReference.layerNormBackward(xs, srcDims, gs, epsilon, values(dy));
            check("layer norm diff src", want.dx(), dx.toFloatArray(), 1e-3, 1e-2);
            if (affine) {
                check("layer norm diff scale", want.dgamma(), dg.toFloatArray(), 1e-3, 1e-2);
                check("layer norm diff shift", want.dbeta(), db.toFloatArray(), 1e-3, 1e-2);
            }
        });
    }

    static FuzzCase innerProduct(Gen g) {
        int dir = g.between(0, 2);
        List<String> ipParams = new java.util.ArrayList<>(List.of("dims|input dims|srcDims|dims|N|C", "rank|rank|1D|2D|3D|4D|5D|6D",
                "outFeatures|out features|outFeatures|OC", "src tensor|src", "bias tensor|bias", "dst tensor|dst", "stream|stream"));
        if (dir != 2) ipParams.add("weights tensor|weights"); // backward weights takes no weights
        g.mutate(ipParams.toArray(String[]::new));
        if (dir == 1 && g.is("src tensor")) g.names = List.of("diffDst", "diff_dst");
        if (dir == 1 && g.is("dst tensor")) g.names = List.of("diffSrc", "diff_src");
        if (dir == 2 && g.is("dst tensor")) g.names = List.of("diffWeights", "diff_weights");
        long[] d = dims(g, "dims", 2, 5, 3);
        d = rank(g, "rank", d, 2, 5);
        long oc = g.is("outFeatures") ? g.badLong() : g.dim(1, 5);
        boolean bias = dir != 1 && g.coin();
        PropKind mode = dir == 0 && g.coin() ? PropKind.INFERENCE : PropKind.TRAINING;
        boolean extraBias = g.is("bias tensor") && !bias;
        if (extraBias) g.how(dir == 1 ? "bias given to backward data" : "bias given to an inner product without bias");
        Fault biasFault = bias ? fault(g, "bias tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        Fault srcFault = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault wFault = fault(g, "weights tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        if (dir == 1 && extraBias) {
            // Backward data has no bias argument at all: break the weights instead.
            g.mutated = "weights tensor";
            g.names = List.of("weights tensor", "weights");
            g.mutation = null;
            wFault = fault(g, "weights tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        }
        boolean valid = g.mutated == null;
        long[] srcDims = d;
        boolean extra = extraBias && dir != 1;
        Fault wf = wFault;
        String[] dirs = {"Forward", "BackwardData", "BackwardWeights"};
        String desc = "InnerProduct." + dirs[dir] + " srcDims=" + Arrays.toString(srcDims) + " outFeatures=" + oc
                + " bias=" + bias + " mode=" + mode + ", executePlain";
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = streamFor(closedStream, scope, stream);
            InnerProduct.Forward fw = InnerProduct.Forward.create(scope, "fzip", srcDims, oc, bias, mode);
            InnerProduct.Geometry geo = fw.geometry();
            int n = (int) geo.src()[0];
            int in = (int) geo.inFeatures();
            int out = (int) geo.outFeatures();
            Tensor x = plain(scope, "src", geo.src(), r, true, dir == 1 ? null : srcFault);
            Tensor w = plain(scope, "weights", geo.weights(), r, true, wf);
            long[] bd = {geo.dst()[1]};
            if (dir == 0) {
                Tensor b = extra ? plain(scope, "bias", bd, r, true, null) : bias ? plain(scope, "bias", geo.bias(), r, true, biasFault) : null;
                Tensor y = plain(scope, "dst", geo.dst(), r, false, dstFault);
                fw.executePlain(st, x, w, b, y);
                if (!valid) return;
                check("inner product forward", LinearReference.innerProduct(n, in, out, values(x), values(w),
                        b == null ? null : values(b)), y.toFloatArray(), 1e-4, 1e-4);
            } else if (dir == 1) {
                InnerProduct.BackwardData bdata = InnerProduct.BackwardData.create(scope, "fzip.bwd", fw);
                Tensor dy = plain(scope, "diffDst", geo.dst(), r, true, srcFault);
                Tensor dx = plain(scope, "diffSrc", geo.src(), r, false, dstFault);
                bdata.executePlain(st, dy, w, dx);
                if (!valid) return;
                // dx[n, i] = sum_o dy[n, o] w[o, i]: the forward reference with the weights transposed.
                double[] ws = values(w);
                double[] wt = new double[ws.length];
                for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) wt[i * out + o] = ws[o * in + i];
                check("inner product backward data", LinearReference.innerProduct(n, out, in, values(dy), wt, null),
                        dx.toFloatArray(), 1e-4, 1e-4);
            } else {
                InnerProduct.BackwardWeights bw = InnerProduct.BackwardWeights.create(scope, "fzip.bwdw", fw);
                Tensor dy = plain(scope, "diffDst", geo.dst(), r, true, null);
                Tensor dw = plain(scope, "diffWeights", geo.weights(), r, false, dstFault);
                Tensor db = extra ? plain(scope, "diffBias", bd, r, false, null) : bias ? plain(scope, "diffBias", geo.bias(), r, false, biasFault) : null;
                bw.executePlain(st, x, dy, dw, db);
                if (!valid) return;
                double[] xs = values(x);
                double[] dys = values(dy);
                double[] wantW = new double[out * in];
                double[] wantB = new double[out];
                for (int s = 0; s < n; s++) for (int o = 0; o < out; o++) {
                    wantB[o] += dys[s * out + o];
                    for (int i = 0; i < in; i++) wantW[o * in + i] += dys[s * out + o] * xs[s * in + i];
                }
                check("inner product diff weights", wantW, dw.toFloatArray(), 1e-4, 1e-4);
                if (db != null) check("inner product diff bias", wantB, db.toFloatArray(), 1e-4, 1e-4);
            }
        });
    }

    static FuzzCase eltwise(Gen g) {
        Eltwise.Algorithm alg = g.pick(Eltwise.Algorithm.values());
        boolean backward = g.coin();
        g.mutate("dims|dims|src", "rank|rank|dims|ndims", "alpha|alpha", "beta|beta", "layout|any|layout",
                "dst tensor|dst", "diffDst tensor|diffDst|diff_dst", "mode|training|inference|mode", "stream|stream");
        long[] d = dims(g, "dims", 1, 5, 4);
        if (g.is("rank")) {
            d = g.coin() ? new long[0] : new long[13];
            Arrays.fill(d, 1);
            g.how("rank " + d.length);
        }
        float alpha = switch (alg) {
            case RELU, RELU_USE_DST -> (float) g.r.nextDouble(0, 0.5);
            case ELU, ELU_USE_DST, SWISH, SOFT_RELU -> (float) g.r.nextDouble(0.5, 1.5);
            case LINEAR, POW -> (float) g.r.nextDouble(-2, 2);
            case CLIP, CLIP_V2 -> (float) g.r.nextDouble(-1, 0);
            case HARDSWISH, HARDSIGMOID -> 1f / 6;
            default -> 0f;
        };
        float beta = switch (alg) {
            case LINEAR -> (float) g.r.nextDouble(-1, 1);
            case CLIP, CLIP_V2 -> (float) g.r.nextDouble(0, 1);
            case POW -> g.pick(new Float[] {2f, 3f, 0.5f});
            case HARDSWISH, HARDSIGMOID -> 0.5f;
            default -> 0f;
        };
        if (g.is("alpha")) {
            if ((alg == Eltwise.Algorithm.CLIP || alg == Eltwise.Algorithm.CLIP_V2) && g.coin()) {
                alpha = beta + 1;
                g.how("alpha > beta");
            } else if ((alg == Eltwise.Algorithm.RELU_USE_DST || alg == Eltwise.Algorithm.ELU_USE_DST) && g.coin()) {
                alpha = -0.5f;
                g.how("negative alpha with use-dst backward");
            } else {
                alpha = g.pick(new Float[] {Float.NaN, Float.POSITIVE_INFINITY});
                g.how("alpha=" + alpha);
            }
        }
        if (g.is("beta")) {
            beta = g.pick(new Float[] {Float.NaN, Float.NEGATIVE_INFINITY});
            g.how("beta=" + beta);
        }
        boolean anyLayout = g.is("layout");
        if (anyLayout) g.how("source layout 'any'");
        if (g.is("diffDst tensor") || g.is("mode")) backward = true;
        PropKind mode = backward ? PropKind.TRAINING : g.coin() ? PropKind.TRAINING : PropKind.INFERENCE;
        if (g.is("mode")) { mode = PropKind.INFERENCE; g.how("backward of an inference forward"); }
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault dyFault = fault(g, "diffDst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[] dimsF = d;
        float a = alpha;
        float b = beta;
        PropKind m = mode;
        boolean bwd = backward;
        boolean positive = alg == Eltwise.Algorithm.SQRT || alg == Eltwise.Algorithm.SQRT_USE_DST
                || alg == Eltwise.Algorithm.LOG || alg == Eltwise.Algorithm.POW;
        String desc = "Eltwise." + (bwd ? "Backward of " : "Forward ") + alg + " alpha=" + a + " beta=" + b + " dims="
                + Arrays.toString(dimsF) + " mode=" + m;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = streamFor(closedStream, scope, stream);
            MemoryDesc md = anyLayout ? MemoryDesc.any(scope, dimsF) : MemoryDesc.plain(scope, dimsF);
            Eltwise.Forward fw = Eltwise.Forward.create(scope, "fzeltwise", md, alg, a, b, m);
            Tensor x = Tensor.allocate(scope, "src", fw.srcDesc());
            float[] xv = valid ? FuzzSupport.random(r, x.desc().elements(), positive ? 0.1 : -2, 2) : null;
            if (valid) x.copyFrom(xv);
            Tensor y = tensor(scope, "dst", fw.dstDesc(), r, false, dstFault);
            fw.execute(st, fw.bind(scope, x, y));
            st.await();
            double[] want = null;
            if (valid) {
                want = new double[xv.length];
                for (int i = 0; i < xv.length; i++) want[i] = FuzzSupport.eltwise(alg, a, b, xv[i]);
                check("eltwise " + alg, want, y.toFloatArray(), 1e-5, 1e-4);
            }
            if (!bwd) return;
            Eltwise.Backward bw = Eltwise.Backward.create(scope, "fzeltwise.bwd", fw);
            Tensor dy = tensor(scope, "diffDst", bw.diffDstDesc(), r, true, dyFault);
            Tensor dx = Tensor.allocate(scope, "diffSrc", bw.diffSrcDesc());
            bw.execute(st, bw.bind(scope, bw.usesDst() ? y : x, dy, dx));
            st.await();
            if (!valid) return;
            // The derivative by central differences of the double reference, where it is smooth (h and h/2 agree).
            double[] dys = values(dy);
            float[] got = dx.toFloatArray();
            for (int i = 0; i < xv.length; i++) {
                double h = 1e-4 * Math.max(1, Math.abs(xv[i]));
                double d1 = (FuzzSupport.eltwise(alg, a, b, xv[i] + h) - FuzzSupport.eltwise(alg, a, b, xv[i] - h)) / (2 * h);
                double d2 = (FuzzSupport.eltwise(alg, a, b, xv[i] + h / 2) - FuzzSupport.eltwise(alg, a, b, xv[i] - h / 2)) / h;
                if (Math.abs(d1 - d2) > 1e-3 * (1 + Math.abs(d1))) continue;
                double w = dys[i] * d1;
                if (!Float.isFinite(got[i]) || Math.abs(got[i] - w) > 2e-3 + 2e-3 * Math.abs(w)) {
                    throw new FuzzCase.Wrong("eltwise " + alg + " backward: element " + i + " (x=" + xv[i] + ") is " + got[i]
                            + ", finite differences say " + w);
                }
            }
        });
    }

    static FuzzCase softmax(Gen g) {
        Softmax.Algorithm alg = g.pick(Softmax.Algorithm.values());
        boolean backward = g.coin();
        g.mutate("dims|dims|src", "axis|axis", "layout|any|layout", "dst tensor|dst", "diffDst tensor|diffDst|diff_dst",
                "mode|training|inference|mode", "stream|stream");
        long[] d = dims(g, "dims", 1, 4, 4);
        int axis = g.between(-d.length, d.length - 1);
        if (g.is("axis")) {
            axis = g.pick(new Integer[] {d.length, -d.length - 1, Integer.MAX_VALUE, Integer.MIN_VALUE});
            g.how("axis " + axis + " for rank " + d.length);
        }
        boolean anyLayout = g.is("layout");
        if (anyLayout) g.how("source layout 'any'");
        if (g.is("diffDst tensor") || g.is("mode")) backward = true;
        PropKind mode = backward ? PropKind.TRAINING : g.coin() ? PropKind.TRAINING : PropKind.INFERENCE;
        if (g.is("mode")) { mode = PropKind.INFERENCE; g.how("backward of an inference forward"); }
        Fault dstFault = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault dyFault = fault(g, "diffDst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[] dimsF = d;
        int ax = axis;
        PropKind m = mode;
        boolean bwd = backward;
        String desc = "Softmax." + (bwd ? "Backward of " : "Forward ") + alg + " axis=" + ax + " dims=" + Arrays.toString(dimsF)
                + " mode=" + m;
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = streamFor(closedStream, scope, stream);
            MemoryDesc md = anyLayout ? MemoryDesc.any(scope, dimsF) : MemoryDesc.plain(scope, dimsF);
            Softmax.Forward fw = Softmax.Forward.create(scope, "fzsoftmax", md, alg, ax, m);
            Tensor x = tensor(scope, "src", fw.srcDesc(), r, valid, null);
            Tensor y = tensor(scope, "dst", fw.dstDesc(), r, false, dstFault);
            fw.execute(st, fw.bind(scope, x, y));
            st.await();
            boolean log = alg == Softmax.Algorithm.LOG;
            int a = ax < 0 ? ax + dimsF.length : ax;
            double[] want = null;
            if (valid) {
                want = LinearReference.softmax(dimsF, a, log, values(x));
                check("softmax forward", want, y.toFloatArray(), 1e-5, 1e-4);
            }
            if (!bwd) return;
            Softmax.Backward bw = Softmax.Backward.create(scope, "fzsoftmax.bwd", fw);
            Tensor dy = tensor(scope, "diffDst", bw.diffDstDesc(), r, true, dyFault);
            Tensor dx = Tensor.allocate(scope, "diffSrc", bw.diffSrcDesc());
            bw.execute(st, bw.bind(scope, y, dy, dx));
            st.await();
            if (!valid) return;
            // softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy), sums along the axis.
            double[] dys = values(dy);
            double[] wantDx = new double[want.length];
            long inner = 1;
            for (int i = a + 1; i < dimsF.length; i++) inner *= dimsF[i];
            long len = dimsF[a];
            long outer = want.length / (len * inner);
            for (long o = 0; o < outer; o++) for (long in = 0; in < inner; in++) {
                double s = 0;
                for (long j = 0; j < len; j++) {
                    int idx = (int) ((o * len + j) * inner + in);
                    s += log ? dys[idx] : dys[idx] * want[idx];
                }
                for (long j = 0; j < len; j++) {
                    int idx = (int) ((o * len + j) * inner + in);
                    wantDx[idx] = log ? dys[idx] - Math.exp(want[idx]) * s : want[idx] * (dys[idx] - s);
                }
            }
            check("softmax backward", wantDx, dx.toFloatArray(), 1e-5, 1e-4);
        });
    }
}
