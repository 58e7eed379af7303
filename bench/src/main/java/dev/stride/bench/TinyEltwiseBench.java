package dev.stride.bench;

import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ReLU forward on a tiny plain 1x16x4x4 tensor at one OpenMP thread: the work is a few nanoseconds, so
 * the time is the fixed cost of one execute+wait through Stride (checks, FFM downcalls, oneDNN dispatch).
 * Run the fork with {@code OMP_NUM_THREADS=1}, as {@code scripts/bench} does, and the C twin
 * {@code bench/c/tiny_eltwise.c} the same way.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class TinyEltwiseBench {

    static final long[] DIMS = {1, 16, 4, 4};

    private dev.stride.core.Scope scope;
    private Stream stream;
    private Eltwise.Forward relu;
    private ExecArgs args;

    @Setup(Level.Trial)
    public void setup() {
        // JMH runs a thread-scoped state's setup on the benchmark thread, so this sees the thread count
        // the measured calls run with.
        int threads = Dnnl.threads();
        if (threads != 1) {
            // With 2+ threads the number would be OpenMP's fork/join (~4 us), not Stride's overhead.
            throw new IllegalStateException("TinyEltwiseBench measures the 1-thread per-call overhead: run it with "
                    + "OMP_NUM_THREADS=1 (oneDNN reports " + threads + " threads)");
        }
        scope = dev.stride.core.Scope.open("TinyEltwiseBench");
        stream = Stream.create(scope);
        MemoryDesc plain = MemoryDesc.plain(scope, DIMS);
        relu = Eltwise.Forward.create(scope, "relu", plain, Eltwise.Algorithm.RELU, 0f, 0f, PropKind.INFERENCE);
        Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", relu.srcDesc()), -0.5f);
        Tensor dst = Tensor.allocate(scope, "dst", relu.dstDesc());
        args = relu.bind(scope, src, dst);
        System.out.println("# relu: " + relu.primitive().implementation() + ", " + threads + " thread(s)");
    }

    @Benchmark
    public void reluExecuteWait() {
        relu.execute(stream, args);
        stream.await();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
    }
}
