package dev.stride.examples;

import dev.stride.core.Scope;
import dev.stride.data.BatchLoader;
import dev.stride.data.FashionMnist;
import dev.stride.data.LabeledImages;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.train.Adam;
import dev.stride.train.LrSchedule;
import dev.stride.train.Optimizer;
import dev.stride.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * README, "Training in a dozen lines": TensorFlow's reference convnet on Fashion-MNIST, Adam with a cosine
 * schedule. {@link #main} is the real run (4 epochs on all 60,000 images); the test calls {@link #train} on a
 * few hundred images for one epoch.
 */
public final class TrainInADozenLines {

    private TrainInADozenLines() {}

    // @start region=train
    public static void main(String[] args) throws IOException {
        FashionMnist data = FashionMnist.load();
        train(data.train(), data.test(), 4, Path.of("runs/mine"));
    }

    static Trainer.Evaluation train(LabeledImages trainSet, LabeledImages testSet, int epochs, Path out)
            throws IOException {
        NetworkSpec spec = NetworkBuilder.input(1, 28, 28)
                .conv(32, 5).relu().maxPool(2, 2).conv(64, 5).relu().maxPool(2, 2)
                .flatten().fc(1024).relu().fc(10).build();
        try (Scope scope = Scope.open("train"); Network net = Network.create(spec, 42)) {
            var train = BatchLoader.create(scope, trainSet, BatchLoader.Options.training(64, 42));
            var test = BatchLoader.create(scope, testSet, BatchLoader.Options.evaluation(256));
            Optimizer adam = Adam.builder().lr(1e-3).build(scope, net.parameters());
            var schedule = LrSchedule.cosine(1e-3, (long) epochs * train.batchesPerEpoch(), 0);
            var config = new Trainer.Config(epochs, schedule, 0, out, Map.of(), FashionMnist.CLASSES);
            try (Trainer trainer = new Trainer(net, adam, train, test, config, null)) {
                trainer.fit();
                Trainer.Evaluation result = trainer.evaluate();
                System.out.println(result.confusion());
                return result;
            }
        }
    }
    // @end
}
