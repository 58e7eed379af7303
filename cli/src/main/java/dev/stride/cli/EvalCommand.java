package dev.stride.cli;

import dev.stride.core.Scope;
import dev.stride.data.BatchLoader;
import dev.stride.data.FashionMnist;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.Plan;
import dev.stride.train.Checkpoint;
import dev.stride.train.ConfusionMatrix;
import dev.stride.train.Metrics;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code stride eval}: test accuracy and confusion matrix of a checkpoint. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a checkpoint on the Fashion-MNIST test set: accuracy and confusion matrix.")
final class EvalCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "The checkpoint (.safetensors) written by 'stride train'.")
    Path checkpoint;

    @Option(names = "--model", description = "${COMPLETION-CANDIDATES} (default: the one named in the checkpoint).")
    Zoo.Model model;

    @Option(names = "--data", description = "Fashion-MNIST directory (default: ${DEFAULT-VALUE}).",
            defaultValue = "/usr/share/datasets/fashion-mnist")
    Path data;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).", defaultValue = "256")
    int batch;

    @Override
    public Integer call() throws Exception {
        Zoo.Model m = model != null ? model : Zoo.modelOf(checkpoint);
        FashionMnist fm = FashionMnist.load(data);
        try (Scope scope = Scope.open("eval"); Network net = Network.create(Zoo.build(m), 0)) {
            Checkpoint.load(checkpoint, net, null);
            Plan plan = net.plan(batch, Mode.INFERENCE);
            BatchLoader test = BatchLoader.create(scope, fm.test(), BatchLoader.Options.evaluation(batch));
            ConfusionMatrix cm = new ConfusionMatrix(FashionMnist.CLASSES);
            int[] predicted = new int[batch];
            MemorySegment input = plan.input().segment();
            test.startEpoch(0);
            for (BatchLoader.Batch b; (b = test.next()) != null; ) {
                MemorySegment.copy(b.segment(), 0, input, 0, input.byteSize());
                Metrics.argmax(plan.forward(), predicted);
                cm.add(b.labels(), predicted, b.count());
            }
            System.out.printf(Locale.ROOT, "%s%ntest accuracy %.2f%% (%s, %s)%n", cm, 100 * cm.accuracy(), m, checkpoint);
        }
        return 0;
    }
}
