package dev.stride.bench;

import dev.stride.bindings.clock.clock_h;
import dev.stride.bindings.clock.timespec;
import dev.stride.core.Dnnl;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 5's end-to-end comparison, measured in lock step: Stride's optimised plan, PyTorch at its best, Stride's
 * unoptimised plan and stock PyTorch take one step (a training step at batch 64, or an inference batch of 256)
 * each in turn, round after round, so that all four sample the same seconds of this shared machine.
 *
 * <p>Why not JMH runs alternating with PyTorch runs: on the shared 2-core VM the load from other work changes
 * within seconds, and one row measured that way swung from 40 to 260 ms per step between its two rounds. A step
 * here takes 40 ms to 1 s, so interleaving single steps costs nothing and compares like with like; the report
 * judges each row on the median over rounds of PyTorch's time over Stride's in the same round.
 *
 * <p>The Stride side runs {@link EndToEndBench}'s states in this JVM; each PyTorch variant is a
 * {@code bench/python/e2e.py --serve} process that runs one step per request and answers with its own timing,
 * tuned with {@code MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456}
 * (and whatever BLAS the machine has; {@code scripts/bench} installs OpenBLAS), stock with glibc's defaults.
 * Before each step the runner pauses {@value #GAP_MS} ms, so the OpenMP threads of whoever ran last have gone
 * to sleep instead of spinning on the cores the next one needs.
 *
 * <p>Usage: {@code EndToEndCompare <model> <train|infer> <results.txt> [tag]}; appends one line per contender
 * in the C twins' format ({@code name median_us=... best_us=... windows=<every measured step, in round order>}):
 * {@code e2e_stride_optimised_<model>_<pass>}, {@code e2e_stride_unoptimised_...}, {@code torch_tuned_...},
 * {@code torch_stock_...}, each with {@code @<tag>} appended when a tag is given; then the same four with the
 * process CPU time of every step, named {@code cpu:<name>} (with one thread, a cost that the other work on the
 * machine barely changes; with more, it includes OpenMP's spinning at barriers). Environment: {@code STRIDE_BENCH_E2E_SECONDS} (measured seconds per row, default
 * 30; at least {@value #MIN_ROUNDS} rounds), {@code STRIDE_BENCH_WARMUP_S} (warm-up rounds for about this many
 * seconds, default 2), {@code STRIDE_BENCH_PYTHON} (default {@code /usr/bin/python3}).
 */
public final class EndToEndCompare {

    static final int MIN_ROUNDS = 5;
    static final int GAP_MS = 20;
    static final List<String> TUNED_MALLOC = List.of("MALLOC_MMAP_THRESHOLD_=33554432",
            "MALLOC_TRIM_THRESHOLD_=4294967296", "MALLOC_TOP_PAD_=268435456");

    /** One side of the comparison: runs a step, returns its wall and process CPU time in nanoseconds. */
    interface Contender extends AutoCloseable {
        String name();

        long[] step() throws IOException;

        @Override
        void close();
    }

    /** A Stride plan of {@link EndToEndBench}, in this JVM. */
    static Contender stride(String model, boolean training, String plan, String tag) {
        EndToEndBench.PlannedState state = training ? new EndToEndBench.Training() : new EndToEndBench.Inference();
        state.model = model;
        state.plan = plan;
        state.setup();
        Runnable step = training ? ((EndToEndBench.Training) state)::step : state.planned::forward;
        String name = "e2e_stride_" + plan + "_" + model + (training ? "_train" : "_infer") + tag;
        return new Contender() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public long[] step() {
                long cpu = processCpuNanos();
                long a = System.nanoTime();
                step.run();
                long wall = System.nanoTime() - a;
                return new long[] {wall, processCpuNanos() - cpu};
            }

            @Override
            public void close() {
                state.tearDown();
            }
        };
    }

    /** A {@code bench/python/e2e.py --serve} process: PyTorch {@code variant} (tuned or stock) running {@code torchCase}. */
    static Contender torch(String python, String variant, String torchCase, String tag, Path errors)
            throws IOException {
        ProcessBuilder pb = new ProcessBuilder(python, "bench/python/e2e.py", "--serve", "--variant", variant, torchCase);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("MALLOC_"));
        if (variant.equals("tuned")) {
            for (String kv : TUNED_MALLOC) {
                env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            }
        }
        Files.createDirectories(errors.getParent());
        pb.redirectError(errors.toFile());
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter in = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
        String name = "torch_" + variant + "_" + torchCase + tag;
        String ready = out.readLine();
        if (ready == null || !ready.startsWith("ready ")) {
            p.destroy();
            throw new IOException("PyTorch twin " + torchCase + " (" + variant + ") did not start: got '" + ready
                    + "'; see " + errors);
        }
        System.out.println("# torch: " + ready.substring("ready ".length()));
        return new Contender() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public long[] step() throws IOException {
                in.println("step");
                String line = out.readLine();
                if (line == null) {
                    throw new IOException(name + ": the PyTorch process ended; see " + errors);
                }
                String[] wallCpu = line.trim().split(" ");
                return new long[] {Long.parseLong(wallCpu[0]), Long.parseLong(wallCpu[1])};
            }

            @Override
            public void close() {
                in.println("quit");
                try {
                    if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                        p.destroy();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    p.destroy();
                }
            }
        };
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || args.length > 4 || !(args[1].equals("train") || args[1].equals("infer"))) {
            System.err.println("usage: EndToEndCompare <tfReference|smallResNet|smallDenseNet> <train|infer> "
                    + "<results.txt> [tag]");
            System.exit(2);
        }
        String model = args[0];
        boolean training = args[1].equals("train");
        Path results = Path.of(args[2]);
        String tag = args.length == 4 ? "@" + args[3] : "";
        EndToEndBench.spec(model); // an unknown model fails here, before anything starts
        double seconds = env("STRIDE_BENCH_E2E_SECONDS", 30);
        double warmup = env("STRIDE_BENCH_WARMUP_S", 2);
        String python = System.getenv().getOrDefault("STRIDE_BENCH_PYTHON", "/usr/bin/python3");
        String torchCase = model + "_" + args[1];
        Path errors = results.toAbsolutePath().getParent().resolveSibling("python");

        List<Contender> contenders = new ArrayList<>();
        try {
            contenders.add(stride(model, training, "optimised", tag));
            contenders.add(torch(python, "tuned", torchCase, tag, errors.resolve("tuned-" + torchCase + tag + ".err")));
            contenders.add(stride(model, training, "unoptimised", tag));
            contenders.add(torch(python, "stock", torchCase, tag, errors.resolve("stock-" + torchCase + tag + ".err")));
            System.out.println("# e2e " + torchCase + ": Stride with " + Dnnl.threads() + " oneDNN thread(s); rounds of "
                    + contenders.stream().map(Contender::name).toList() + " in turn");

            long start = System.nanoTime();
            for (int r = 0; r < 2 || System.nanoTime() - start < warmup * 1e9; r++) {
                round(contenders, r, null);
            }
            List<List<long[]>> times = new ArrayList<>();
            contenders.forEach(c -> times.add(new ArrayList<>()));
            start = System.nanoTime();
            for (int r = 0; r < MIN_ROUNDS || System.nanoTime() - start < seconds * 1e9; r++) {
                round(contenders, r, times);
            }
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < contenders.size(); i++) {
                lines.add(line(contenders.get(i).name(), times.get(i), 0));
            }
            for (int i = 0; i < contenders.size(); i++) {
                lines.add(line("cpu:" + contenders.get(i).name(), times.get(i), 1));
            }
            lines.forEach(System.out::println);
            Files.write(results, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } finally {
            for (Contender c : contenders.reversed()) {
                c.close();
            }
        }
    }

    /** One step of every contender, starting with contender {@code r mod n}; times in order of contender. */
    private static void round(List<Contender> contenders, int r, List<List<long[]>> times) throws IOException,
            InterruptedException {
        int n = contenders.size();
        for (int k = 0; k < n; k++) {
            int i = (r + k) % n;
            Thread.sleep(GAP_MS);
            long[] t = contenders.get(i).step();
            if (times != null) {
                times.get(i).add(t);
            }
        }
    }

    /** Element {@code which} (0 wall, 1 CPU) of every step, as a results line. */
    private static String line(String name, List<long[]> nanos, int which) {
        double[] us = nanos.stream().mapToDouble(v -> v[which] / 1e3).toArray();
        double[] sorted = us.clone();
        Arrays.sort(sorted);
        int m = sorted.length;
        double median = m % 2 == 1 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
        StringBuilder w = new StringBuilder();
        for (double v : us) {
            w.append(w.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "%.1f", v));
        }
        return String.format(Locale.ROOT, "%s median_us=%.1f best_us=%.1f windows=%s steps=%d", name, median, sorted[0],
                w, m);
    }

    private static final MemorySegment TIMESPEC = Arena.global().allocate(timespec.layout());

    /**
     * The process CPU time in nanoseconds, as Python's {@code time.process_time_ns()} reads it
     * ({@code clock_gettime}); the JDK's {@code getProcessCpuTime()} counts in 10 ms ticks here.
     */
    static long processCpuNanos() {
        int rc = clock_h.clock_gettime(clock_h.CLOCK_PROCESS_CPUTIME_ID(), TIMESPEC);
        if (rc != 0) {
            throw new IllegalStateException("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed: " + rc);
        }
        return timespec.tv_sec(TIMESPEC) * 1_000_000_000L + timespec.tv_nsec(TIMESPEC);
    }

    private static double env(String name, double dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : Double.parseDouble(v.trim());
    }
}
