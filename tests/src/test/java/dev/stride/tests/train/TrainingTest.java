package dev.stride.tests.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.data.BatchLoader;
import dev.stride.data.FashionMnist;
import dev.stride.data.LabeledImages;
import dev.stride.io.Npy;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.testing.Check;
import dev.stride.train.Adam;
import dev.stride.train.Checkpoint;
import dev.stride.train.Optimizer;
import dev.stride.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real training on Fashion-MNIST, checkpoints, resume, and PyTorch-trained weights. */
class TrainingTest {

    static FashionMnist data;

    @BeforeAll
    static void load() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        data = FashionMnist.load();
    }

    static NetworkSpec small() {
        return NetworkBuilder.input(1, 28, 28).conv(8, 3).relu().maxPool(2, 2).conv(16, 3).relu().maxPool(2, 2)
                .flatten().fc(10).build();
    }

    record Run(List<Trainer.EpochStats> history, Trainer.Evaluation eval) {}

    static Run train(Network net, LabeledImages trainSet, LabeledImages testSet, int epochs, Path dir, Path resume)
            throws IOException {
        try (Scope scope = Scope.open("run")) {
            BatchLoader train = BatchLoader.create(scope, trainSet, BatchLoader.Options.training(32, 3));
            BatchLoader test = BatchLoader.create(scope, testSet, BatchLoader.Options.evaluation(100));
            Optimizer opt = Adam.builder().lr(2e-3).build(scope, net.parameters());
            try (Trainer t = new Trainer(net, opt, train, test, new Trainer.Config(epochs, null, 0, dir, Map.of("model", "small"), null),
                    null)) {
                if (resume != null) {
                    t.resume(resume);
                }
                List<Trainer.EpochStats> h = t.fit();
                return new Run(h, t.evaluate());
            }
        }
    }

    @Test
    void aShortRealRunLearnsAndCheckpointsRoundTrip(@TempDir Path dir) throws IOException {
        try (Scope check = Scope.leakChecked("train"); Network net = Network.create(small(), 1)) {
            // 2 epochs x 150 steps of batch 32 on 4,800 real images.
            Run run = train(net, data.train().subset(0, 4800), data.test().subset(0, 2000), 2, dir, null);
            Trainer.EpochStats first = run.history().get(0);
            Trainer.EpochStats last = run.history().get(1);
            assertTrue(last.trainLoss() < first.trainLoss(), "loss falls: " + run.history());
            assertTrue(first.trainLoss() < Math.log(10), "the first epoch already beats a uniform guess: " + first);
            assertTrue(run.eval().accuracy() > 0.70, "test accuracy far above chance (10%): " + run.eval().accuracy());
            assertEquals(2000, run.eval().confusion().total());

            // The last checkpoint holds exactly the network's tensors.
            try (Network again = Network.create(small(), 99)) {
                Checkpoint.load(dir.resolve("last.safetensors"), again, null);
                for (Map.Entry<String, Tensor> e : net.tensors().entrySet()) {
                    assertArrayEquals(e.getValue().toFloatArray(), again.tensor(e.getKey()).toFloatArray(), e.getKey());
                }
            }
        }
    }

    @Test
    void aCorruptedOrTruncatedCheckpointIsRefusedAndTheNetworkUntouched(@TempDir Path dir) throws IOException {
        try (Scope check = Scope.leakChecked("corrupt"); Network net = Network.create(small(), 1)) {
            Path file = dir.resolve("c.safetensors");
            Checkpoint.save(file, net, null, Map.of());
            byte[] good = Files.readAllBytes(file);
            byte[] flipped = good.clone();
            flipped[flipped.length - 3] ^= 0x40;
            Path bad = dir.resolve("flipped.safetensors");
            Files.write(bad, flipped);
            Path cut = dir.resolve("cut.safetensors");
            Files.write(cut, java.util.Arrays.copyOf(good, good.length - 100));
            try (Network other = Network.create(small(), 2)) {
                float[] before = other.tensor("fc1.weight").toFloatArray();
                assertThrows(IOException.class, () -> Checkpoint.load(bad, other, null));
                assertThrows(IOException.class, () -> Checkpoint.load(cut, other, null));
                assertArrayEquals(before, other.tensor("fc1.weight").toFloatArray(), "untouched after a refused load");
            }
            assertArrayEquals(good, Files.readAllBytes(file), "the good checkpoint is intact");
        }
    }

    @Test
    void resumingContinuesWhereTheRunStopped(@TempDir Path dir) throws IOException {
        LabeledImages trainSet = data.train().subset(0, 640);
        LabeledImages testSet = data.test().subset(0, 200);
        float[] straight;
        try (Network net = Network.create(small(), 5)) {
            train(net, trainSet, testSet, 2, dir.resolve("a"), null);
            straight = net.tensor("fc1.weight").toFloatArray();
        }
        try (Network net = Network.create(small(), 5)) {
            train(net, trainSet, testSet, 1, dir.resolve("b"), null);
        }
        try (Network net = Network.create(small(), 77)) {
            Run r = train(net, trainSet, testSet, 2, dir.resolve("c"), dir.resolve("b").resolve("last.safetensors"));
            assertEquals(1, r.history().size(), "only the second epoch runs");
            Check.close("resumed vs uninterrupted", net.tensor("fc1.weight").dims(), straight,
                    net.tensor("fc1.weight").toFloatArray(), 1e-6, 1e-5);
        }
    }

    /** Weights trained by PyTorch (tests/golden/pretrained.py) give PyTorch's logits, BN folded and not. */
    @Test
    void pytorchTrainedWeightsGivePytorchLogits() throws Exception {
        Path dir = Path.of(getClass().getResource("/golden/pretrained/state.safetensors").toURI()).getParent();
        NetworkSpec spec = NetworkBuilder.input(1, 16, 16).conv(8, 5).relu().maxPool(2, 2)
                .conv(Convolution.Params.of(16, 3).padding(1).bias(false)).batchNorm().relu().maxPool(2, 2)
                .flatten().fc(32).relu().fc(10).build();
        Npy.Floats x = Npy.readFloats(dir.resolve("input.npy"));
        Npy.Floats want = Npy.readFloats(dir.resolve("logits.npy"));
        try (Scope check = Scope.leakChecked("pretrained"); Network net = Network.create(spec, 3)) {
            Checkpoint.LoadReport report = Checkpoint.loadWeights(dir.resolve("state.safetensors"), net, n -> true);
            assertEquals(List.of(), report.notInFile());
            for (Plan plan : List.of(net.plan(4, Mode.INFERENCE),
                    net.plan(4, Mode.INFERENCE, dev.stride.nn.PlanOptions.unoptimised()))) {
                plan.input().copyFrom(x.data());
                Check.close("logits " + plan.options(), want.shape(), want.data(), plan.forward().toFloatArray(), 1e-4, 1e-4);
            }
        }
    }

    /** Fine-tuning: PyTorch weights in, early layers frozen, a new 5-class head trained. */
    @Test
    void fineTuneLoadsByNameFreezesAndReplacesTheHead() throws Exception {
        Path file = Path.of(getClass().getResource("/golden/pretrained/state.safetensors").toURI());
        NetworkSpec spec = NetworkBuilder.input(1, 16, 16).conv(8, 5).relu().maxPool(2, 2)
                .conv(Convolution.Params.of(16, 3).padding(1).bias(false)).batchNorm().relu().maxPool(2, 2)
                .flatten().fc(32).relu().fc(5).build();
        try (Scope check = Scope.leakChecked("finetune"); Scope scope = Scope.open("ft");
                Network net = Network.create(spec, 3)) {
            assertThrows(IOException.class, () -> Checkpoint.loadWeights(file, net, n -> true),
                    "the old 10-class head does not fit the new one");
            Checkpoint.LoadReport r = Checkpoint.loadWeights(file, net, n -> !n.startsWith("fc2."));
            assertEquals(List.of("fc2.weight", "fc2.bias"), r.skipped());
            net.setFrozen(true, "conv1", "conv2", "batchnorm1");
            List<String> trained = net.parameters().stream().map(dev.stride.train.Parameter::name).toList();
            assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"), trained);
            float[] conv = net.tensor("conv1.weight").toFloatArray();
            float[] head = net.tensor("fc2.weight").toFloatArray();
            Plan plan = net.plan(4, Mode.TRAINING);
            Optimizer sgd = dev.stride.train.Sgd.builder(0.1).build(scope, net.parameters());
            plan.input().copyFrom(Check.random(new java.util.SplittableRandom(2), 4 * 16 * 16));
            plan.forward();
            plan.outputGradient().copyFrom(Check.random(new java.util.SplittableRandom(3), 4 * 5));
            plan.backward();
            sgd.step();
            assertArrayEquals(conv, net.tensor("conv1.weight").toFloatArray(), "frozen layer unchanged");
            assertTrue(!java.util.Arrays.equals(head, net.tensor("fc2.weight").toFloatArray()), "new head trained");
        }
    }
}
