package dev.stride.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} class of the test class path in a fresh JVM, for tests of what could crash the JVM (a
 * crash in Surefire's own fork would fail the whole module) or needs process-wide state of its own (the oneDNN
 * library is loaded once per JVM).
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** What the child did: its exit status and everything it printed (stdout and stderr together). */
    public record Result(int exitCode, String output) {
        /** True when the JVM died of a signal or a fatal error instead of exiting. */
        public boolean crashed() {
            return exitCode > 128 || output.contains("A fatal error has been detected by the Java Runtime");
        }
    }

    /**
     * Runs {@code mainClass} with {@code args} on this JVM's class path, with native access enabled, the
     * oneDNN build copy Surefire names, {@code jvmOptions} (e.g. {@code -Dstride.dnnl.path=...}) and any
     * fatal-error log written under {@code dir}. Waits at most 60 s.
     */
    public static Result run(Path dir, Class<?> mainClass, List<String> jvmOptions, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_%p.log"));
        String buildDir = System.getProperty("stride.dnnl.buildDir");
        if (buildDir != null) {
            cmd.add("-Dstride.dnnl.buildDir=" + buildDir);
        }
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile(dir, "child-", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .directory(dir.toFile()).start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly().waitFor();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (!done) {
            throw new AssertionError("child JVM " + mainClass.getName() + " timed out:\n" + out);
        }
        return new Result(p.exitValue(), out);
    }
}
