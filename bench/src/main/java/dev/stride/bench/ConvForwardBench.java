package dev.stride.bench;

import dev.stride.conv.Convolution;
import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * 3x3 convolution forward (src 8x64x56x56, K=64, stride 1, padding 1, bias, inference) in the layouts the
 * primitive chose, arguments bound once: the steady state of one layer of a built network. Twin:
 * {@code bench/c/conv_fwd.c}. Sample mode, so the report can use the median of per-call times.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ConvForwardBench {

    /** Shared with {@link Report}, which turns the median time into GFLOP/s. */
    static final long[] SRC = {8, 64, 56, 56};
    static final Convolution.Params PARAMS = Convolution.Params.of(64, 3).stride(1).padding(1).bias(true);

    private dev.stride.core.Scope scope;
    private Stream stream;
    private Convolution.Forward conv;
    private ExecArgs args;

    static Convolution.Geometry geometry() {
        return Convolution.Geometry.of("conv3x3", SRC, PARAMS);
    }

    @Setup(Level.Trial)
    public void setup() {
        scope = dev.stride.core.Scope.open("ConvForwardBench");
        stream = Stream.create(scope);
        conv = Convolution.Forward.create(scope, "conv3x3", SRC, PARAMS, PropKind.INFERENCE, null);
        // Same values as the C twin: they do not change the speed of f32 FMAs, but keep the data realistic.
        Tensor src = fill(Tensor.allocate(scope, "src", conv.srcDesc()), 0.5f);
        Tensor weights = fill(Tensor.allocate(scope, "weights", conv.weightsDesc()), 0.01f);
        Tensor bias = fill(Tensor.allocate(scope, "bias", conv.biasDesc()), 0.1f);
        Tensor dst = Tensor.allocate(scope, "dst", conv.dstDesc());
        args = conv.bind(scope, src, weights, bias, dst);
        System.out.println("# conv: " + conv.primitive().implementation() + ", src " + conv.srcDesc().layout()
                + ", weights " + conv.weightsDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
    }

    /** Writes {@code v} into every float of the buffer (layout-independent, like the C twin). */
    static Tensor fill(Tensor t, float v) {
        MemorySegment s = t.segment();
        for (long i = 0; i < s.byteSize() / Float.BYTES; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
        return t;
    }

    @Benchmark
    public void forward() {
        conv.execute(stream, args);
        stream.await();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
    }
}
