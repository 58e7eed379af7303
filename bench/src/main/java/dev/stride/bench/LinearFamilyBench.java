package dev.stride.bench;

import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.linear.InnerProduct;
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
 * The fully connected rows of issue 3's speed table: inner product N=256, 3136 -> 1024 with bias, forward
 * (training mode, the hint of the backward primitives), backward data and backward weights (+bias), in the
 * layouts oneDNN chose ({@code format_tag_any}), arguments bound once, {@code execute} + {@code await} per
 * call at oneDNN's default thread count. Twin: {@code bench/c/ip_family.c}; fills as there (src 0.5,
 * weights 0.01, bias 0.1, diff_dst 0.1).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class LinearFamilyBench {

    static final long[] SRC = {256, 3136};
    static final long OUT = 1024;

    static InnerProduct.Geometry geometry() {
        return InnerProduct.Geometry.of("fc", SRC, OUT, true);
    }

    @State(Scope.Thread)
    public static class Fwd {
        private dev.stride.core.Scope scope;
        Stream stream;
        InnerProduct.Forward fc;
        ExecArgs args;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("LinearFamilyBench.fwd");
            stream = Stream.create(scope);
            fc = InnerProduct.Forward.create(scope, "fc", SRC, OUT);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", fc.srcDesc()), 0.5f);
            Tensor weights = ConvForwardBench.fill(Tensor.allocate(scope, "weights", fc.weightsDesc()), 0.01f);
            Tensor bias = ConvForwardBench.fill(Tensor.allocate(scope, "bias", fc.biasDesc()), 0.1f);
            Tensor dst = Tensor.allocate(scope, "dst", fc.dstDesc());
            args = fc.bind(scope, src, weights, bias, dst);
            System.out.println("# row fc fwd: " + fc.primitive().implementation() + ", src " + fc.srcDesc().layout()
                    + ", weights " + fc.weightsDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class BwdData {
        private dev.stride.core.Scope scope;
        Stream stream;
        InnerProduct.BackwardData bwd;
        ExecArgs args;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("LinearFamilyBench.bwdData");
            stream = Stream.create(scope);
            InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", SRC, OUT);
            bwd = InnerProduct.BackwardData.create(scope, "fc bwd data", fc);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor weights = ConvForwardBench.fill(Tensor.allocate(scope, "weights", bwd.weightsDesc()), 0.01f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwd.diffSrcDesc());
            args = bwd.bind(scope, diffDst, weights, diffSrc);
            System.out.println("# row fc bwd data: " + bwd.primitive().implementation() + ", weights "
                    + bwd.weightsDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class BwdWeights {
        private dev.stride.core.Scope scope;
        Stream stream;
        InnerProduct.BackwardWeights bwd;
        ExecArgs args;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("LinearFamilyBench.bwdWeights");
            stream = Stream.create(scope);
            InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "fc", SRC, OUT);
            bwd = InnerProduct.BackwardWeights.create(scope, "fc bwd weights", fc);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", bwd.srcDesc()), 0.5f);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor diffWeights = Tensor.allocate(scope, "diff_weights", bwd.diffWeightsDesc());
            Tensor diffBias = Tensor.allocate(scope, "diff_bias", bwd.diffBiasDesc());
            args = bwd.bind(scope, src, diffDst, diffWeights, diffBias);
            System.out.println("# row fc bwd weights: " + bwd.primitive().implementation() + ", diff_weights "
                    + bwd.diffWeightsDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @Benchmark
    public void forward(Fwd s) {
        s.fc.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void backwardData(BwdData s) {
        s.bwd.execute(s.stream, s.args);
        s.stream.await();
    }

    @Benchmark
    public void backwardWeights(BwdWeights s) {
        s.bwd.execute(s.stream, s.args);
        s.stream.await();
    }
}
