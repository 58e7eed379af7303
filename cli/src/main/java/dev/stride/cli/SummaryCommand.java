package dev.stride.cli;

import dev.stride.conv.Convolution;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code stride summary}: the layer table of a built-in model, with the seed's sizing hints. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print a model's layers: output shapes, parameters, receptive fields, FLOPs and sizing hints.")
final class SummaryCommand implements Callable<Integer> {

    enum Model { reference, resnet, densenet }

    @Option(names = "--model", description = "reference (TensorFlow's Fashion-MNIST convnet), resnet or densenet "
            + "(default: ${DEFAULT-VALUE})", defaultValue = "reference")
    Model model;

    @Option(names = "--markdown", description = "Print the table as Markdown.")
    boolean markdown;

    static NetworkSpec build(Model model) {
        return switch (model) {
            case reference -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                    .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                    .flatten().fc(1024).relu().fc(10).build();
            case resnet -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(32, 3).padding(1).bias(false)).batchNorm().relu()
                    .residualBlock(32, 1).residualBlock(64, 2).residualBlock(128, 2)
                    .globalAvgPool().flatten().fc(10).build();
            case densenet -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(24, 3).padding(1).bias(false))
                    .denseBlock(4, 12, true).transition(0.5).denseBlock(4, 12, true).transition(0.5)
                    .batchNorm().relu().globalAvgPool().flatten().fc(10).build();
        };
    }

    @Override
    public Integer call() {
        NetworkSpec net = build(model);
        System.out.print(markdown ? net.summary().toMarkdown() + "\n" : net.summary().toString());
        return 0;
    }
}
