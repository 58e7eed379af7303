package dev.stride.tests;

import static dev.stride.tests.FuzzSupport.check;
import static dev.stride.tests.FuzzSupport.count;
import static dev.stride.tests.FuzzSupport.fault;
import static dev.stride.tests.FuzzSupport.next;
import static dev.stride.tests.FuzzSupport.plain;
import static dev.stride.tests.FuzzSupport.tensor;
import static dev.stride.tests.FuzzSupport.values;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.tensor.Binary;
import dev.stride.tensor.Concat;
import dev.stride.tensor.Layouts;
import dev.stride.tensor.MatMul;
import dev.stride.tensor.Reduction;
import dev.stride.tensor.Sum;
import dev.stride.tests.FuzzCase.Gen;
import dev.stride.tests.FuzzSupport.Fault;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;

/** Fuzz generators for the tensor ops, reorders, layouts and the tensor factories. */
final class FuzzTensorOps {
    private FuzzTensorOps() {}

    static long[] dims(Gen g, String param, int lo, int hi, long max) {
        return FuzzApi.dims(g, param, lo, hi, max);
    }

    static FuzzCase binary(Gen g) {
        Binary.Algorithm alg = g.pick(Binary.Algorithm.values());
        boolean backward = g.r.nextInt(3) == 0;
        g.mutate("dims|dims|src0|src", "broadcast|src1|broadcast", "rank|rank|src1|ranks", "src0 tensor|src0|src",
                "src1 tensor|src1", "dst tensor|dst", "alg|alg|" + "backward", "stream|stream");
        if (g.is("alg")) {
            alg = g.pick(new Binary.Algorithm[] {Binary.Algorithm.DIV, Binary.Algorithm.MAX, Binary.Algorithm.MIN});
            backward = true;
            g.names = List.of("alg", alg.label(), alg.name(), "backward");
            g.how("backward of " + alg);
        } else if (backward) {
            // Only mul's gradients read the sources: break them only there.
            alg = g.is("src0 tensor") || g.is("src1 tensor") ? Binary.Algorithm.MUL
                    : g.pick(new Binary.Algorithm[] {Binary.Algorithm.ADD, Binary.Algorithm.SUB, Binary.Algorithm.MUL});
        }
        long[] d0 = dims(g, "dims", 1, 5, 4);
        long[] d1 = new long[d0.length];
        for (int i = 0; i < d0.length; i++) d1[i] = g.coin() ? 1 : d0[i];
        if (g.is("broadcast")) {
            int i = g.r.nextInt(d0.length);
            d0[i] = Math.max(d0[i], 2);
            d1[i] = d0[i] + 1;
            g.how("src1 dim " + i + " neither 1 nor src0's");
        }
        if (g.is("rank")) {
            d1 = Arrays.copyOf(d1, d1.length + 1);
            d1[d1.length - 1] = 1;
            g.how("src1 of rank " + d1.length + " for src0 of rank " + d0.length);
        }
        // In the backward a null diff_src means "not wanted": there src0/src1 break the inputs, dst the diff_dst.
        Fault[] inputFaults = backward ? new Fault[] {Fault.WRONG_DIMS, Fault.CLOSED} : Fault.values();
        Fault f0 = fault(g, "src0 tensor", inputFaults);
        Fault f1 = fault(g, "src1 tensor", inputFaults);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        if (backward && g.is("dst tensor")) g.names = List.of("diffDst", "diff_dst");
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        Binary.Algorithm a = alg;
        long[] s0 = d0;
        long[] s1 = d1;
        boolean bwd = backward;
        String desc = "Binary." + (bwd ? "Backward of " : "Forward ") + alg + " src0=" + Arrays.toString(s0) + " src1="
                + Arrays.toString(s1) + (bwd ? ", bind+execute" : ", executeOnce");
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            Binary.Forward fw = Binary.Forward.create(scope, "fzbinary", a, s0, s1);
            Tensor x0 = plain(scope, "src0", s0, r, true, f0);
            Tensor x1 = plain(scope, "src1", s1, r, true, f1);
            if (valid && a == Binary.Algorithm.DIV) {
                float[] v = x1.toFloatArray();
                for (int i = 0; i < v.length; i++) v[i] = v[i] >= 0 ? v[i] + 0.5f : v[i] - 0.5f;
                x1.copyFrom(v);
            }
            DoubleBinaryOperator op = switch (a) {
                case ADD -> Double::sum;
                case SUB -> (p, q) -> p - q;
                case MUL -> (p, q) -> p * q;
                case DIV -> (p, q) -> p / q;
                case MAX -> Math::max;
                case MIN -> Math::min;
            };
            if (!bwd) {
                Tensor y = tensor(scope, "dst", fw.dstDesc(), r, false, fd);
                fw.executeOnce(st, x0, x1, y);
                if (!valid) return;
                check("binary " + a, TensorOpsReference.binary(values(x0), s0, values(x1), s1, op), y.toFloatArray(), 1e-6, 1e-5);
                return;
            }
            Binary.Backward bw = Binary.Backward.create(scope, "fzbinary.bwd", fw);
            Tensor dy = tensor(scope, "diffDst", bw.diffDstDesc(), r, true, fd);
            Tensor dx0 = tensor(scope, "diffSrc0", bw.diffSrc0Desc(), r, false, null);
            Tensor dx1 = tensor(scope, "diffSrc1", bw.diffSrc1Desc(), r, false, null);
            bw.execute(st, bw.bind(scope, x0, x1, dy, dx0, dx1));
            st.await();
            if (!valid) return;
            double[] a0 = values(x0);
            double[] a1 = values(x1);
            double[] dys = values(dy);
            double[] want0 = new double[a0.length];
            double[] want1 = new double[a1.length];
            for (int i = 0; i < dys.length; i++) {
                int j = TensorOpsReference.broadcastIndex(s0, s1, i);
                want0[i] = switch (a) { case MUL -> dys[i] * a1[j]; default -> dys[i]; };
                want1[j] += switch (a) { case MUL -> dys[i] * a0[i]; case SUB -> -dys[i]; default -> dys[i]; };
            }
            check("binary " + a + " diff src0", want0, dx0.toFloatArray(), 1e-5, 1e-4);
            check("binary " + a + " diff src1", want1, dx1.toFloatArray(), 1e-4, 1e-4);
        });
    }

    static FuzzCase concat(Gen g) {
        boolean backward = g.r.nextInt(3) == 0;
        g.mutate("dims|dims|src", "axis|axis", "mismatch|dims|src|source|input", "rank|rank|ranks|src|source|input",
                "inputs|inputs|sources|source|src", "src tensor|src|DNNL_ARG_MULTIPLE_SRC", "dst tensor|dst", "stream|stream");
        int rank = g.between(1, 4);
        int axis = g.between(0, rank - 1);
        int k = g.between(1, 4);
        long[] base = new long[rank];
        for (int i = 0; i < rank; i++) base[i] = g.dim(1, 3);
        long[][] srcs = new long[k][];
        for (int j = 0; j < k; j++) {
            srcs[j] = base.clone();
            srcs[j][axis] = g.dim(1, 3);
        }
        if (g.is("dims")) srcs[g.r.nextInt(k)][g.r.nextInt(rank)] = g.badLong();
        if (g.is("axis")) {
            axis = g.pick(new Integer[] {rank, -rank - 1, Integer.MAX_VALUE, Integer.MIN_VALUE});
            g.how("axis " + axis + " for rank " + rank);
        }
        if (g.is("mismatch")) {
            if (rank == 1) { srcs = new long[][] {srcs[0], {srcs[0][0], 2}}; g.how("ranks differ"); }
            else {
                int off = (axis + 1 + g.r.nextInt(rank - 1)) % rank;
                if (k == 1) srcs = new long[][] {srcs[0], srcs[0].clone()};
                srcs[srcs.length - 1][off] += 1;
                g.how("dim " + off + " differs off the axis");
            }
        }
        if (g.is("rank")) {
            if (k == 1) srcs = new long[][] {srcs[0], srcs[0].clone()};
            srcs[1] = Arrays.copyOf(srcs[1], rank + 1);
            srcs[1][rank] = 1;
            g.how("one source of rank " + (rank + 1));
        }
        if (g.is("inputs")) {
            srcs = new long[0][];
            g.how("no sources");
        }
        // In the backward "src" is a diff_src and "dst" the diff_dst.
        Fault fs = backward ? fault(g, "src tensor", Fault.WRONG_DIMS, Fault.CLOSED) : fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[][] srcDims = srcs;
        int ax = axis;
        boolean bwd = backward;
        String desc = "Concat." + (bwd ? "Backward of " : "Forward ") + "axis=" + ax + " srcDims="
                + Arrays.deepToString(srcDims);
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            Concat.Forward fw = Concat.Forward.create(scope, "fzconcat", ax, srcDims);
            Tensor[] xs = new Tensor[srcDims.length];
            double[][] xv = new double[srcDims.length][];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = plain(scope, "src" + i, srcDims[i], r, true, !bwd && i == xs.length - 1 ? fs : null);
                xv[i] = valid ? values(xs[i]) : null;
            }
            Tensor y = tensor(scope, "dst", fw.dstDesc(), r, bwd, fd);
            if (!bwd) {
                fw.execute(st, fw.bind(scope, y, xs));
                st.await();
                if (valid) check("concat", TensorOpsReference.concat(ax, srcDims, xv), y.toFloatArray(), 0, 0);
                return;
            }
            // Backward: diff_src i is the slice of diff_dst that source i fed: concatenating them gives diff_dst back.
            Concat.Backward bw = Concat.Backward.create(scope, "fzconcat.bwd", fw);
            Tensor[] dxs = new Tensor[srcDims.length];
            for (int i = 0; i < dxs.length; i++) {
                dxs[i] = tensor(scope, "diffSrc" + i, bw.diffSrcDesc(i), r, false, i == dxs.length - 1 ? fs : null);
            }
            bw.execute(st, bw.bind(scope, y, dxs));
            st.await();
            if (!valid) return;
            double[][] parts = new double[dxs.length][];
            for (int i = 0; i < dxs.length; i++) parts[i] = values(dxs[i]);
            check("concat backward", values(y), toFloat(TensorOpsReference.concat(ax, srcDims, parts)), 0, 0);
        });
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    static FuzzCase sum(Gen g) {
        g.mutate("dims|dims", "scales|scales|scale", "inputs|inputs|sources|source|src|scales", "src tensor|src|DNNL_ARG_MULTIPLE_SRC",
                "dst tensor|dst", "stream|stream");
        long[] d = dims(g, "dims", 1, 4, 4);
        int k = g.between(1, 4);
        float[] scales = new float[k];
        for (int i = 0; i < k; i++) scales[i] = (float) g.r.nextDouble(-2, 2);
        if (g.is("scales")) {
            scales = null;
            g.how("null scales");
        }
        if (g.is("inputs")) {
            scales = new float[0];
            k = 0;
            g.how("no sources");
        }
        Fault fs = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        float[] sc = scales;
        long[] dimsF = d;
        int inputs = scales == null ? k : scales.length;
        String desc = "Sum.Forward scales=" + Arrays.toString(sc) + " dims=" + Arrays.toString(dimsF);
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            Sum.Forward fw = Sum.Forward.create(scope, "fzsum", sc, dimsF);
            Tensor[] xs = new Tensor[inputs];
            for (int i = 0; i < inputs; i++) xs[i] = tensor(scope, "src" + i, fw.srcDesc(i), r, true, i == 0 ? fs : null);
            Tensor y = tensor(scope, "dst", fw.dstDesc(), r, false, fd);
            fw.execute(st, fw.bind(scope, y, xs));
            st.await();
            if (!valid) return;
            double[] want = new double[(int) count(dimsF)];
            for (int i = 0; i < inputs; i++) {
                double[] v = values(xs[i]);
                for (int j = 0; j < want.length; j++) want[j] += sc[i] * v[j];
            }
            check("sum", want, y.toFloatArray(), 1e-5, 1e-5);
        });
    }

    static FuzzCase reduction(Gen g) {
        Reduction.Algorithm alg = g.pick(Reduction.Algorithm.values());
        g.mutate("dims|dims|src", "dst dims|dst|dimension", "rank|ranks|rank", "none|reduces no|dst|dimension",
                "src tensor|src", "dst tensor|dst", "stream|stream");
        long[] s = dims(g, "dims", 1, 4, 4);
        long[] d = s.clone();
        int reduce = g.r.nextInt(s.length);
        if (!g.is("dims") && s[reduce] == 1) s[reduce] = 2;
        for (int i = 0; i < s.length; i++) if (i == reduce || g.coin()) d[i] = 1;
        if (g.is("dst dims")) {
            int i = g.r.nextInt(s.length);
            s[i] = Math.max(s[i], 2);
            d[i] = s[i] + 1;
            g.how("dst dim " + i + " neither 1 nor src's");
        }
        if (g.is("rank")) {
            d = Arrays.copyOf(d, d.length + 1);
            d[d.length - 1] = 1;
            g.how("dst of another rank");
        }
        if (g.is("none")) {
            d = s.clone();
            g.how("dst equal to src");
        }
        Fault fs = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        long[] src = s;
        long[] dst = d;
        String desc = "Reduction.Forward " + alg + " src=" + Arrays.toString(src) + " dst=" + Arrays.toString(dst);
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            Reduction.Forward fw = Reduction.Forward.create(scope, "fzreduction", alg, src, dst);
            Tensor x = tensor(scope, "src", fw.srcDesc(), r, true, fs);
            Tensor y = tensor(scope, "dst", fw.dstDesc(), r, false, fd);
            fw.execute(st, fw.bind(scope, x, y));
            st.await();
            if (!valid) return;
            double[] xs = values(x);
            double[] want = new double[(int) count(dst)];
            double init = switch (alg) {
                case MAX -> Double.NEGATIVE_INFINITY;
                case MIN -> Double.POSITIVE_INFINITY;
                case MUL -> 1;
                default -> 0;
            };
            Arrays.fill(want, init);
            long[] idx = new long[src.length];
            long[] di = new long[src.length];
            int i = 0;
            do {
                for (int q = 0; q < src.length; q++) di[q] = dst[q] == 1 ? 0 : idx[q];
                int j = (int) FuzzSupport.flat(dst, di);
                double v = xs[i++];
                want[j] = switch (alg) {
                    case MAX -> Math.max(want[j], v);
                    case MIN -> Math.min(want[j], v);
                    case MUL -> want[j] * v;
                    default -> want[j] + v;
                };
            } while (next(src, idx));
            if (alg == Reduction.Algorithm.MEAN) {
                double per = (double) count(src) / count(dst);
                for (int j = 0; j < want.length; j++) want[j] /= per;
            }
            check("reduction " + alg, want, y.toFloatArray(), 1e-5, 1e-4);
        });
    }

    static FuzzCase matmul(Gen g) {
        g.mutate("M|M|sizes", "K|K|sizes", "N|N|sizes", "batch|batch", "sharedB|sharedB|shared B|batch",
                "inner|K|inner|weights|dims", "bias tensor|bias", "src tensor|src", "weights tensor|weights",
                "dst tensor|dst", "stream|stream");
        long batch = g.coin() ? 0 : g.dim(1, 3);
        long m = g.dim("M", 1, 5);
        long k = g.dim("K", 1, 5);
        long n = g.dim("N", 1, 5);
        if (g.is("batch")) {
            batch = g.pick(new Long[] {-1L, Long.MIN_VALUE, 1L << 31, 1L << 61});
            g.how("batch " + batch);
        }
        MatMul.Spec spec = new MatMul.Spec(batch, m, k, n, g.coin(), g.coin(), batch > 0 && g.coin(), g.coin());
        if (g.is("sharedB")) {
            spec = new MatMul.Spec(0, m, k, n, spec.aTransposed(), spec.bTransposed(), true, spec.withBias());
            g.how("sharedB without a batch");
        }
        boolean inner = g.is("inner");
        if (inner) g.how("src K differs from weights K (general create)");
        boolean extraBias = g.is("bias tensor") && !spec.withBias();
        if (extraBias) g.how("bias given to a matmul without bias");
        Fault fb = spec.withBias() ? fault(g, "bias tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED) : null;
        Fault fs = fault(g, "src tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fw = fault(g, "weights tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        Fault fd = fault(g, "dst tensor", Fault.NULL, Fault.WRONG_DIMS, Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        MatMul.Spec sp = spec;
        String desc = inner ? "MatMul.Forward.create(src [" + m + ", " + k + "], weights [" + (k + 1) + ", " + n + "])"
                : "MatMul.plain(" + new StringBuilder("Spec(batch=" + sp.batch() + ", M=" + m + ", K=" + k + ", N=" + n
                + ", transA=" + sp.aTransposed() + ", transB=" + sp.bTransposed() + ", sharedB=" + sp.bShared() + ", bias="
                + sp.withBias() + ")") + "), executeOnce";
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            if (inner) {
                MatMul.Forward.create(scope, "fzmatmul", MemoryDesc.plain(scope, m, k), MemoryDesc.plain(scope, k + 1, n),
                        null, null, null);
                return;
            }
            MatMul.Forward f = MatMul.plain(scope, "fzmatmul", sp);
            Tensor a = tensor(scope, "src", f.srcDesc(), r, true, fs);
            Tensor b = tensor(scope, "weights", f.weightsDesc(), r, true, fw);
            Tensor bias = extraBias ? plain(scope, "bias", new long[] {1, n}, r, true, null)
                    : sp.withBias() ? tensor(scope, "bias", f.biasDesc(), r, true, fb) : null;
            Tensor c = tensor(scope, "dst", f.dstDesc(), r, false, fd);
            f.executeOnce(st, a, b, bias, c);
            if (!valid) return;
            double[] want = TensorOpsReference.matmul(sp.batch(), m, k, n, values(a), false, values(b), false, sp.bShared(),
                    bias == null ? null : values(bias));
            check("matmul", want, c.toFloatArray(), 1e-5, 1e-4);
        });
    }

    /** The element offset of {@code idx} ({@code N, C, spatial...}) in layout {@code tag} of {@code dims}. */
    static long offset(FormatTag tag, long[] dims, long[] idx) {
        int rank = dims.length;
        long sp = 1;
        for (int i = 2; i < rank; i++) sp = sp * dims[i];
        long spIdx = 0;
        for (int i = 2; i < rank; i++) spIdx = spIdx * dims[i] + idx[i];
        long c = dims[1];
        return switch (tag) {
            case ACDB, ACDEB -> (idx[0] * sp + spIdx) * c + idx[1];
            case ABCD8B, ABCDE8B, ABCD16B, ABCDE16B -> {
                long blk = tag == FormatTag.ABCD8B || tag == FormatTag.ABCDE8B ? 8 : 16;
                long cb = (c + blk - 1) / blk;
                yield ((idx[0] * cb + idx[1] / blk) * sp + spIdx) * blk + idx[1] % blk;
            }
            default -> FuzzSupport.flat(dims, idx);
        };
    }

    static final FormatTag[] TAGS4 = {FormatTag.ABCD, FormatTag.ACDB, FormatTag.ABCD8B, FormatTag.ABCD16B};
    static final FormatTag[] TAGS5 = {FormatTag.ABCDE, FormatTag.ACDEB, FormatTag.ABCDE8B, FormatTag.ABCDE16B};

    static FuzzCase reorder(Gen g) {
        g.mutate("dims|dims", "mismatch|dims|differ", "any|any|layout", "tag|tag|format|layout|rank|dims|ndims",
                "src tensor|src|closed", "stream|stream");
        int rank = g.coin() ? 4 : 5;
        long[] d = new long[rank];
        d[0] = g.dim(1, 2);
        d[1] = g.dim(1, 20);
        for (int i = 2; i < rank; i++) d[i] = g.dim(1, 3);
        if (g.is("dims")) d[g.r.nextInt(rank)] = g.badLong();
        FormatTag[] tags = rank == 4 ? TAGS4 : TAGS5;
        FormatTag from = g.pick(tags);
        FormatTag to = g.pick(tags);
        long[] dstDims = d.clone();
        if (g.is("mismatch")) { dstDims[g.r.nextInt(rank)] += 1; g.how("dst dims differ"); }
        boolean any = g.is("any");
        if (any) g.how("dst layout 'any'");
        if (g.is("tag")) { to = rank == 4 ? FormatTag.ABCDE : FormatTag.ABCD; g.how(to + " for " + rank + "D dims"); }
        Fault fs = fault(g, "src tensor", Fault.CLOSED);
        boolean closedStream = g.is("stream");
        if (closedStream) g.how("closed stream");
        boolean valid = g.mutated == null;
        FormatTag src = from;
        FormatTag dst = to;
        long[] dims = d;
        String desc = "Tensor(" + Arrays.toString(dims) + ", " + src.label() + ").reorderInto(Tensor(" + Arrays.toString(dstDims)
                + ", " + (any ? "any" : dst.label()) + "))";
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Stream st = FuzzApi.streamFor(closedStream, scope, stream);
            Tensor x = Tensor.allocate(scope, "src", MemoryDesc.of(scope, DataType.F32, src, dims));
            double[] want = null;
            if (valid) {
                // Write each element at its address in the source layout, by hand: no reorder involved.
                want = new double[(int) count(dims)];
                long[] idx = new long[dims.length];
                int i = 0;
                do {
                    float v = (float) r.nextDouble(-1, 1);
                    want[i++] = v;
                    x.segment().setAtIndex(ValueLayout.JAVA_FLOAT, offset(src, dims, idx), v);
                } while (next(dims, idx));
            }
            if (fs == Fault.CLOSED) x.close();
            MemoryDesc target = any ? MemoryDesc.any(scope, dstDims) : MemoryDesc.of(scope, DataType.F32, dst, dstDims);
            Tensor y = g.coin() || any ? x.reorder(scope, target, st) : null;
            if (y == null) {
                y = Tensor.allocate(scope, "dst", target);
                x.reorderInto(y, st);
            }
            if (!valid) return;
            float[] got = new float[want.length];
            long[] idx = new long[dims.length];
            int i = 0;
            do {
                got[i++] = y.segment().getAtIndex(ValueLayout.JAVA_FLOAT, offset(dst, dims, idx));
            } while (next(dims, idx));
            check("reorder " + src.label() + " -> " + dst.label(), want, got, 0, 0);
        });
    }

    static FuzzCase layouts(Gen g) {
        boolean sub = g.coin();
        if (sub) {
            g.mutate("dims|dims|sub-memory", "offsets|offset", "rank|rank|dims", "window|dims|sub-memory|fit");
        } else {
            g.mutate("dims|dims", "strides|strides|stride", "rank|strides|rank|match");
        }
        int rank = g.between(1, 4);
        long[] d = new long[rank];
        for (int i = 0; i < rank; i++) d[i] = g.dim(1, 4);
        if (!sub) {
            long[] strides;
            // A permuted dense layout, sometimes with a gap after each row.
            int[] perm = new int[rank];
            for (int i = 0; i < rank; i++) perm[i] = i;
            for (int i = rank - 1; i > 0; i--) { int j = g.r.nextInt(i + 1); int t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
            strides = new long[rank];
            long acc = 1;
            for (int i = rank - 1; i >= 0; i--) {
                strides[perm[i]] = acc;
                acc *= d[perm[i]] + (g.r.nextInt(3) == 0 ? 1 : 0);
            }
            if (g.is("dims")) d[g.r.nextInt(rank)] = g.badLong();
            if (g.is("strides")) {
                int i = g.r.nextInt(rank);
                d[i] = Math.max(d[i], 2); // the stride of a dim of extent 1 is never used, so any value is legal there
                int c = g.between(0, 2);
                strides[i] = c == 0 ? 0 : c == 1 ? -1 : Long.MAX_VALUE;
                g.how(c == 0 ? "zero stride" : c == 1 ? "negative stride" : "stride Long.MAX_VALUE");
            }
            if (g.is("rank")) { strides = Arrays.copyOf(strides, rank + 1); strides[rank] = 1; g.how("strides of another length"); }
            boolean valid = g.mutated == null;
            long[] dims = d;
            long[] st = strides;
            return g.build("Layouts.strided(dims=" + Arrays.toString(dims) + ", strides=" + Arrays.toString(st)
                    + "), Tensor.allocate, toFloatArray", (scope, stream) -> {
                SplittableRandom r = new SplittableRandom(g.id);
                MemoryDesc md = Layouts.strided(scope, dims, st);
                Tensor t = Tensor.allocate(scope, "strided", md);
                if (!valid) {
                    t.toFloatArray();
                    return;
                }
                double[] want = new double[(int) count(dims)];
                long[] idx = new long[rank];
                int i = 0;
                do {
                    long off = 0;
                    for (int q = 0; q < rank; q++) off += idx[q] * st[q];
                    float v = (float) r.nextDouble(-1, 1);
                    want[i++] = v;
                    t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, off, v);
                } while (next(dims, idx));
                check("strided layout", want, t.toFloatArray(), 0, 0);
            });
        }
        long[] off = new long[rank];
        long[] win = new long[rank];
        for (int i = 0; i < rank; i++) {
            off[i] = g.r.nextLong(d[i]);
            win[i] = 1 + g.r.nextLong(d[i] - off[i]);
        }
        if (g.is("dims")) d[g.r.nextInt(rank)] = g.badLong();
        if (g.is("offsets")) {
            int i = g.r.nextInt(rank);
            int c = g.between(0, 2);
            off[i] = c == 0 ? -1 : c == 1 ? Long.MAX_VALUE : d[i];
            g.how(c == 0 ? "negative offset" : c == 1 ? "offset Long.MAX_VALUE" : "offset at the end");
        }
        if (g.is("window")) {
            int i = g.r.nextInt(rank);
            int c = g.between(0, 2);
            win[i] = c == 0 ? 0 : c == 1 ? Long.MAX_VALUE : d[i] - off[i] + 1;
            g.how(c == 0 ? "zero-sized window" : c == 1 ? "window Long.MAX_VALUE (overflows with the offset)" : "window past the end");
        }
        if (g.is("rank")) { win = Arrays.copyOf(win, rank + 1); win[rank] = 1; off = Arrays.copyOf(off, rank + 1); g.how("window of another rank"); }
        boolean valid = g.mutated == null;
        long[] dims = d;
        long[] o = off;
        long[] w = win;
        boolean write = g.coin();
        return g.build("Layouts.submemory(plain " + Arrays.toString(dims) + ", dims=" + Arrays.toString(w) + ", offsets="
                + Arrays.toString(o) + "), Layouts.view, " + (write ? "reorder into the view" : "toFloatArray"), (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Tensor parent = plain(scope, "parent", dims, r, true, null);
            MemoryDesc md = Layouts.submemory(scope, parent.desc(), w, o);
            Tensor view = Layouts.view(scope, "view", parent, md);
            double[] before = valid ? values(parent) : null;
            if (write) {
                Tensor src = plain(scope, "src", w, r, true, null);
                src.reorderInto(view, stream);
                if (!valid) return;
                double[] sv = values(src);
                double[] want = before.clone();
                long[] idx = new long[rank];
                long[] at = new long[rank];
                int i = 0;
                do {
                    for (int q = 0; q < rank; q++) at[q] = idx[q] + o[q];
                    want[(int) FuzzSupport.flat(dims, at)] = sv[i++];
                } while (next(w, idx));
                check("write through a sub-memory view", want, parent.toFloatArray(), 0, 0);
            } else {
                float[] got = view.toFloatArray();
                if (!valid) return;
                double[] want = new double[(int) count(w)];
                long[] idx = new long[rank];
                long[] at = new long[rank];
                int i = 0;
                do {
                    for (int q = 0; q < rank; q++) at[q] = idx[q] + o[q];
                    want[i++] = before[(int) FuzzSupport.flat(dims, at)];
                } while (next(w, idx));
                check("read through a sub-memory view", want, got, 0, 0);
            }
        });
    }

    static FuzzCase tensors(Gen g) {
        int factory = g.between(0, 3); // zeros, of, allocate(MemoryDesc.of), wrap
        g.mutate("dims|dims", "overflow|dims|elements|overflow|bytes", "rank|rank|dims|ndims", "values|values|elements",
                "closed|closed|" + "t", "copyFrom|values|elements", "segment|segment|bytes|heap|aligned|off-heap",
                "any|any|layout", "scope|scope|closed");
        int rank = g.is("rank") ? (g.coin() ? 0 : 13) : g.between(1, 4);
        if (g.is("rank")) g.how("rank " + rank);
        long[] d = new long[rank];
        for (int i = 0; i < rank; i++) d[i] = g.dim(1, 4);
        if (g.is("dims")) d[g.r.nextInt(rank)] = g.badLong();
        if (g.is("overflow")) {
            d = g.coin() ? new long[] {1L << 32, 1L << 32} : new long[] {1L << 31, 1L << 31, 4};
            g.how("element count " + (d.length == 2 ? "2^64 (wraps to 0)" : "2^64 (wraps to 0 in bytes)"));
        }
        if (g.is("values") || g.is("segment") || g.is("any")) {
            // These need a factory that takes values, a segment or a descriptor.
            factory = g.is("values") ? 1 : g.is("segment") ? 3 : g.coin() ? 2 : 3;
        }
        int c = g.between(0, 2);
        if (g.is("values")) g.how("one value too many");
        if (g.is("segment")) g.how(c == 0 ? "heap segment" : c == 1 ? "segment 4 bytes short" : "misaligned segment");
        if (g.is("any")) g.how("descriptor with layout 'any'");
        if (g.is("closed")) g.how("use after close");
        if (g.is("copyFrom")) g.how("copyFrom with one value short");
        if (g.is("scope")) g.how("factory on a closed scope");
        if (g.is("closed")) g.names = List.of("closed", "t" + g.id);
        boolean valid = g.mutated == null;
        long[] dims = d;
        int fac = factory;
        int seg = c;
        String[] names = {"Tensor.zeros", "Tensor.of", "Tensor.allocate(MemoryDesc.of(f32, plain))", "Tensor.wrap"};
        String mut = g.mutated;
        String desc = names[fac] + "(dims=" + Arrays.toString(dims) + ")" + (mut == null ? ", copyFrom, toFloatArray" : "");
        return g.build(desc, (scope, stream) -> {
            SplittableRandom r = new SplittableRandom(g.id);
            Scope target = scope;
            if ("scope".equals(mut)) {
                target = scope.child("closed");
                target.close();
            }
            String name = "t" + g.id;
            Tensor t;
            float[] v = valid ? FuzzSupport.random(r, count(dims), -1, 1) : null;
            switch (fac) {
                case 0 -> t = Tensor.zeros(target, name, dims);
                case 1 -> {
                    float[] vals = "values".equals(mut) ? new float[(int) Math.min(count(dims) + 1, 1 << 20)]
                            : v != null ? v : new float[(int) Math.max(0, Math.min(count(dims), 1 << 20))];
                    t = Tensor.of(target, name, vals, dims);
                }
                case 2 -> t = Tensor.allocate(target, name, "any".equals(mut) ? MemoryDesc.any(scope, dims)
                        : MemoryDesc.of(scope, DataType.F32, FormatTag.plain(dims.length), dims));
                default -> {
                    MemoryDesc md = "any".equals(mut) ? MemoryDesc.any(scope, dims) : MemoryDesc.plain(scope, dims);
                    Arena arena = Arena.ofAuto(); // the GC frees the wrapped bytes after the tensor is gone
                    MemorySegment s;
                    if ("segment".equals(mut) && seg == 0) s = MemorySegment.ofArray(new float[(int) md.elements()]);
                    else if ("segment".equals(mut) && seg == 1) s = arena.allocate(Math.max(md.byteSize() - 4, 0), 64);
                    else if ("segment".equals(mut)) s = arena.allocate(md.byteSize() + 64, 64).asSlice(1, md.byteSize());
                    else s = arena.allocate(Math.max(md.byteSize(), 1), 64);
                    t = Tensor.wrap(target, name, md, s);
                }
            }
            if ("closed".equals(mut)) {
                t.close();
                t.toFloatArray();
                return;
            }
            if ("copyFrom".equals(mut)) {
                t.copyFrom(new float[(int) Math.max(0, Math.min(count(dims) - 1, 1 << 20))]);
                return;
            }
            if (!valid) {
                t.toFloatArray();
                return;
            }
            float[] z = t.toFloatArray();
            check("new tensor", fac == 1 ? FuzzSupport.toDouble(v) : new double[v.length], z, 0, 0);
            t.copyFrom(v);
            check("copyFrom/toFloatArray", FuzzSupport.toDouble(v), t.toFloatArray(), 0, 0);
        });
    }
}
