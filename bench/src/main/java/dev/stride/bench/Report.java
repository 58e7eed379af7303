package dev.stride.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import dev.stride.conv.Convolution;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints the Java-vs-C table of {@code scripts/bench}. Both sides are cut into 1-second windows (a JMH
 * measurement iteration in sample mode; a window of the C twin timing every call) and each window yields the
 * median of its per-call times. The table compares the median of all window medians of each side, whose
 * rows were measured C, Java, C, Java back to back: this VM's host throttles it by 20-50% over minutes, and
 * a single quiet window says more about luck than about the code. The quietest window is printed beneath.
 *
 * <p>The custom ops (issue 4) have a PyTorch twin instead of a C one ({@code bench/python/custom_ops.py}, its
 * {@code torch_tuned_*} and {@code torch_stock_*} lines in the same file and format as the C twins'): they get
 * a second table, Java against PyTorch at its best with the stock PyTorch figure beside it. The end-to-end
 * networks (issue 5, measured in lock step by {@link EndToEndCompare}) get a third, in images/s.
 *
 * <p>Usage: {@code Report <c-results.txt> [<jmh.json>...]}; exits 1 when a target fails and
 * {@code STRIDE_BENCH_STRICT=1}.
 */
public final class Report {

    /** One row: the JMH benchmark, its C twin, how the pair is judged, and the FLOPs per call (0: not shown). */
    private record Pair(String label, String jmh, String twin, Kind kind, double flops) {}

    private enum Kind {
        /** Java throughput at least 0.97x C's. */
        THROUGHPUT,
        /** Java time per call at most 0.2 us above C's. */
        OVERHEAD
    }

    private static final String B = "dev.stride.bench.";

    /**
     * One row of the custom-ops table (issue 4): the JMH benchmark, the PyTorch twin's case
     * ({@code bench/python/custom_ops.py}, read as {@code torch_tuned_<case>} and {@code torch_stock_<case>}), or
     * for {@link OpsKind#VS_CONV} the JMH benchmark of Stride's plain convolution; and the target.
     */
    private record OpsRow(String label, String jmh, String reference, OpsKind kind, double target) {}

    private enum OpsKind {
        /** Java throughput at least {@code target} x tuned PyTorch's; {@code target} 0: shown, not judged. */
        VS_TORCH,
        /** Java time at most {@code target} x the time of the reference JMH benchmark (Stride's plain conv). */
        VS_CONV,
        /** Java only (a reference for another row). */
        JAVA_ONLY
    }

    private static final String OPS = B + "CustomOpsBench.";

    private static List<OpsRow> opsRows() {
        String conv = OPS + "convForwardBackward";
        return List.of(
                new OpsRow("deform conv v1 fwd 8x64x28x28 K=64 3x3", OPS + "deformV1Forward", "deform_v1_fwd",
                        OpsKind.VS_TORCH, 0),
                new OpsRow("deform conv v1 fwd+bwd", OPS + "deformV1ForwardBackward", "deform_v1_fwd_bwd",
                        OpsKind.VS_TORCH, 20),
                new OpsRow("deform conv v1 fwd+bwd vs Stride conv", OPS + "deformV1ForwardBackward", conv,
                        OpsKind.VS_CONV, 2.5),
                new OpsRow("deform conv v2 fwd 8x64x28x28 K=64 3x3", OPS + "deformV2Forward", "deform_v2_fwd",
                        OpsKind.VS_TORCH, 0),
                new OpsRow("deform conv v2 fwd+bwd", OPS + "deformV2ForwardBackward", "deform_v2_fwd_bwd",
                        OpsKind.VS_TORCH, 20),
                new OpsRow("deform conv v2 fwd+bwd vs Stride conv", OPS + "deformV2ForwardBackward", conv,
                        OpsKind.VS_CONV, 2.5),
                new OpsRow("plain conv fwd+bwd data+weights (Stride)", conv, null, OpsKind.JAVA_ONLY, 0),
                new OpsRow("affine grid+sampler fwd 32x32x28x28", OPS + "stnForward", "stn_fwd", OpsKind.VS_TORCH, 2),
                new OpsRow("affine grid+sampler fwd+bwd (src, theta)", OPS + "stnForwardBackward", "stn_fwd_bwd",
                        OpsKind.VS_TORCH, 2),
                new OpsRow("SE block fwd 32x64x28x28 r=16", OPS + "seForward", "se_fwd", OpsKind.VS_TORCH, 1.5),
                new OpsRow("SE block fwd+bwd", OPS + "seForwardBackward", "se_fwd_bwd", OpsKind.VS_TORCH, 1.5));
    }

    private static List<Pair> pairs() {
        double conv = Convolution.Geometry.of("conv", ConvFamilyBench.SRC, ConvFamilyBench.PARAMS).forwardFlops();
        double fc = LinearFamilyBench.geometry().forwardFlops();
        return List.of(
                new Pair("conv3x3 fwd 8x64x56x56 K=64 (inference)", B + "ConvForwardBench.forward",
                        "conv_fwd_3x3_8x64x56x56", Kind.THROUGHPUT, ConvForwardBench.geometry().forwardFlops()),
                new Pair("conv3x3 fwd 32x32x28x28 K=64", B + "ConvFamilyBench.forward",
                        "conv_fwd_3x3_32x32x28x28_k64", Kind.THROUGHPUT, conv),
                new Pair("conv3x3 bwd data 32x32x28x28 K=64", B + "ConvFamilyBench.backwardData",
                        "conv_bwd_data_3x3_32x32x28x28_k64", Kind.THROUGHPUT, conv),
                new Pair("conv3x3 bwd weights+bias 32x32x28x28 K=64", B + "ConvFamilyBench.backwardWeights",
                        "conv_bwd_weights_3x3_32x32x28x28_k64", Kind.THROUGHPUT, conv),
                new Pair("conv3x3 dilation 2 fwd 32x64x28x28 K=64", B + "ConvFamilyBench.dilatedForward",
                        "conv_fwd_3x3_d2_32x64x28x28_k64", Kind.THROUGHPUT, flops(ConvFamilyBench.SRC64,
                                ConvFamilyBench.DILATED)),
                new Pair("conv3x3 groups=8 fwd 32x64x28x28 K=64", B + "ConvFamilyBench.groupedForward",
                        "conv_fwd_3x3_g8_32x64x28x28_k64", Kind.THROUGHPUT, flops(ConvFamilyBench.SRC64,
                                ConvFamilyBench.GROUPS8)),
                new Pair("conv3x3 depthwise fwd 32x64x28x28", B + "ConvFamilyBench.depthwiseForward",
                        "conv_fwd_3x3_dw_32x64x28x28", Kind.THROUGHPUT, flops(ConvFamilyBench.SRC64,
                                ConvFamilyBench.DEPTHWISE)),
                new Pair("conv3d 3x3x3 fwd 4x16x16x32x32 K=32", B + "ConvFamilyBench.conv3dForward",
                        "conv3d_fwd_3x3x3_4x16x16x32x32_k32", Kind.THROUGHPUT, flops(ConvFamilyBench.SRC3D,
                                ConvFamilyBench.CONV3D)),
                new Pair("max pool 2x2/2 fwd 32x64x56x56 nhwc", B + "PoolFamilyBench.maxForward",
                        "pool_max_fwd_2x2s2_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("max pool 2x2/2 bwd 32x64x56x56 nhwc", B + "PoolFamilyBench.maxBackward",
                        "pool_max_bwd_2x2s2_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("avg pool 2x2/2 fwd 32x64x56x56 nhwc", B + "PoolFamilyBench.avgForward",
                        "pool_avg_fwd_2x2s2_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("avg pool 2x2/2 bwd 32x64x56x56 nhwc", B + "PoolFamilyBench.avgBackward",
                        "pool_avg_bwd_2x2s2_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("batch norm training fwd 32x64x56x56 nhwc", B + "NormFamilyBench.batchNormForward",
                        "bnorm_fwd_training_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("batch norm bwd 32x64x56x56 nhwc", B + "NormFamilyBench.batchNormBackward",
                        "bnorm_bwd_32x64x56x56", Kind.THROUGHPUT, 0),
                new Pair("layer norm training fwd (6272, 256)", B + "NormFamilyBench.layerNormForward",
                        "lnorm_fwd_training_6272x256", Kind.THROUGHPUT, 0),
                new Pair("layer norm bwd (6272, 256)", B + "NormFamilyBench.layerNormBackward",
                        "lnorm_bwd_6272x256", Kind.THROUGHPUT, 0),
                new Pair("fc fwd 256x3136 -> 1024", B + "LinearFamilyBench.forward",
                        "ip_fwd_256x3136_1024", Kind.THROUGHPUT, fc),
                new Pair("fc bwd data 256x3136 -> 1024", B + "LinearFamilyBench.backwardData",
                        "ip_bwd_data_256x3136_1024", Kind.THROUGHPUT, fc),
                new Pair("fc bwd weights+bias 256x3136 -> 1024", B + "LinearFamilyBench.backwardWeights",
                        "ip_bwd_weights_256x3136_1024", Kind.THROUGHPUT, fc),
                new Pair("tiny ReLU 1x16x4x4, 1 thread", B + "TinyEltwiseBench.reluExecuteWait",
                        "tiny_eltwise_relu_1x16x4x4", Kind.OVERHEAD, 0));
    }

    private static double flops(long[] src, Convolution.Params p) {
        return Convolution.Geometry.of("conv", src, p).forwardFlops();
    }

    private Report() {}

    public static void main(String[] argv) throws IOException {
        if (argv.length < 1) {
            System.err.println("usage: Report <c-results.txt> [<jmh.json>...]");
            System.exit(2);
        }
        Map<String, List<Double>> c = readTwins(Path.of(argv[0]));
        Map<String, List<Double>> java = new LinkedHashMap<>();
        for (int i = 1; i < argv.length; i++) {
            readJmh(Path.of(argv[i]), java);
        }
        List<Pair> pairs = pairs();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"benchmark", "Java median", "C median", "Java/C throughput", "target", "result"});
        List<String> notes = new ArrayList<>();
        boolean allPass = true;
        for (Pair p : pairs()) {
            List<Double> jw = java.get(p.jmh());
            List<Double> cw = c.get(p.twin());
            if (jw == null && cw == null) {
                continue; // a subset run (STRIDE_BENCH_ONLY): this row was not measured
            }
            if (jw == null || jw.isEmpty() || cw == null || cw.isEmpty()) {
                rows.add(new String[] {p.label(), jw == null ? "missing" : "", cw == null ? "missing" : "", "", "",
                        "FAIL (no result)"});
                allPass = false;
                continue;
            }
            // Judged on the median of all window medians: on this throttled VM a single quiet window is luck.
            double j = median(jw);
            double best = median(cw);
            double ratio = best / j;
            notes.add(String.format(Locale.ROOT, "%s: quietest 1-s window: Java %s, C %s (ratio %.3f); "
                    + "%d Java / %d C windows", p.label(), us(min(jw)), us(min(cw)), min(cw) / min(jw),
                    jw.size(), cw.size()));
            boolean pass;
            String target;
            String jCell = us(j);
            String cCell = us(best);
            if (p.kind() == Kind.THROUGHPUT) {
                pass = ratio >= 0.97;
                target = ">= 0.97x C";
                if (p.flops() > 0) {
                    jCell += String.format(Locale.ROOT, " (%.0f GFLOP/s)", p.flops() / (j * 1e3));
                    cCell += String.format(Locale.ROOT, " (%.0f GFLOP/s)", p.flops() / (best * 1e3));
                }
            } else {
                pass = j - best <= 0.2;
                target = "<= C + 0.2 us";
                jCell += String.format(Locale.ROOT, " (%+.3f us)", j - best);
            }
            allPass &= pass;
            rows.add(new String[] {p.label(), jCell, cCell, String.format(Locale.ROOT, "%.3f", ratio), target,
                    pass ? "PASS" : "FAIL"});
        }
        // Twins with no row above (a C case added before its Java benchmark): shown, not judged.
        for (String twin : c.keySet()) {
            if (twin.startsWith("torch_") || twin.startsWith("e2e_") || twin.startsWith("cpu:")) {
                continue; // the PyTorch twins and the end-to-end rows: their own tables below
            }
            if (pairs.stream().noneMatch(p -> p.twin().equals(twin))) {
                rows.add(new String[] {twin, "no Java benchmark", us(min(c.get(twin))), "", "", "C only"});
            }
        }
        boolean opsMeasured = opsRows().stream().anyMatch(r -> java.containsKey(r.jmh()));
        boolean e2eMeasured = c.keySet().stream().anyMatch(k -> k.startsWith("e2e_"));
        boolean printed = false;
        if (rows.size() > 1 || !(opsMeasured || e2eMeasured)) {
            print(rows);
            System.out.println("Median = median over all 1-s windows of the per-call median in each window (JMH sample "
                + "mode / C twin timing every call), each row measured C, Java, C, Java back to back.");
            notes.forEach(System.out::println);
            printed = true;
        }
        if (opsMeasured) {
            if (printed) {
                System.out.println();
            }
            allPass &= opsTable(c, java);
            printed = true;
        }
        if (e2eMeasured) {
            if (printed) {
                System.out.println();
            }
            allPass &= e2eTable(c);
            if (c.keySet().stream().anyMatch(k -> k.startsWith("cpu:e2e_") && k.endsWith("@" + ONE_THREAD))) {
                System.out.println();
                e2eOneThreadTable(c);
            }
        }
        if (!allPass && "1".equals(System.getenv("STRIDE_BENCH_STRICT"))) {
            System.exit(1);
        }
    }

    /**
     * The custom-ops table: Java against PyTorch/torchvision at its best (OpenBLAS, tuned malloc; measured
     * PyTorch, Java, PyTorch, Java back to back), with the stock PyTorch run (one run) beside it, and the
     * deformable convolution against Stride's own plain convolution. Returns whether every target passed.
     */
    private static boolean opsTable(Map<String, List<Double>> twins, Map<String, List<Double>> java) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"custom op", "Java median", "reference median", "PyTorch stock median",
                "Java/reference throughput", "target", "result"});
        List<String> notes = new ArrayList<>();
        boolean allPass = true;
        for (OpsRow r : opsRows()) {
            List<Double> jw = java.get(r.jmh());
            if (jw == null || jw.isEmpty()) {
                continue; // not measured (a subset run, or the group was skipped)
            }
            double j = median(jw);
            if (r.kind() == OpsKind.JAVA_ONLY) {
                rows.add(new String[] {r.label(), us(j), "", "", "", "", "reference"});
                continue;
            }
            if (r.kind() == OpsKind.VS_CONV) {
                List<Double> cw = java.get(r.reference());
                if (cw == null || cw.isEmpty()) {
                    rows.add(new String[] {r.label(), us(j), "missing", "", "", "", "FAIL (no result)"});
                    allPass = false;
                    continue;
                }
                double conv = median(cw);
                boolean pass = j <= r.target() * conv;
                allPass &= pass;
                rows.add(new String[] {r.label(), us(j), "Stride conv " + us(conv), "", String.format(Locale.ROOT,
                        "%.3f (time %.2fx conv)", conv / j, j / conv), String.format(Locale.ROOT, "<= %.1fx conv time",
                        r.target()), pass ? "PASS" : "FAIL"});
                continue;
            }
            List<Double> tuned = twins.get("torch_tuned_" + r.reference());
            List<Double> stock = twins.get("torch_stock_" + r.reference());
            String stockCell = stock == null || stock.isEmpty() ? "missing"
                    : String.format(Locale.ROOT, "%s (%.2fx)", us(median(stock)), median(stock) / j);
            if (tuned == null || tuned.isEmpty()) {
                rows.add(new String[] {r.label(), us(j), "missing", stockCell, "", "", "FAIL (no result)"});
                allPass = false;
                continue;
            }
            double t = median(tuned);
            double ratio = t / j;
            notes.add(String.format(Locale.ROOT, "%s: quietest 1-s window: Java %s, PyTorch tuned %s (ratio %.2f); "
                    + "%d Java / %d PyTorch tuned windows", r.label(), us(min(jw)), us(min(tuned)),
                    min(tuned) / min(jw), jw.size(), tuned.size()));
            boolean judged = r.target() > 0;
            boolean pass = !judged || ratio >= r.target();
            allPass &= pass;
            rows.add(new String[] {r.label(), us(j), "PyTorch " + us(t), stockCell,
                    String.format(Locale.ROOT, "%.2f", ratio),
                    judged ? String.format(Locale.ROOT, ">= %sx PyTorch", fmt(r.target())) : "(shown)",
                    judged ? (pass ? "PASS" : "FAIL") : ""});
        }
        print(rows);
        System.out.println("Reference = PyTorch " + torchNote() + " at its best (Debian libopenblas0-pthread, glibc malloc "
                + "tuned: MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456), "
                + "same shapes and threads, measured PyTorch, Java, PyTorch, Java back to back; PyTorch stock = one "
                + "run with glibc's default malloc (in brackets: its time / Java's time). Median of all 1-s window "
                + "medians.");
        notes.forEach(System.out::println);
        return allPass;
    }

    /**
     * One row of the end-to-end table (issue 5): a model of {@link EndToEndBench} in one pass, as
     * {@link EndToEndCompare} measured it (lines {@code e2e_stride_optimised_<case>},
     * {@code e2e_stride_unoptimised_<case>}, {@code torch_tuned_<case>}, {@code torch_stock_<case>}, every step in
     * round order), and the target: Stride's optimised plan at least {@code target} x PyTorch's images/s.
     */
    private record E2eRow(String model, boolean training, int batch, double target) {
        String torchCase() {
            return model + (training ? "_train" : "_infer");
        }
    }

    private static List<E2eRow> e2eRows() {
        List<E2eRow> out = new ArrayList<>();
        for (String m : List.of("tfReference", "smallResNet", "smallDenseNet")) {
            out.add(new E2eRow(m, true, EndToEndBench.TRAIN_BATCH, 2));
            out.add(new E2eRow(m, false, EndToEndBench.INFERENCE_BATCH, 2.5));
        }
        return out;
    }

    /**
     * The end-to-end table: images/s of Stride's optimised and unoptimised plans and of PyTorch tuned and stock,
     * all four measured in lock step; judged on the median over rounds of PyTorch tuned's step time over
     * Stride optimised's in the same round. Returns whether every target passed.
     */
    private static boolean e2eTable(Map<String, List<Double>> steps) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"model", "pass", "Stride optimised", "Stride unoptimised", "optimised speed-up",
                "PyTorch tuned", "PyTorch stock", "Stride/PyTorch tuned", "Stride/PyTorch stock", "target", "result"});
        List<String> notes = new ArrayList<>();
        boolean allPass = true;
        for (E2eRow r : e2eRows()) {
            List<Double> opt = steps.get("e2e_stride_optimised_" + r.torchCase());
            if (opt == null || opt.isEmpty()) {
                continue; // not measured
            }
            List<Double> unopt = steps.get("e2e_stride_unoptimised_" + r.torchCase());
            List<Double> tuned = steps.get("torch_tuned_" + r.torchCase());
            List<Double> stock = steps.get("torch_stock_" + r.torchCase());
            String pass = (r.training() ? "train step" : "inference") + " (batch " + r.batch() + ")";
            if (unopt == null || tuned == null || stock == null || unopt.size() != opt.size()
                    || tuned.size() != opt.size() || stock.size() != opt.size()) {
                rows.add(new String[] {r.model(), pass, rate(r.batch(), median(opt)), "", "", "", "", "", "", "",
                        "FAIL (missing or unpaired results)"});
                allPass = false;
                continue;
            }
            double ratio = pairedRatio(tuned, opt);
            boolean ok = ratio >= r.target();
            allPass &= ok;
            notes.add(String.format(Locale.ROOT, "%s %s: %d rounds; ratios of medians: PyTorch tuned/Stride %.2f, "
                    + "Stride unoptimised/optimised %.2f; fastest step: Stride %s, PyTorch tuned %s", r.model(), pass,
                    opt.size(), median(tuned) / median(opt), median(unopt) / median(opt), rate(r.batch(), min(opt)),
                    rate(r.batch(), min(tuned))));
            rows.add(new String[] {r.model(), pass, rate(r.batch(), median(opt)), rate(r.batch(), median(unopt)),
                    String.format(Locale.ROOT, "%.2fx", pairedRatio(unopt, opt)), rate(r.batch(), median(tuned)),
                    rate(r.batch(), median(stock)), String.format(Locale.ROOT, "%.2f", ratio),
                    String.format(Locale.ROOT, "%.2f", pairedRatio(stock, opt)),
                    String.format(Locale.ROOT, ">= %sx PyTorch", fmt(r.target())), ok ? "PASS" : "FAIL"});
        }
        print(rows);
        System.out.println("Images/s (median time per step or batch in brackets); ratios = median over rounds of the "
                + "other's step time / Stride optimised's step time in the same round (all four run one step each in "
                + "turn, bench/src/main/java/dev/stride/bench/EndToEndCompare.java). Stride optimised = "
                + "PlanOptions.defaults() (post-op fusion, BN+ReLU fused, BN folded for inference, buffer reuse), "
                + "unoptimised = PlanOptions.unoptimised(). Train step = forward + softmax cross-entropy + backward "
                + "(every parameter gradient), no optimizer step on either side. PyTorch 1.13 (bench/python/e2e.py), "
                + "same models and threads; tuned = Debian libopenblas0-pthread + glibc malloc tuned "
                + "(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456), "
                + "stock = glibc's default malloc.");
        notes.forEach(System.out::println);
        return allPass;
    }

    /** The tag of {@link EndToEndCompare}'s one-thread pass ({@code scripts/bench} runs it after the main one). */
    static final String ONE_THREAD = "1thread";

    /**
     * The end-to-end rows again at one thread on both sides ({@code OMP_NUM_THREADS=1}), by process CPU time per
     * step: what a step costs, nearly independent of the other work on the machine. Shown, not judged.
     */
    private static void e2eOneThreadTable(Map<String, List<Double>> steps) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"model", "pass", "Stride optimised CPU", "Stride unoptimised CPU", "PyTorch tuned CPU",
                "PyTorch stock CPU", "PyTorch tuned/Stride CPU", "PyTorch tuned/Stride wall"});
        for (E2eRow r : e2eRows()) {
            String k = r.torchCase() + "@" + ONE_THREAD;
            List<Double> opt = steps.get("cpu:e2e_stride_optimised_" + k);
            List<Double> unopt = steps.get("cpu:e2e_stride_unoptimised_" + k);
            List<Double> tuned = steps.get("cpu:torch_tuned_" + k);
            List<Double> stock = steps.get("cpu:torch_stock_" + k);
            List<Double> optWall = steps.get("e2e_stride_optimised_" + k);
            List<Double> tunedWall = steps.get("torch_tuned_" + k);
            if (opt == null || unopt == null || tuned == null || stock == null || optWall == null || tunedWall == null) {
                continue;
            }
            rows.add(new String[] {r.model(), (r.training() ? "train step" : "inference") + " (batch " + r.batch() + ")",
                    ms(median(opt)), ms(median(unopt)), ms(median(tuned)), ms(median(stock)),
                    String.format(Locale.ROOT, "%.2f", pairedRatio(tuned, opt)),
                    String.format(Locale.ROOT, "%.2f", pairedRatio(tunedWall, optWall))});
        }
        System.out.println("One thread on both sides (OMP_NUM_THREADS=1), process CPU time per step (median over "
                + "rounds), measured in lock step as above; ratios = median over rounds of PyTorch tuned / Stride "
                + "optimised. Shown, not judged: the cost of a step, nearly independent of the other work on this "
                + "shared machine.");
        print(rows);
    }

    private static String ms(double micros) {
        return String.format(Locale.ROOT, "%.1f ms", micros / 1e3);
    }

    /** The median over rounds of {@code other[i] / stride[i]} (step times of the same round). */
    private static double pairedRatio(List<Double> other, List<Double> stride) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < stride.size(); i++) {
            r.add(other.get(i) / stride.get(i));
        }
        return median(r);
    }

    private static String rate(int batch, double micros) {
        double perSecond = batch / (micros / 1e6);
        return String.format(Locale.ROOT, "%.0f img/s (%.1f ms)", perSecond, micros / 1e3);
    }

    private static String torchNote() {
        return "1.13/torchvision 0.14 (bench/python/custom_ops.py)";
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static String us(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.1f us" : "%.3f us", v);
    }

    private static void print(List<String[]> rows) {
        int[] w = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (int k = 0; k < rows.size(); k++) {
            StringBuilder sb = new StringBuilder("|");
            for (int i = 0; i < w.length; i++) {
                sb.append(' ').append(String.format("%-" + w[i] + "s", rows.get(k)[i])).append(" |");
            }
            System.out.println(sb);
            if (k == 0) {
                StringBuilder sep = new StringBuilder("|");
                for (int x : w) {
                    sep.append("-".repeat(x + 2)).append('|');
                }
                System.out.println(sep);
            }
        }
    }

    /** Lines {@code name ... windows=w1,w2,...}; window medians of repeated runs are pooled per name. */
    static Map<String, List<Double>> readTwins(Path file) throws IOException {
        Map<String, List<Double>> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] parts = line.trim().split("\\s+");
            for (String kv : parts) {
                if (kv.startsWith("windows=")) {
                    List<Double> l = out.computeIfAbsent(parts[0], k -> new ArrayList<>());
                    for (String v : kv.substring("windows=".length()).split(",")) {
                        l.add(Double.parseDouble(v));
                    }
                }
            }
        }
        return out;
    }

    /**
     * JMH's JSON: for each sample-mode run, the median of every measurement iteration, in microseconds, from
     * {@code rawDataHistogram} (forks, then iterations, then {@code [value, count]} pairs).
     */
    @SuppressWarnings("unchecked")
    static void readJmh(Path file, Map<String, List<Double>> out) throws IOException {
        Object root = json(Files.readString(file));
        for (Object o : (List<Object>) root) {
            Map<String, Object> run = (Map<String, Object>) o;
            Map<String, Object> metric = (Map<String, Object>) run.get("primaryMetric");
            Object hist = metric.get("rawDataHistogram");
            if (!(hist instanceof List<?> forks)) {
                throw new IllegalArgumentException(file + ": " + run.get("benchmark") + " has no sample histogram: "
                        + "run it in sample mode (-bm sample)");
            }
            double scale = toMicros((String) metric.get("scoreUnit"));
            // Parameterised benchmarks (EndToEndBench) are keyed benchmark[name=value,...], names sorted.
            String key = (String) run.get("benchmark");
            if (run.get("params") instanceof Map<?, ?> params && !params.isEmpty()) {
                key += new java.util.TreeMap<>((Map<String, Object>) params).entrySet().stream()
                        .map(e -> e.getKey() + "=" + e.getValue())
                        .collect(java.util.stream.Collectors.joining(",", "[", "]"));
            }
            List<Double> windows = out.computeIfAbsent(key, k -> new ArrayList<>());
            for (Object fork : forks) {
                for (Object iteration : (List<Object>) fork) {
                    windows.add(histogramMedian((List<Object>) iteration) * scale);
                }
            }
        }
    }

    /** The median of a histogram given as {@code [value, count]} pairs. */
    @SuppressWarnings("unchecked")
    static double histogramMedian(List<Object> pairs) {
        List<double[]> vc = new ArrayList<>();
        double total = 0;
        for (Object p : pairs) {
            List<Object> l = (List<Object>) p;
            double v = (Double) l.get(0);
            double n = (Double) l.get(1);
            vc.add(new double[] {v, n});
            total += n;
        }
        vc.sort((a, b) -> Double.compare(a[0], b[0]));
        double seen = 0;
        for (double[] e : vc) {
            seen += e[1];
            if (seen >= total / 2) {
                return e[0];
            }
        }
        throw new IllegalArgumentException("empty histogram");
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static double toMicros(String unit) {
        return switch (unit) {
            case "ns/op" -> 1e-3;
            case "us/op" -> 1;
            case "ms/op" -> 1e3;
            case "s/op" -> 1e6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + unit + " (want a time per op)");
        };
    }

    /** JMH's result file as plain values: objects as maps, arrays as lists, numbers as doubles. */
    static Object json(String text) throws IOException {
        // JMH writes NaN and Infinity unquoted for a score it could not compute.
        JsonFactory f = JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
        try (JsonParser p = f.createParser(text)) {
            p.nextToken();
            return value(p);
        }
    }

    private static Object value(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) {
            throw new IllegalArgumentException("JSON: no value");
        }
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, value(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(value(p));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IllegalArgumentException("JSON: unexpected " + t + " at " + p.currentLocation());
        }
    }
}
