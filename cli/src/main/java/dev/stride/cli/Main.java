package dev.stride.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code stride} command line. */
@Command(name = "stride", mixinStandardHelpOptions = true, version = "Stride 0.1.0",
        description = "Convolutional networks on the CPU with oneDNN, from Java.",
        subcommands = {TrainCommand.class, EvalCommand.class, SummaryCommand.class, BenchCommand.class, InfoCommand.class, ConvCheckCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println(cmd.getColorScheme().errorText("error: " + ex.getMessage()));
            return 1;
        });
        return cl.execute(args);
    }
}
