package dev.stride.cli;

import dev.stride.core.Dnnl;
import dev.stride.ops.FloatLoops;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code stride info}: what oneDNN is loaded, how it runs and from where. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print the oneDNN version, effective CPU ISA, thread count and library location, and how the custom ops' Java loops run.")
final class InfoCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        Dnnl.init();
        Dnnl.Info info = Dnnl.info();
        System.out.println("oneDNN version : " + info.version() + " (" + info.commitHash() + ")");
        System.out.println("CPU runtime    : " + info.cpuRuntime());
        System.out.println("effective ISA  : " + info.effectiveIsa().label());
        System.out.println("threads        : " + info.threads());
        System.out.println("library        : " + info.libraryPath() + " (" + info.librarySource() + ")");
        System.out.println("java           : " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
        System.out.println("custom ops     : " + FloatLoops.describe());
        return 0;
    }
}
