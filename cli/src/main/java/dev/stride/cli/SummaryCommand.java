package dev.stride.cli;

import dev.stride.nn.NetworkSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code stride summary}: the layer table of a built-in model, with the seed's sizing hints. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print a model's layers: output shapes, parameters, receptive fields, FLOPs and sizing hints.")
final class SummaryCommand implements Callable<Integer> {

    @Option(names = "--model", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})",
            defaultValue = "reference")
    Zoo.Model model;

    @Option(names = "--markdown", description = "Print the table as Markdown.")
    boolean markdown;

    @Override
    public Integer call() {
        NetworkSpec net = Zoo.build(model);
        System.out.print(markdown ? net.summary().toMarkdown() + "\n" : net.summary().toString());
        return 0;
    }
}
