package dev.stride.bench;

import dev.stride.core.DataType;
import dev.stride.core.Dnnl;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.pool.Pooling;
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
 * The pooling rows of issue 3's speed table: 2x2 stride-2 max and average pooling of a 32x64x56x56 f32 source
 * in {@code nhwc} (the concrete layout a network hands to pooling; the destination layout is oneDNN's
 * choice), training-mode forward (max keeps its workspace) and backward, arguments bound once,
 * {@code execute} + {@code await} per call at oneDNN's default thread count. Twin:
 * {@code bench/c/pool_family.c}; fills as there (src 0.5, diff_dst 0.1).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class PoolFamilyBench {

    static final long[] SRC = {32, 64, 56, 56};

    /** Forward and backward of one algorithm, bound once; the forward has run once (workspace filled). */
    public abstract static class PoolState {
        private final String row;
        private final Pooling.Params params;
        private dev.stride.core.Scope scope;
        Stream stream;
        Pooling.Forward fwd;
        Pooling.Bound fwdArgs;
        Pooling.Backward bwd;
        Pooling.Bound bwdArgs;

        PoolState(String row, Pooling.Params params) {
            this.row = row;
            this.params = params;
        }

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("PoolFamilyBench." + row);
            stream = Stream.create(scope);
            MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, SRC);
            fwd = Pooling.Forward.create(scope, row, nhwc, params, PropKind.TRAINING);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", fwd.srcDesc()), 0.5f);
            Tensor dst = Tensor.allocate(scope, "dst", fwd.dstDesc());
            Tensor ws = fwd.hasWorkspace() ? Tensor.allocate(scope, "workspace", fwd.workspaceDesc()) : null;
            fwdArgs = fwd.bind(scope, src, dst, ws);
            bwd = Pooling.Backward.create(scope, row + " bwd", fwd);
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwd.diffDstDesc()), 0.1f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwd.diffSrcDesc());
            bwdArgs = bwd.bind(scope, fwdArgs, diffDst, diffSrc);
            // The constant source ties every window: the workspace gets index 0 everywhere, as the C twin's.
            fwd.execute(stream, fwdArgs);
            stream.await();
            System.out.println("# row " + row + ": fwd " + fwd.primitive().implementation() + ", bwd "
                    + bwd.primitive().implementation() + ", src " + fwd.srcDesc().layout() + ", dst "
                    + fwd.dstDesc().layout() + ", diff_dst " + bwd.diffDstDesc().layout() + ", "
                    + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class Max extends PoolState {
        public Max() {
            super("max pool", Pooling.Params.max(2));
        }
    }

    @State(Scope.Thread)
    public static class Avg extends PoolState {
        public Avg() {
            super("avg pool", Pooling.Params.avg(2));
        }
    }

    @Benchmark
    public void maxForward(Max s) {
        s.fwd.execute(s.stream, s.fwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void maxBackward(Max s) {
        s.bwd.execute(s.stream, s.bwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void avgForward(Avg s) {
        s.fwd.execute(s.stream, s.fwdArgs);
        s.stream.await();
    }

    @Benchmark
    public void avgBackward(Avg s) {
        s.bwd.execute(s.stream, s.bwdArgs);
        s.stream.await();
    }
}
