package dev.stride.cli;

import dev.stride.core.Dnnl;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.softmax.SoftmaxCrossEntropy;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stride bench}: images per second of a model's training step and inference, planned with and without
 * fusion/folding/buffer reuse. A quick look; {@code make bench} has the JMH benchmarks and the PyTorch
 * comparison.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time a model's training step (forward, loss, backward) and inference, in images/s (median of "
                + "timed rounds), with every planning optimisation on and off.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})",
            defaultValue = "reference")
    Zoo.Model model;

    @Option(names = "--batch", description = "Training batch (default: ${DEFAULT-VALUE}).", defaultValue = "64")
    int batch;

    @Option(names = "--infer-batch", description = "Inference batch (default: ${DEFAULT-VALUE}).", defaultValue = "256")
    int inferBatch;

    @Option(names = "--rounds", description = "Timed rounds, each of several steps (default: ${DEFAULT-VALUE}).",
            defaultValue = "7")
    int rounds;

    @Option(names = "--threads", description = "oneDNN threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() {
        if (batch < 1 || inferBatch < 1 || rounds < 1) {
            throw new IllegalArgumentException("--batch, --infer-batch and --rounds must be >= 1");
        }
        if (threads != null) {
            Dnnl.setThreads(threads);
        }
        NetworkSpec spec = Zoo.build(model);
        System.out.printf(Locale.ROOT, "%s, %d thread(s); median of %d rounds%n", model, Dnnl.threads(), rounds);
        for (PlanOptions o : new PlanOptions[] {PlanOptions.defaults(), PlanOptions.unoptimised()}) {
            String label = o.fuse() ? "planned (fused, folded, reused)" : "unoptimised";
            double train = measure(spec, batch, Mode.TRAINING, o);
            double infer = measure(spec, inferBatch, Mode.INFERENCE, o);
            System.out.printf(Locale.ROOT, "%-32s train batch %d: %8.0f images/s | inference batch %d: %8.0f images/s%n",
                    label, batch, train, inferBatch, infer);
        }
        return 0;
    }

    private double measure(NetworkSpec spec, int n, Mode mode, PlanOptions options) {
        try (Scope scope = Scope.open("bench"); Network net = Network.create(spec, 1)) {
            Plan plan = net.plan(n, mode, options);
            Stream stream = Stream.create(scope);
            SoftmaxCrossEntropy loss = SoftmaxCrossEntropy.create(scope, "loss", plan.output().dims());
            SplittableRandom r = new SplittableRandom(1);
            float[] x = new float[Math.toIntExact(plan.input().segment().byteSize() / Float.BYTES)];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            plan.input().copyFrom(x);
            int[] labels = new int[n];
            Arrays.setAll(labels, i -> i % 10);
            Runnable step = mode == Mode.TRAINING ? () -> {
                plan.forward();
                loss.forward(stream, plan.output(), labels);
                loss.backward(stream, plan.outputGradient());
                plan.backward();
            } : plan::forward;
            for (int i = 0; i < 3; i++) {
                step.run();
            }
            // Each round runs long enough (>= 0.5 s) to smooth the scheduler's noise.
            long t0 = System.nanoTime();
            step.run();
            int perRound = (int) Math.max(1, Math.ceil(0.5e9 / Math.max(1, System.nanoTime() - t0)));
            double[] rates = new double[rounds];
            for (int k = 0; k < rounds; k++) {
                long s = System.nanoTime();
                for (int i = 0; i < perRound; i++) {
                    step.run();
                }
                rates[k] = (double) n * perRound / ((System.nanoTime() - s) / 1e9);
            }
            Arrays.sort(rates);
            return rates[rounds / 2];
        }
    }
}
