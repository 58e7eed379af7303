package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.data.BatchLoader;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.Plan;
import dev.stride.softmax.SoftmaxCrossEntropy;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a network with softmax cross-entropy: epochs over a training loader, an evaluation on the test loader
 * after each, the last and the best checkpoint kept, and a resume from a checkpoint. Two plans run over the
 * network's tensors: a training plan for the batch size and an inference plan (BN folded, fused) for
 * evaluation. A step (copy a batch in, forward, loss, backward, clip, optimizer) allocates nothing.
 *
 * <pre>{@code
 * try (Network net = Network.create(Models.tfReference(), 1);
 *      Trainer t = new Trainer(net, optimizer, train, test, config, listener)) {
 *     List<Trainer.EpochStats> history = t.fit();
 * }
 * }</pre>
 *
 * <p>Not thread-safe: run it from one thread; it owns the training plans of its network while it trains.
 */
public final class Trainer implements AutoCloseable {

    /**
     * @param epochs        how many epochs {@link #fit} runs in all (a resumed run continues up to it)
     * @param schedule      the learning rate per step (null: the optimizer's rate throughout)
     * @param clipNorm      clip gradients to this global L2 norm; 0 for no clipping
     * @param checkpointDir where {@code last.safetensors} and {@code best.safetensors} go; null for none
     * @param metadata      strings stored in every checkpoint (model name, configuration)
     * @param classNames    names of the classes for the confusion matrix; null for numbers
     */
    public record Config(int epochs, LrSchedule schedule, double clipNorm, Path checkpointDir,
            Map<String, String> metadata, List<String> classNames) {
        public Config {
            if (epochs < 1) {
                throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            }
            if (!(clipNorm >= 0)) {
                throw new IllegalArgumentException("clipNorm must be >= 0 (0 = off), got " + clipNorm);
            }
            metadata = Map.copyOf(metadata);
            classNames = classNames == null ? null : List.copyOf(classNames);
        }
    }

    /** One epoch's figures. */
    public record EpochStats(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
            double seconds, double learningRate) {}

    /** Loss, accuracy and confusion matrix over a whole data set. */
    public record Evaluation(double loss, double accuracy, ConfusionMatrix confusion) {}

    /** Progress callbacks (a progress bar, a log); every method has an empty default. */
    public interface Listener {
        default void epochStarted(int epoch, int batches) {}

        default void batchFinished(int epoch, int batch, double loss, double accuracy) {}

        default void evaluating(int epoch) {}

        default void epochFinished(EpochStats stats, boolean best) {}
    }

    private final Network net;
    private final Optimizer optimizer;
    private final BatchLoader train;
    private final BatchLoader test;
    private final Config config;
    private final Listener listener;
    private final Scope scope = Scope.open("trainer");
    private final Plan trainPlan;
    private final Plan evalPlan;
    private final Stream stream;
    private final SoftmaxCrossEntropy loss;
    private final int[] predictions;
    private final int[] evalPredictions;
    private final int classes;
    private final List<EpochStats> history = new ArrayList<>();
    private int nextEpoch;
    private double bestAccuracy = -1;

    public Trainer(Network net, Optimizer optimizer, BatchLoader train, BatchLoader test, Config config,
            Listener listener) {
        this.net = net;
        this.optimizer = optimizer;
        this.train = train;
        this.test = test;
        this.config = config;
        this.listener = listener == null ? new Listener() {} : listener;
        int batch = (int) train.batchDims()[0];
        if (!train.options().dropLast()) {
            throw new IllegalArgumentException("the training loader must drop the last partial batch (a training plan has "
                    + "one batch size); use Options.withDropLast(true)");
        }
        try {
            this.trainPlan = net.plan(batch, Mode.TRAINING);
            this.evalPlan = net.plan((int) test.batchDims()[0], Mode.INFERENCE);
            long[] out = trainPlan.output().dims();
            if (out.length != 2) {
                throw new IllegalArgumentException("training with cross-entropy needs N x classes logits; the network "
                        + "outputs " + java.util.Arrays.toString(out));
            }
            this.classes = (int) out[1];
            this.stream = Stream.create(scope);
            this.loss = SoftmaxCrossEntropy.create(scope, "loss", out);
            this.predictions = new int[batch];
            this.evalPredictions = new int[(int) test.batchDims()[0]];
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Restores weights, optimizer state and the epoch count from {@code checkpoint}; {@link #fit} continues. */
    public void resume(Path checkpoint) throws IOException {
        Map<String, String> meta = Checkpoint.load(checkpoint, net, optimizer);
        nextEpoch = Integer.parseInt(meta.getOrDefault("epoch", "-1")) + 1;
        bestAccuracy = Double.parseDouble(meta.getOrDefault("best_test_accuracy", "-1"));
    }

    /** Runs the remaining epochs; returns every epoch's figures (this run's). */
    public List<EpochStats> fit() throws IOException {
        int batches = train.batchesPerEpoch();
        for (int epoch = nextEpoch; epoch < config.epochs(); epoch++) {
            long t0 = System.nanoTime();
            listener.epochStarted(epoch, batches);
            train.startEpoch(epoch);
            RunningMean epochLoss = new RunningMean();
            Accuracy epochAccuracy = new Accuracy();
            Accuracy batchAccuracy = new Accuracy();
            double lr = optimizer.learningRate();
            for (int b = 0; b < batches; b++) {
                BatchLoader.Batch batch = train.next();
                if (config.schedule() != null) {
                    lr = config.schedule().lr(epoch, b, batches);
                    optimizer.setLearningRate(lr);
                }
                double l = step(batch);
                batchAccuracy.reset();
                batchAccuracy.add(batch.labels(), predictions, batch.count());
                epochAccuracy.add(batchAccuracy.correct(), batchAccuracy.total());
                epochLoss.add(l, batch.count());
                listener.batchFinished(epoch, b, l, batchAccuracy.value());
            }
            listener.evaluating(epoch);
            Evaluation ev = evaluate();
            double seconds = (System.nanoTime() - t0) / 1e9;
            EpochStats stats = new EpochStats(epoch, epochLoss.mean(), epochAccuracy.value(), ev.loss(), ev.accuracy(),
                    seconds, lr);
            history.add(stats);
            boolean best = ev.accuracy() > bestAccuracy;
            if (best) {
                bestAccuracy = ev.accuracy();
            }
            save(epoch, stats, best);
            listener.epochFinished(stats, best);
            nextEpoch = epoch + 1;
        }
        return List.copyOf(history);
    }

    /** One optimizer step on {@code batch}; returns its mean loss and leaves its predictions in {@link #predictions}. */
    private double step(BatchLoader.Batch batch) {
        MemorySegment.copy(batch.segment(), 0, trainPlan.input().segment(), 0, trainPlan.input().segment().byteSize());
        trainPlan.forward();
        double l = loss.forward(stream, trainPlan.output(), batch.labels());
        Metrics.argmax(trainPlan.output(), predictions);
        loss.backward(stream, trainPlan.outputGradient());
        trainPlan.backward();
        if (config.clipNorm() > 0) {
            GradClip.byNorm(optimizer.parameters(), config.clipNorm());
        }
        optimizer.step();
        return l;
    }

    /** Loss, accuracy and confusion matrix of the current weights on the test loader (inference plan). */
    public Evaluation evaluate() {
        ConfusionMatrix cm = config.classNames() != null && config.classNames().size() == classes
                ? new ConfusionMatrix(config.classNames()) : ConfusionMatrix.ofSize(classes);
        test.startEpoch(0);
        RunningMean meanLoss = new RunningMean();
        MemorySegment input = evalPlan.input().segment();
        while (test.hasNext()) {
            BatchLoader.Batch batch = test.next();
            MemorySegment.copy(batch.segment(), 0, input, 0, input.byteSize());
            evalPlan.forward();
            MemorySegment logits = evalPlan.output().segment();
            Metrics.argmax(evalPlan.output(), evalPredictions);
            int[] labels = batch.labels();
            for (int i = 0; i < batch.count(); i++) {
                meanLoss.add(crossEntropy(logits, i, labels[i]));
            }
            cm.add(labels, evalPredictions, batch.count());
        }
        return new Evaluation(meanLoss.mean(), cm.accuracy(), cm);
    }

    /** {@code logsumexp(row) - row[label]}, in double, for one row of plain logits. */
    private double crossEntropy(MemorySegment logits, int row, int label) {
        long base = (long) row * classes;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < classes; k++) {
            max = Math.max(max, logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + k));
        }
        double sum = 0;
        for (int k = 0; k < classes; k++) {
            sum += Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + k) - max);
        }
        return max + Math.log(sum) - logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + label);
    }

    private void save(int epoch, EpochStats stats, boolean best) throws IOException {
        Path dir = config.checkpointDir();
        if (dir == null) {
            return;
        }
        Files.createDirectories(dir);
        Map<String, String> meta = new LinkedHashMap<>(config.metadata());
        meta.put("epoch", Integer.toString(epoch));
        meta.put("test_accuracy", Double.toString(stats.testAccuracy()));
        meta.put("best_test_accuracy", Double.toString(bestAccuracy));
        Checkpoint.save(lastCheckpoint(), net, optimizer, meta);
        if (best) {
            Checkpoint.save(bestCheckpoint(), net, null, meta);
        }
    }

    /** Where the checkpoint of the last finished epoch is (weights and optimizer state). */
    public Path lastCheckpoint() {
        return config.checkpointDir() == null ? null : config.checkpointDir().resolve("last.safetensors");
    }

    /** Where the weights with the best test accuracy so far are. */
    public Path bestCheckpoint() {
        return config.checkpointDir() == null ? null : config.checkpointDir().resolve("best.safetensors");
    }

    public List<EpochStats> history() {
        return List.copyOf(history);
    }

    /** Closes the trainer's plans and loss; the network, optimizer and loaders stay with their owners. */
    @Override
    public void close() {
        if (trainPlan != null) {
            trainPlan.close();
        }
        if (evalPlan != null) {
            evalPlan.close();
        }
        scope.close();
    }
}
