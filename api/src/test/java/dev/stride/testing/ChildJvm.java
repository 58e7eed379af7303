package dev.stride.testing;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} class of the test class path in a fresh JVM with this JVM's flags (native access, the
 * Vector API module, the oneDNN location Surefire passes), for tests of what could crash the JVM (a crash in
 * Surefire's own fork would fail the whole module with no word of the case) or of process-wide state (oneDNN is
 * loaded once per JVM).
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** What the child did: its exit status ({@code -1} when it was killed on time-out) and everything it printed. */
    public record Result(int exitCode, String output) {
        /** True when the JVM died of a signal or a fatal error instead of exiting. */
        public boolean crashed() {
            return exitCode > 128 || output.contains("A fatal error has been detected by the Java Runtime");
        }

        /** True when the child ran past its time and was killed. */
        public boolean timedOut() {
            return exitCode == -1;
        }

        /** The last {@code n} lines of the output: where a crashing child stopped. */
        public String tail(int n) {
            List<String> lines = output.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
    }

    /** Runs {@code main.main(args)} in a child JVM, waiting at most {@code timeoutSeconds}. */
    public static Result run(Class<?> main, long timeoutSeconds, String... args) {
        return run(main, timeoutSeconds, List.of(), args);
    }

    /**
     * Runs {@code main.main(args)} in a child JVM with {@code jvmOptions} added after this JVM's own (e.g.
     * {@code -Dstride.dnnl.path=...}), waiting at most {@code timeoutSeconds}.
     */
    public static Result run(Class<?> main, long timeoutSeconds, List<String> jvmOptions, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // Agents (coverage, debuggers) would fight over their files and ports with the parent's.
            if (!a.startsWith("-javaagent") && !a.startsWith("-agentlib") && !a.startsWith("-Xrunjdwp")) {
                cmd.add(a);
            }
        }
        cmd.add("-XX:-CreateCoredumpOnCrash");
        // The crash report goes to the temp dir, not into the module's working directory.
        cmd.add("-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "stride-child-hs_err_%p.log"));
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        try {
            Path log = Files.createTempFile("stride-child", ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                int code;
                if (p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    code = p.exitValue();
                } else {
                    p.destroyForcibly().waitFor();
                    code = -1;
                }
                return new Result(code, Files.readString(log, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not start a child JVM: " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for a child JVM", e);
        }
    }
}
