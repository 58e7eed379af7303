package dev.stride.bench;

import dev.stride.conv.Convolution;
import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
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
 * The convolution rows of issue 3's speed table, each one primitive in the layouts oneDNN chose
 * ({@code format_tag_any}), arguments bound once, {@code execute} + {@code await} per call at oneDNN's default
 * thread count. Forwards are created in training mode ({@link Convolution.Forward#create(dev.stride.core.Scope,
 * String, long[], Convolution.Params)}), the hint of the backward primitives. Twin: {@code bench/c/conv_family.c},
 * one case per benchmark; fills as there (src 0.5, weights 0.01, bias 0.1, diff_dst 0.1).
 *
 * <p>Each benchmark takes its own state class, so a fork builds only the primitive it measures.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ConvFamilyBench {

    /** 3x3 stride 1 padding 1, N=32, 32 -> 64 channels, 28x28, bias: forward, backward data and weights. */
    static final long[] SRC = {32, 32, 28, 28};
    static final Convolution.Params PARAMS = Convolution.Params.of(64, 3).stride(1).padding(1).bias(true);
    /** 64 -> 64 channels at 28x28 for the dilated, grouped and depthwise rows. */
    static final long[] SRC64 = {32, 64, 28, 28};
    static final Convolution.Params DILATED = Convolution.Params.of(64, 3).padding(2).dilation(2);
    static final Convolution.Params GROUPS8 = Convolution.Params.of(64, 3).padding(1).groups(8);
    static final Convolution.Params DEPTHWISE = Convolution.Params.of(64, 3).padding(1).groups(64);
    /** 3x3x3 padding 1, N=4, 16 -> 32 channels, 16x32x32. */
    static final long[] SRC3D = {4, 16, 16, 32, 32};
    static final Convolution.Params CONV3D = Convolution.Params.of(32, 3).padding(1);

    /** A forward of the given shape, bound once. */
    public abstract static class ForwardState {
        private final String row;
        private final long[] srcDims;
        private final Convolution.Params params;
        private dev.stride.core.Scope scope;
        Stream stream;
        Convolution.Forward conv;
        ExecArgs args;

        ForwardState(String row, long[] srcDims, Convolution.Params params) {
            this.row = row;
            this.srcDims = srcDims;
            this.params = params;
        }

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("ConvFamilyBench." + row);
            stream = Stream.create(scope);
            conv = Convolution.Forward.create(scope, row, srcDims, params);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", conv.srcDesc()), 0.5f);
            Tensor weights = ConvForwardBench.fill(Tensor.allocate(scope, "weights", conv.weightsDesc()), 0.01f);
            Tensor bias = ConvForwardBench.fill(Tensor.allocate(scope, "bias", conv.biasDesc()), 0.1f);
            Tensor dst = Tensor.allocate(scope, "dst", conv.dstDesc());
            args = conv.bind(scope, src, weights, bias, dst);
            System.out.println("# row " + row + ": " + conv.primitive().implementation() + ", src "
                    + conv.srcDesc().layout() + ", weights " + conv.weightsDesc().layout() + ", dst "
                    + conv.dstDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class Plain extends ForwardState {
        public Plain() {
            super("conv fwd", SRC, PARAMS);
        }
    }

    @State(Scope.Thread)
    public static class Dilated extends ForwardState {
        public Dilated() {
            super("conv dilated fwd", SRC64, DILATED);
        }
    }

    @State(Scope.Thread)
    public static class Grouped extends ForwardState {
        public Grouped() {
            super("conv groups=8 fwd", SRC64, GROUPS8);
        }
    }

    @State(Scope.Thread)
    public static class Depthwise extends ForwardState {
        public Depthwise() {
            super("conv depthwise fwd", SRC64, DEPTHWISE);
        }
    }

    @State(Scope.Thread)
    public static class Conv3d extends ForwardState {
        public Conv3d() {
            super("conv3d fwd", SRC3D, CONV3D);
        }
    }

    /** Backward data of the plain row's convolution, in the layouts it chose. */
    @State(Scope.Thread)
    public static class BackwardDataState {
        private dev.stride.core.Scope scope;
        Stream stream;
        Convolution.BackwardData bwd;
        ExecArgs args;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("ConvFamilyBench.bwdData");
            stream = Stream.create(scope);
            Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", SRC, PARAMS);
            bwd = Convolution.BackwardData.create(scope, "conv bwd data", fwd);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor weights = ConvForwardBench.fill(Tensor.allocate(scope, "weights", bwd.weightsDesc()), 0.01f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwd.diffSrcDesc());
            args = bwd.bind(scope, diffDst, weights, diffSrc);
            System.out.println("# row conv bwd data: " + bwd.primitive().implementation() + ", diff_dst "
                    + bwd.diffDstDesc().layout() + ", weights " + bwd.weightsDesc().layout() + ", diff_src "
                    + bwd.diffSrcDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    /** Backward weights and bias of the plain row's convolution, in the layouts it chose. */
    @State(Scope.Thread)
    public static class BackwardWeightsState {
        private dev.stride.core.Scope scope;
        Stream stream;
        Convolution.BackwardWeights bwd;
        ExecArgs args;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("ConvFamilyBench.bwdWeights");
            stream = Stream.create(scope);
            Convolution.Forward fwd = Convolution.Forward.create(scope, "conv", SRC, PARAMS);
            bwd = Convolution.BackwardWeights.create(scope, "conv bwd weights", fwd);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", bwd.srcDesc()), 0.5f);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor diffWeights = Tensor.allocate(scope, "diff_weights", bwd.diffWeightsDesc());
            Tensor diffBias = Tensor.allocate(scope, "diff_bias", bwd.diffBiasDesc());
            args = bwd.bind(scope, src, diffDst, diffWeights, diffBias);
            System.out.println("# row conv bwd weights: " + bwd.primitive().implementation() + ", src "
                    + bwd.srcDesc().layout() + ", diff_dst " + bwd.diffDstDesc().layout() + ", diff_weights "
                    + bwd.diffWeightsDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @Benchmark
    public void forward(Plain s) {
        s.conv.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void backwardData(BackwardDataState s) {
        s.bwd.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void backwardWeights(BackwardWeightsState s) {
        s.bwd.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void dilatedForward(Dilated s) {
        s.conv.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void groupedForward(Grouped s) {
        s.conv.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void depthwiseForward(Depthwise s) {
        s.conv.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void conv3dForward(Conv3d s) {
        s.conv.execute(s.stream, s.args);
        s.stream.await();
    }
}
