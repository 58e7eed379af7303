package dev.stride.cli;

import dev.stride.core.Dnnl;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.data.BatchLoader;
import dev.stride.data.FashionMnist;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkSpec;
import dev.stride.train.Adam;
import dev.stride.train.AdamW;
import dev.stride.train.LrSchedule;
import dev.stride.train.Optimizer;
import dev.stride.train.Sgd;
import dev.stride.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code stride train}: trains a model on Fashion-MNIST with a progress bar, curves and checkpoints. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model on Fashion-MNIST; prints per-epoch figures, the test accuracy and the confusion "
                + "matrix; writes the loss/accuracy curves (PNG) and checkpoints (safetensors).")
final class TrainCommand implements Callable<Integer> {

    enum OptimizerChoice { sgd, adam, adamw }

    enum ScheduleChoice { constant, cosine, step }

    @Option(names = "--model", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})",
            defaultValue = "reference")
    Zoo.Model model;

    @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).", defaultValue = "4")
    int epochs;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).", defaultValue = "64")
    int batch;

    @Option(names = "--optimizer", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})",
            defaultValue = "adam")
    OptimizerChoice optimizer;

    @Option(names = "--lr", description = "Learning rate (default: ${DEFAULT-VALUE}).", defaultValue = "0.001")
    double lr;

    @Option(names = "--momentum", description = "SGD momentum, Nesterov (default: ${DEFAULT-VALUE}).",
            defaultValue = "0.9")
    double momentum;

    @Option(names = "--weight-decay", description = "Weight decay (L2 for sgd/adam, decoupled for adamw; default: "
            + "${DEFAULT-VALUE}).", defaultValue = "0")
    double weightDecay;

    @Option(names = "--schedule", description = "Learning-rate schedule: ${COMPLETION-CANDIDATES} (default: "
            + "${DEFAULT-VALUE}); cosine anneals to 0 over the run, step divides by 10 at 50%% and 75%% of it.",
            defaultValue = "cosine")
    ScheduleChoice schedule;

    @Option(names = "--warmup", description = "Linear warm-up epochs before the schedule (default: ${DEFAULT-VALUE}).",
            defaultValue = "0")
    int warmupEpochs;

    @Option(names = "--clip", description = "Clip gradients to this global L2 norm; 0 = off (default: ${DEFAULT-VALUE}).",
            defaultValue = "0")
    double clip;

    @Option(names = "--augment", description = "Random crop (padding 2) and horizontal flip of training images.")
    boolean augment;

    @Option(names = "--threads", description = "oneDNN threads (default: all cores).")
    Integer threads;

    @Option(names = "--seed", description = "Seed for initialisation and shuffling (default: ${DEFAULT-VALUE}).",
            defaultValue = "1")
    long seed;

    @Option(names = "--data", description = "Fashion-MNIST directory (default: ${DEFAULT-VALUE}).",
            defaultValue = "/usr/share/datasets/fashion-mnist")
    Path data;

    @Option(names = "--out", description = "Where checkpoints and the curves go (default: runs/<model>).")
    Path out;

    @Option(names = "--resume", description = "Continue from this checkpoint (a last.safetensors).")
    Path resume;

    @Option(names = "--limit", description = "Use only the first N training images (quick runs).")
    Integer limit;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1 || !(lr > 0)) {
            throw new IllegalArgumentException("--epochs and --batch must be >= 1 and --lr > 0, got " + epochs + ", "
                    + batch + ", " + lr);
        }
        if (threads != null) {
            Dnnl.setThreads(threads);
        }
        Path dir = out != null ? out : Path.of("runs", model.name());
        FashionMnist fm = FashionMnist.load(data);
        var trainSet = limit == null ? fm.train() : fm.train().subset(0, Math.min(limit, fm.train().count()));
        NetworkSpec spec = Zoo.build(model);
        try (Scope scope = Scope.open("train"); Network net = Network.create(spec, seed)) {
            BatchLoader.Options trainOpts = BatchLoader.Options.training(batch, seed).withDropLast(true);
            if (augment) {
                trainOpts = trainOpts.withAugmentation(2, true);
            }
            BatchLoader train = BatchLoader.create(scope, trainSet, trainOpts);
            BatchLoader test = BatchLoader.create(scope, fm.test(), BatchLoader.Options.evaluation(256));
            long steps = (long) train.batchesPerEpoch() * epochs;
            Optimizer opt = optimizer(scope, net);
            LrSchedule sched = schedule(steps, train.batchesPerEpoch());
            System.out.printf(Locale.ROOT, "model %s: %,d parameters, %.1f MFLOP/sample forward; %d epoch(s) x %d "
                    + "steps of batch %d; %s, %s schedule; %d oneDNN thread(s)%n", model, spec.parameterCount(),
                    spec.flops() / 1e6, epochs, train.batchesPerEpoch(), batch, opt, schedule, Dnnl.threads());
            Curves curves = new Curves();
            Map<String, String> meta = Map.of("model", model.name(), "seed", Long.toString(seed),
                    "optimizer", opt.toString());
            Trainer.Config config = new Trainer.Config(epochs, sched, clip, dir, meta, FashionMnist.CLASSES);
            try (Trainer trainer = new Trainer(net, opt, train, test, config, new Progress(curves))) {
                if (resume != null) {
                    trainer.resume(resume);
                }
                List<Trainer.EpochStats> history = trainer.fit();
                Trainer.Evaluation ev = trainer.evaluate();
                Path png = dir.resolve("curves.png");
                curves.write(png, model.name());
                double total = history.stream().mapToDouble(Trainer.EpochStats::seconds).sum();
                System.out.printf(Locale.ROOT, "%nconfusion matrix (rows: true class, columns: predicted)%n%s%n",
                        ev.confusion());
                System.out.printf(Locale.ROOT, "test accuracy %.2f%% after %d epoch(s), %.1f s of training%n",
                        100 * ev.accuracy(), epochs, total);
                System.out.println("checkpoint: " + trainer.lastCheckpoint().toAbsolutePath()
                        + "\nbest:       " + trainer.bestCheckpoint().toAbsolutePath()
                        + "\ncurves:     " + png.toAbsolutePath());
            }
        }
        return 0;
    }

    private Optimizer optimizer(Scope scope, Network net) {
        return switch (optimizer) {
            case sgd -> Sgd.builder(lr).momentum(momentum).nesterov(momentum > 0).weightDecay(weightDecay)
                    .build(scope, net.parameters());
            case adam -> Adam.builder().lr(lr).weightDecay(weightDecay).build(scope, net.parameters());
            case adamw -> AdamW.builder().lr(lr).weightDecay(weightDecay).build(scope, net.parameters());
        };
    }

    private LrSchedule schedule(long steps, int perEpoch) {
        long warm = (long) warmupEpochs * perEpoch;
        long rest = Math.max(1, steps - warm);
        LrSchedule main = switch (schedule) {
            case constant -> LrSchedule.constant(lr);
            case cosine -> LrSchedule.cosine(lr, rest, 0);
            case step -> LrSchedule.multiStepDecay(lr, 0.1, rest / 2, rest * 3 / 4);
        };
        return warm > 0 ? LrSchedule.warmup(warm, 0.01, main) : main;
    }

    /** The process's resident set (VmRSS), to show that long runs do not grow; -1 where /proc is absent. */
    static long residentMiB() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** A progress bar per epoch, the running loss on it and in the curves, and a line per finished epoch. */
    private static final class Progress implements Trainer.Listener {
        private final Curves curves;
        private ProgressBar bar;
        private int batches;
        private double window;
        private int inWindow;

        Progress(Curves curves) {
            this.curves = curves;
        }

        @Override
        public void epochStarted(int epoch, int batches) {
            this.batches = batches;
            ProgressBarBuilder b = new ProgressBarBuilder().setTaskName("epoch " + (epoch + 1)).setInitialMax(batches)
                    .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(100);
            if (System.console() == null) {
                // Not a terminal (a log, CI): a line every 15 s instead of redrawing one line in place.
                b.setConsumer(new DelegatingProgressBarConsumer(System.out::println)).setUpdateIntervalMillis(15_000);
            } else {
                b.setUpdateIntervalMillis(500);
            }
            bar = b.build();
        }

        @Override
        public void batchFinished(int epoch, int batch, double loss, double accuracy) {
            window += loss;
            inWindow++;
            if (inWindow == 50 || batch == batches - 1) {
                curves.step(epoch + (batch + 1.0) / batches, window / inWindow);
                bar.setExtraMessage(String.format(Locale.ROOT, "loss %.3f", window / inWindow));
                window = 0;
                inWindow = 0;
            }
            bar.step();
        }

        @Override
        public void evaluating(int epoch) {
            bar.setExtraMessage("evaluating");
        }

        @Override
        public void epochFinished(Trainer.EpochStats s, boolean best) {
            bar.close();
            curves.epoch(s.epoch(), s.trainLoss(), s.trainAccuracy(), s.testLoss(), s.testAccuracy());
            System.out.printf(Locale.ROOT, "epoch %d: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%%%s | "
                    + "lr %.2e | %.1f s | rss %d MiB, native %d MiB%n", s.epoch() + 1, s.trainLoss(),
                    100 * s.trainAccuracy(), s.testLoss(), 100 * s.testAccuracy(), best ? " (best)" : "",
                    s.learningRate(), s.seconds(), residentMiB(), NativeResource.liveBytes() >> 20);
        }
    }
}
