package dev.stride.bench;

import dev.stride.core.Tensor;
import dev.stride.train.Adam;
import dev.stride.train.AdamW;
import dev.stride.train.GradClip;
import dev.stride.train.Optimizer;
import dev.stride.train.Parameter;
import dev.stride.train.Sgd;
import java.util.ArrayList;
import java.util.List;
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
 * One optimizer step (or one gradient-norm clip) over the parameters of the TF reference convnet for
 * Fashion-MNIST (conv 5x5 1->32, conv 5x5 32->64, fc 3136->1024, fc 1024->10: 3,274,634 parameters in 8
 * tensors), on the calling thread. The PyTorch twin is {@code bench/python/optim_step.py}.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
 *     org.openjdk.jmh.Main OptimizerBench -f 1 -wi 5 -i 5
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class OptimizerBench {

    static final long[][] SHAPES = {{32, 1, 5, 5}, {32}, {64, 32, 5, 5}, {64}, {1024, 3136}, {1024}, {10, 1024}, {10}};
    static final String[] NAMES = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias"};

    @Param({"sgd-momentum", "sgd-nesterov-wd", "adam", "adamw", "clip-norm"})
    public String op;

    private dev.stride.core.Scope scope;
    private List<Parameter> parameters;
    private Optimizer optimizer;

    @Setup(Level.Trial)
    public void setup() {
        scope = dev.stride.core.Scope.open("OptimizerBench");
        parameters = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < SHAPES.length; i++) {
            long n = 1;
            for (long d : SHAPES[i]) {
                n *= d;
            }
            float[] v = new float[Math.toIntExact(n)];
            float[] g = new float[v.length];
            for (int j = 0; j < v.length; j++) {
                v[j] = (float) (0.05 * r.nextGaussian());
                g[j] = (float) (1e-3 * r.nextGaussian());
            }
            parameters.add(new Parameter(NAMES[i], Tensor.of(scope, NAMES[i], v, SHAPES[i]),
                    Tensor.of(scope, NAMES[i] + ".grad", g, SHAPES[i])));
        }
        // Tiny rates keep the values in range over millions of steps; the work does not depend on them.
        optimizer = switch (op) {
            case "sgd-momentum" -> Sgd.builder(1e-6).momentum(0.9).build(scope, parameters);
            case "sgd-nesterov-wd" -> Sgd.builder(1e-6).momentum(0.9).nesterov(true).weightDecay(5e-4).build(scope, parameters);
            case "adam" -> Adam.builder().lr(1e-6).build(scope, parameters);
            case "adamw" -> AdamW.builder().lr(1e-6).build(scope, parameters);
            case "clip-norm" -> null;
            default -> throw new IllegalArgumentException(op);
        };
    }

    @Benchmark
    public double step() {
        if (optimizer == null) {
            return GradClip.byNorm(parameters, 1e9);
        }
        optimizer.step();
        return optimizer.stepCount();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (optimizer != null && optimizer.stepCount() == 0) {
            throw new IllegalStateException("no step was measured");
        }
        scope.close();
    }
}
