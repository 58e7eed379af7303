package dev.stride.bench;

import dev.stride.core.DataType;
import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.LayerNorm;
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
 * The normalization rows of issue 3's speed table: batch norm over a 32x64x56x56 f32 source in {@code nhwc}
 * and layer norm over (6272, 256), both affine with PyTorch's defaults (eps 1e-5), training-mode forward
 * (writes the batch mean and variance) and backward (diff_src, diff gamma, diff beta), arguments bound once,
 * {@code execute} + {@code await} per call at oneDNN's default thread count. Twin:
 * {@code bench/c/norm_family.c}; fills as there (src 0.5, gamma 1, beta 0, mean 0.5, variance 1,
 * diff_dst 0.1).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class NormFamilyBench {

    static final long[] BN_SRC = {32, 64, 56, 56};
    static final long[] LN_SRC = {6272, 256};

    @State(Scope.Thread)
    public static class Bn {
        private dev.stride.core.Scope scope;
        Stream stream;
        BatchNorm.Forward fwd;
        ExecArgs fwdArgs;
        BatchNorm.Backward bwd;
        ExecArgs bwdArgs;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("NormFamilyBench.bn");
            stream = Stream.create(scope);
            MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, BN_SRC);
            fwd = BatchNorm.Forward.create(scope, "bn", nhwc, BatchNorm.Params.defaults(), PropKind.TRAINING);
            bwd = BatchNorm.Backward.create(scope, "bn bwd", fwd);
            long c = BN_SRC[1];
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", fwd.srcDesc()), 0.5f);
            Tensor dst = Tensor.allocate(scope, "dst", fwd.dstDesc());
            Tensor gamma = ConvForwardBench.fill(Tensor.zeros(scope, "gamma", c), 1f);
            Tensor beta = Tensor.zeros(scope, "beta", c);
            Tensor mean = ConvForwardBench.fill(Tensor.zeros(scope, "mean", c), 0.5f);
            Tensor variance = ConvForwardBench.fill(Tensor.zeros(scope, "variance", c), 1f);
            fwdArgs = fwd.bind(scope, src, gamma, beta, mean, variance, dst, null);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwd.diffSrcDesc());
            bwdArgs = bwd.bind(scope, src, mean, variance, gamma, null, diffDst, diffSrc,
                    Tensor.zeros(scope, "diff_gamma", c), Tensor.zeros(scope, "diff_beta", c));
            System.out.println("# row batch norm: fwd " + fwd.primitive().implementation() + ", bwd "
                    + bwd.primitive().implementation() + ", src " + fwd.srcDesc().layout() + ", "
                    + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class Ln {
        private dev.stride.core.Scope scope;
        Stream stream;
        LayerNorm.Forward fwd;
        ExecArgs fwdArgs;
        LayerNorm.Backward bwd;
        ExecArgs bwdArgs;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("NormFamilyBench.ln");
            stream = Stream.create(scope);
            fwd = LayerNorm.Forward.create(scope, "ln", LN_SRC, LayerNorm.Params.defaults(), PropKind.TRAINING);
            bwd = LayerNorm.Backward.create(scope, "ln bwd", fwd);
            long c = LN_SRC[1];
            long rows = LN_SRC[0];
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", fwd.srcDesc()), 0.5f);
            Tensor dst = Tensor.allocate(scope, "dst", fwd.dstDesc());
            Tensor gamma = ConvForwardBench.fill(Tensor.zeros(scope, "gamma", c), 1f);
            Tensor beta = Tensor.zeros(scope, "beta", c);
            Tensor mean = ConvForwardBench.fill(Tensor.allocate(scope, "mean", fwd.statsDesc()), 0.5f);
            Tensor variance = ConvForwardBench.fill(Tensor.allocate(scope, "variance", fwd.statsDesc()), 1f);
            fwdArgs = fwd.bind(scope, src, gamma, beta, mean, variance, dst);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwd.diffSrcDesc());
            bwdArgs = bwd.bind(scope, src, mean, variance, gamma, diffDst, diffSrc,
                    Tensor.zeros(scope, "diff_gamma", c), Tensor.zeros(scope, "diff_beta", c));
            System.out.println("# row layer norm: fwd " + fwd.primitive().implementation() + ", bwd "
                    + bwd.primitive().implementation() + ", src " + fwd.srcDesc().layout() + ", " + rows
                    + " rows, " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @Benchmark
    public void batchNormForward(Bn s) {
        s.fwd.execute(s.stream, s.fwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void batchNormBackward(Bn s) {
        s.bwd.execute(s.stream, s.bwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void layerNormForward(Ln s) {
        s.fwd.execute(s.stream, s.fwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void layerNormBackward(Ln s) {
        s.bwd.execute(s.stream, s.bwdArgs);
        s.stream.await();
    }
}
