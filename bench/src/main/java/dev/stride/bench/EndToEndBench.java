package dev.stride.bench;

import dev.stride.core.Dnnl;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Models;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.softmax.SoftmaxCrossEntropy;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 5's end-to-end rows: whole networks ({@link Models}: TensorFlow's Fashion-MNIST reference convnet, a
 * small ResNet, a small DenseNet, all on {@code 1 x 28 x 28}, 10 classes), compared with the same models in
 * PyTorch by {@code bench/python/e2e.py}:
 * <ul>
 *   <li>{@link #trainStep}: batch 64, forward + softmax cross-entropy + its gradient + backward through the
 *       whole network (every parameter gradient written). No optimizer step, on either side: the rows measure
 *       what the engine computes, not an SGD loop over the parameters;</li>
 *   <li>{@link #inference}: batch 256, forward only, in an inference plan (batch norm with running
 *       statistics).</li>
 * </ul>
 * {@code plan=optimised} plans with {@link PlanOptions#defaults()} (post-op fusion, BN + ReLU fused flag, BN
 * folded into convolutions for inference, buffer reuse); {@code plan=unoptimised} with
 * {@link PlanOptions#unoptimised()} (one primitive per layer, every buffer separate): the difference is what
 * the planning is worth. Inputs are uniform in [0, 1) with uniform random labels, written once: the rows time
 * the network, not data loading. oneDNN runs at its default thread count.
 *
 * <p>{@code scripts/bench} compares these states with PyTorch through {@link EndToEndCompare}, one step of each
 * in turn; the JMH benchmarks time them alone, e.g.
 * {@code java -cp ... org.openjdk.jmh.Main EndToEndBench.trainStep -p model=tfReference -p plan=optimised}.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class EndToEndBench {

    /** Batch of a training step (issue 5). */
    public static final int TRAIN_BATCH = 64;
    /** Batch of the inference rows (issue 5). */
    public static final int INFERENCE_BATCH = 256;

    /** The model of a {@code model} parameter. */
    static NetworkSpec spec(String model) {
        return switch (model) {
            case "tfReference" -> Models.tfReference();
            case "smallResNet" -> Models.smallResNet();
            case "smallDenseNet" -> Models.smallDenseNet();
            default -> throw new IllegalArgumentException("unknown model '" + model
                    + "' (expected tfReference, smallResNet or smallDenseNet)");
        };
    }

    static PlanOptions options(String plan) {
        return switch (plan) {
            case "optimised" -> PlanOptions.defaults();
            case "unoptimised" -> PlanOptions.unoptimised();
            default -> throw new IllegalArgumentException("unknown plan '" + plan + "' (expected optimised or unoptimised)");
        };
    }

    /** A network planned for one batch and mode, with its input filled from seed 42. */
    @State(Scope.Thread)
    public abstract static class PlannedState {
        @Param({"tfReference", "smallResNet", "smallDenseNet"})
        public String model;

        @Param({"optimised", "unoptimised"})
        public String plan;

        Network net;
        Plan planned;

        abstract int batch();

        abstract dev.stride.nn.Mode mode();

        @Setup(Level.Trial)
        public void setup() {
            net = Network.create(spec(model), 42);
            planned = net.plan(batch(), mode(), options(plan));
            SplittableRandom rnd = new SplittableRandom(42);
            Tensor in = planned.input();
            float[] x = new float[Math.toIntExact(in.segment().byteSize() / Float.BYTES)];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextDouble();
            }
            in.copyFrom(x);
            setupMore(rnd);
            System.out.println(String.format(Locale.ROOT, "# row e2e %s %s batch %d %s: %d planned layers, %d reorders, "
                    + "%d thread(s)", model, mode().name().toLowerCase(Locale.ROOT), batch(), plan,
                    planned.describe().size(), planned.reorderCount(), Dnnl.threads()));
            for (String line : planned.describe()) {
                System.out.println("#   " + line);
            }
        }

        void setupMore(SplittableRandom rnd) {}

        @TearDown(Level.Trial)
        public void tearDown() {
            net.close();
        }
    }

    /** A training plan at batch 64 with its loss and labels. */
    @State(Scope.Thread)
    public static class Training extends PlannedState {
        private dev.stride.core.Scope scope;
        Stream stream;
        SoftmaxCrossEntropy loss;
        int[] labels;

        @Override
        int batch() {
            return TRAIN_BATCH;
        }

        @Override
        dev.stride.nn.Mode mode() {
            return dev.stride.nn.Mode.TRAINING;
        }

        @Override
        void setupMore(SplittableRandom rnd) {
            scope = dev.stride.core.Scope.open("EndToEndBench.loss");
            stream = Stream.create(scope);
            loss = SoftmaxCrossEntropy.create(scope, "loss", planned.output().dims());
            labels = new int[TRAIN_BATCH];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = rnd.nextInt((int) Models.CLASSES);
            }
        }

        /** One step: forward, loss, loss gradient into the plan's output gradient, backward. */
        double step() {
            planned.forward();
            double l = loss.forward(stream, planned.output(), labels);
            loss.backward(stream, planned.outputGradient());
            planned.backward();
            return l;
        }

        @Override
        public void tearDown() {
            super.tearDown();
            scope.close();
        }
    }

    /** An inference plan at batch 256. */
    @State(Scope.Thread)
    public static class Inference extends PlannedState {
        @Override
        int batch() {
            return INFERENCE_BATCH;
        }

        @Override
        dev.stride.nn.Mode mode() {
            return dev.stride.nn.Mode.INFERENCE;
        }
    }

    @Benchmark
    public double trainStep(Training s) {
        return s.step();
    }

    @Benchmark
    public Tensor inference(Inference s) {
        return s.planned.forward();
    }
}
