package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the whole public API: random configurations of every primitive family, custom op and the network
 * builder, valid or invalid by exactly one mutated parameter (see {@link FuzzFamilies}), run in batches in
 * child JVMs ({@link FuzzChild}) so that a crash fails this test and names the configuration that caused it.
 *
 * <p>It fails on every crash or hang, every valid configuration whose result differs from the naive reference
 * (or is refused), every invalid one that is accepted, or refused with anything but an
 * {@code IllegalArgumentException}/{@code IllegalStateException} naming the mutated parameter, every leak, and
 * every configuration after which the process could no longer run a small primitive correctly.
 *
 * <p>System properties: {@code stride.fuzz.seed} (default 1; {@code random} draws one; printed either way),
 * {@code stride.fuzz.configs} (default 10000), {@code stride.fuzz.ids} (replay ids, e.g. {@code 17,40-45}),
 * {@code stride.fuzz.families} (only these, e.g. {@code softmax,layouts}), {@code stride.fuzz.batch}
 * (configurations per child, default 1250), {@code stride.fuzz.jobs} (children at once, default 2). Each child runs oneDNN on one thread, under a 6 GiB address-space limit, so that a
 * refused-too-late huge allocation fails there instead of swamping the machine.
 */
class FuzzTest {

    static final List<String> FAILURES = List.of("CRASH", "HANG", "POISONED", "WRONG", "REFUSED", "NOERROR", "UNCLEAR", "LEAK",
            "SKIPPED");

    record Outcome(String kind, String detail, long micros) {
        Outcome(String kind, String detail) {
            this(kind, detail, 0);
        }
    }

    @Test
    void publicApiNeitherCrashesNorReturnsGarbage() throws Exception {
        String seedProp = System.getProperty("stride.fuzz.seed", "1");
        long seed = seedProp.equals("random") ? System.nanoTime() : Long.parseLong(seedProp);
        int configs = Integer.getInteger("stride.fuzz.configs", 10_000);
        int batch = Integer.getInteger("stride.fuzz.batch", 1250);
        int jobs = Integer.getInteger("stride.fuzz.jobs", 2);
        List<Long> ids = ids(System.getProperty("stride.fuzz.ids"), configs);
        String only = System.getProperty("stride.fuzz.families");
        if (only != null && !only.isBlank()) {
            List<String> fams = List.of(only.split(","));
            ids.removeIf(id -> !fams.contains(FuzzFamilies.ALL.get((int) (id % FuzzFamilies.ALL.size())).name()));
        }
        System.out.println("FuzzTest: seed " + seed + " (-Dstride.fuzz.seed=" + seed + "), " + ids.size()
                + " configurations, " + batch + " per child JVM, " + jobs + " at once");
        long t0 = System.nanoTime();

        Map<Long, Outcome> outcomes = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(jobs);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += batch) {
            List<Long> part = ids.subList(i, Math.min(ids.size(), i + batch));
            futures.add(pool.submit(() -> {
                runBatch(seed, part, outcomes);
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - t0) / 1e9;

        Map<String, long[]> perFamily = new LinkedHashMap<>(); // tried, valid, invalid, passed, micros
        for (FuzzFamilies.Family f : FuzzFamilies.ALL) perFamily.put(f.name(), new long[5]);
        Map<String, List<String>> failures = new TreeMap<>();
        for (long id : ids) {
            FuzzCase c = FuzzFamilies.generate(seed, id);
            Outcome o = outcomes.getOrDefault(id, new Outcome("CRASH", "no outcome reported (the child died before it)"));
            long[] row = perFamily.get(c.family);
            row[4] += o.micros;
            row[0]++;
            row[c.valid() ? 1 : 2]++;
            if (o.kind.equals("PASS")) {
                row[3]++;
            } else {
                failures.computeIfAbsent(o.kind, k -> new ArrayList<>()).add("[" + o.kind + "] " + c + "\n      -> " + o.detail);
            }
        }

        StringBuilder report = new StringBuilder();
        report.append(String.format("%-13s %7s %7s %7s %7s %9s%n", "family", "tried", "valid", "invalid", "passed", "child s"));
        long[] total = new long[5];
        perFamily.forEach((name, row) -> {
            report.append(String.format("%-13s %7d %7d %7d %7d %9.1f%n", name, row[0], row[1], row[2], row[3], row[4] / 1e6));
            for (int i = 0; i < 5; i++) total[i] += row[i];
        });
        report.append(String.format("%-13s %7d %7d %7d %7d %9.1f   (seed %d, %.1f s wall)%n", "total", total[0], total[1],
                total[2], total[3], total[4] / 1e6, seed, seconds));
        StringBuilder counts = new StringBuilder();
        failures.forEach((k, v) -> counts.append(" ").append(k).append("=").append(v.size()));
        if (!failures.isEmpty()) report.append("failures:").append(counts).append('\n');
        report.append(String.format("child JVMs: %d, %.1f s on average from start to the first configuration%n",
                Child.started.sum(), Child.startupNanos.sum() / 1e9 / Math.max(1, Child.started.sum())));
        report.append("slowest:");
        ids.stream().filter(outcomes::containsKey).sorted((a, b) -> Long.compare(outcomes.get(b).micros, outcomes.get(a).micros))
                .limit(8).forEach(id -> report.append(String.format(" #%d %s %.0f ms;", id,
                        FuzzFamilies.ALL.get((int) (id % FuzzFamilies.ALL.size())).name(), outcomes.get(id).micros / 1e3)));
        report.append('\n');
        StringBuilder all = new StringBuilder(report);
        for (String kind : FAILURES) {
            for (String line : failures.getOrDefault(kind, List.of())) all.append(line).append('\n');
        }
        Path file = Path.of("target", "fuzz-report.txt");
        Files.createDirectories(file.getParent());
        Files.writeString(file, all);
        System.out.println(all);
        if (!failures.isEmpty()) {
            fail((total[0] - total[3]) + " of " + total[0] + " fuzz configurations failed (" + counts.toString().trim()
                    + "), seed " + seed + "; every one is listed above and in " + file.toAbsolutePath()
                    + "; replay one with -Dstride.fuzz.seed=" + seed + " -Dstride.fuzz.ids=ID");
        }
    }

    /** The ids to run: {@code 0 .. configs-1}, or the replay list. */
    static List<Long> ids(String replay, int configs) {
        List<Long> ids = new ArrayList<>();
        if (replay == null || replay.isBlank()) {
            for (long i = 0; i < configs; i++) ids.add(i);
            return ids;
        }
        for (String part : replay.split(",")) {
            String[] ab = part.trim().split("-");
            long from = Long.parseLong(ab[0]);
            long to = ab.length == 1 ? from : Long.parseLong(ab[1]);
            for (long i = from; i <= to; i++) ids.add(i);
        }
        return ids;
    }

    /** Runs {@code ids} in child JVMs, starting a new child after the configuration that killed the last one. */
    static void runBatch(long seed, List<Long> ids, Map<Long, Outcome> outcomes) throws IOException, InterruptedException {
        int next = 0;
        while (next < ids.size()) {
            List<Long> rest = new ArrayList<>();
            for (long id : ids.subList(next, ids.size())) {
                String cls = crashClass(FuzzFamilies.generate(seed, id));
                if (KILLS.getOrDefault(cls, 0) >= KILLS_PER_CLASS) {
                    outcomes.put(id, new Outcome("SKIPPED", "not run: " + cls + " already killed " + KILLS_PER_CLASS
                            + " child JVMs (see the CRASH/HANG entries)"));
                } else {
                    rest.add(id);
                }
            }
            if (rest.isEmpty()) {
                return;
            }
            Child child = Child.start(seed, rest);
            child.readAll(outcomes);
            int code = child.process.waitFor();
            if (child.done && code == 0) {
                return;
            }
            long culprit;
            String detail;
            if (child.running >= 0) {
                culprit = child.running;
                detail = (child.hung ? "no progress for " + Child.HANG_SECONDS + " s, killed" : "child JVM died, exit code " + code)
                        + "; its last output: " + String.join(" | ", child.tail);
                outcomes.put(culprit, new Outcome(child.hung ? "HANG" : "CRASH", detail));
                KILLS.merge(crashClass(FuzzFamilies.generate(seed, culprit)), 1, Integer::sum);
            } else if (child.lastEnded >= 0) {
                culprit = child.lastEnded;
                if (!"POISONED".equals(outcomes.get(culprit).kind)) {
                    outcomes.put(culprit, new Outcome("CRASH", "child JVM died after this configuration (exit code " + code
                            + "); its last output: " + String.join(" | ", child.tail)));
                }
            } else {
                throw new IllegalStateException("fuzz child JVM failed before running anything (exit code " + code + "): "
                        + String.join("\n", child.tail));
            }
            next = ids.indexOf(culprit) + 1;
        }
    }

    /**
     * After this many crashes or hangs of one class (family and mutated parameter) its remaining configurations
     * are reported as SKIPPED, failures too, instead of run: a known crash must not cost minutes of restarts.
     */
    static final int KILLS_PER_CLASS = 3;

    static final Map<String, Integer> KILLS = new ConcurrentHashMap<>();

    static String crashClass(FuzzCase c) {
        return c.family + (c.valid() ? " valid" : " " + c.mutated);
    }

    /** One child JVM and what it has said so far. */
    static final class Child {
        /** Every configuration is small: one that runs this long without a word is hung. */
        static final int HANG_SECONDS = 10;

        static final java.util.concurrent.atomic.LongAdder started = new java.util.concurrent.atomic.LongAdder();
        static final java.util.concurrent.atomic.LongAdder startupNanos = new java.util.concurrent.atomic.LongAdder();

        final Process process;
        final long startNanos = System.nanoTime();
        boolean firstSeen;
        final Deque<String> tail = new ArrayDeque<>();
        volatile long lastOutput = System.nanoTime();
        long running = -1;
        long lastEnded = -1;
        boolean done;
        volatile boolean hung;

        private Child(Process process) {
            this.process = process;
        }

        static Child start(long seed, List<Long> ids) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", "ulimit -v 6291456 && exec \"$@\"", "sh", java,
                    "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Xss4m", "-Xmx512m",
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CompressedClassSpaceSize=128m",
                    "-XX:ReservedCodeCacheSize=64m", "-XX:-CreateCoredumpOnCrash", "-XX:ErrorLogTimeout=5",
                    "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + File.separator + "stride-fuzz-hs_err_%p.log"));
            String buildDir = System.getProperty("stride.dnnl.buildDir");
            if (buildDir != null) cmd.add("-Dstride.dnnl.buildDir=" + buildDir);
            cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
            cmd.addAll(List.of("-cp", cp, FuzzChild.class.getName(), Long.toString(seed), ranges(ids)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("OMP_NUM_THREADS", "1");
            pb.environment().put("MALLOC_ARENA_MAX", "2");
            return new Child(pb.start());
        }

        /** {@code 3-7,9}: the ids as ranges, to keep the command line short. */
        static String ranges(List<Long> ids) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < ids.size(); ) {
                int j = i;
                while (j + 1 < ids.size() && ids.get(j + 1) == ids.get(j) + 1) j++;
                if (sb.length() > 0) sb.append(',');
                sb.append(ids.get(i));
                if (j > i) sb.append('-').append(ids.get(j));
                i = j + 1;
            }
            return sb.toString();
        }

        void readAll(Map<Long, Outcome> outcomes) throws IOException {
            Thread watchdog = Thread.ofVirtual().start(() -> {
                while (process.isAlive()) {
                    if (System.nanoTime() - lastOutput > TimeUnit.SECONDS.toNanos(HANG_SECONDS)) {
                        hung = true;
                        process.destroyForcibly();
                        return;
                    }
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lastOutput = System.nanoTime();
                    if (!line.startsWith(FuzzChild.PREFIX)) {
                        if (!line.isBlank() && !line.contains("Using incubator modules")) {
                            tail.addLast(line.length() > 300 ? line.substring(0, 300) : line);
                            if (tail.size() > 12) tail.removeFirst();
                        }
                        continue;
                    }
                    String[] f = line.substring(FuzzChild.PREFIX.length()).split(" ", 5);
                    switch (f[0]) {
                        case "S" -> {
                            running = Long.parseLong(f[1]);
                            if (!firstSeen) {
                                firstSeen = true;
                                started.increment();
                                startupNanos.add(System.nanoTime() - startNanos);
                            }
                        }
                        case "E" -> {
                            long id = Long.parseLong(f[1]);
                            outcomes.put(id, new Outcome(f[2], f.length > 4 ? f[4] : "", Long.parseLong(f[3])));
                            lastEnded = id;
                            running = -1;
                            tail.clear();
                        }
                        case "P" -> {
                            long id = Long.parseLong(f[1]);
                            String detail = line.substring(line.indexOf(f[1]) + f[1].length()).trim();
                            Outcome before = outcomes.get(id);
                            outcomes.put(id, new Outcome("POISONED", "after " + (before == null ? "?" : before.kind + " "
                                    + before.detail) + ", the process is poisoned: " + detail));
                        }
                        case "DONE" -> done = true;
                        default -> tail.addLast(line);
                    }
                }
            } finally {
                watchdog.interrupt();
            }
        }
    }
}
