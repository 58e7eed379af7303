package dev.stride.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --help} of every command and subcommand, each in a child JVM: picocli's warnings (a description it
 * cannot format, say) go to the {@code System.err} of the moment picocli was loaded, which a test in this JVM
 * cannot capture reliably.
 */
class HelpTest {

    @Test
    void everyCommandPrintsItsUsageAndNothingElse() throws Exception {
        List<List<String>> commands = new ArrayList<>();
        collect(new CommandLine(new Main()), new ArrayList<>(), commands);
        assertTrue(commands.size() >= 8, "stride and its subcommands: " + commands);
        for (List<String> path : commands) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            Result r = runMain(args);
            String what = "stride " + String.join(" ", args);
            assertEquals(0, r.code(), what + ": " + r.out() + r.err());
            assertTrue(r.out().contains("Usage: stride" + (path.isEmpty() ? "" : " " + String.join(" ", path))),
                    what + " prints its usage: " + r.out());
            assertFalse(r.out().contains("WARN"), what + ": " + r.out());
            assertEquals("", r.err(), what + " writes nothing to stderr");
        }
    }

    /** The argument paths of {@code cl} and of every subcommand below it. */
    private static void collect(CommandLine cl, List<String> path, List<List<String>> into) {
        into.add(List.copyOf(path));
        for (var sub : cl.getSubcommands().entrySet()) {
            if (!sub.getKey().equals(sub.getValue().getCommandName())) {
                continue; // an alias of a command listed under its name
            }
            List<String> p = new ArrayList<>(path);
            p.add(sub.getKey());
            collect(sub.getValue(), p, into);
        }
    }

    private record Result(int code, String out, String err) {}

    private static Result runMain(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        // Help is short: reading one stream to the end, then the other, cannot fill a pipe and block.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stride " + args + " did not finish");
        return new Result(p.exitValue(), out, err);
    }
}
