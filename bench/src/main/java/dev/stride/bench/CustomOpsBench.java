package dev.stride.bench;

import dev.stride.conv.Convolution;
import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.se.SqueezeExcitation;
import dev.stride.ops.stn.AffineSampler;
import dev.stride.ops.stn.SamplerOptions;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * The ops-custom rows of issue 4's speed table, compared with PyTorch/torchvision by
 * {@code bench/python/custom_ops.py} (same shapes, same thread count) rather than with a C twin:
 * <ul>
 *   <li>deformable convolution v1 and v2 (modulated), N=8, 64 -> 64, 28x28, 3x3 padding 1, bias, offsets
 *       uniform in [-1.5, 1.5] px (seeded), mask uniform in [0, 1]: forward, and forward + backward for every
 *       input (src, offsets, mask, weights, bias);</li>
 *   <li>the plain oneDNN convolution of the same shape, forward + backward data + backward weights and bias:
 *       the reference of the "deformable fwd+bwd at most 2.5x the plain convolution" target;</li>
 *   <li>affine grid + bilinear sampling (zeros padding, {@code align_corners=False}), N=32, C=32, 28x28 to
 *       28x28, theta a random perturbation of the identity: forward, and forward + backward for src and theta;</li>
 *   <li>squeeze-excitation, N=32, C=64, 28x28, r=16, nchw: forward, and forward + backward (input and the four
 *       parameter gradients).</li>
 * </ul>
 * Every op is created once with its workspaces and tensors (no allocation per call), at oneDNN's default
 * thread count, which the Java kernels share ({@link dev.stride.ops.Parallel}).
 *
 * <p>Each benchmark takes its own state class, so a fork builds only what it measures.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class CustomOpsBench {

    /** Deformable (and plain) convolution: N=8, 64 -> 64 channels, 28x28, 3x3 padding 1, bias. */
    static final long[] DEFORM_SRC = {8, 64, 28, 28};
    static final DeformConv2d.Params DEFORM_V1 = DeformConv2d.Params.of(64, 3, 3).padding(1, 1).bias(true);
    static final DeformConv2d.Params DEFORM_V2 = DEFORM_V1.modulated(true);
    static final Convolution.Params CONV = Convolution.Params.of(64, 3).padding(1).bias(true);
    /** Spatial transformer: N=32, C=32, 28x28 -> 28x28. */
    static final long STN_N = 32;
    static final long STN_C = 32;
    static final long STN_HW = 28;
    /** Squeeze-excitation: N=32, C=64, 28x28, r=16. */
    static final long SE_N = 32;
    static final long SE_C = 64;
    static final long SE_HW = 28;
    static final long SE_R = 16;

    static Tensor uniform(Tensor t, SplittableRandom rnd, double lo, double hi) {
        MemorySegment s = t.segment();
        for (long i = 0; i < s.byteSize() / Float.BYTES; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(lo, hi));
        }
        return t;
    }

    /** A deformable convolution with every tensor of its forward and backward, filled from seed 42. */
    public abstract static class DeformState {
        private final boolean modulated;
        private dev.stride.core.Scope scope;
        Stream stream;
        DeformConv2d op;
        Tensor src;
        Tensor offset;
        Tensor mask;
        Tensor weights;
        Tensor bias;
        Tensor dst;
        Tensor diffDst;
        Tensor diffSrc;
        Tensor diffOffset;
        Tensor diffMask;
        Tensor diffWeights;
        Tensor diffBias;

        DeformState(boolean modulated) {
            this.modulated = modulated;
        }

        @Setup(Level.Trial)
        public void setup() {
            String row = modulated ? "deform v2" : "deform v1";
            scope = dev.stride.core.Scope.open("CustomOpsBench." + row);
            stream = Stream.create(scope);
            op = DeformConv2d.create(scope, row, DEFORM_SRC, modulated ? DEFORM_V2 : DEFORM_V1);
            var g = op.geometry();
            SplittableRandom rnd = new SplittableRandom(42);
            src = uniform(Tensor.zeros(scope, "src", g.src()), rnd, -1, 1);
            // Offsets of about one pixel, so the samples fall between grid points as in a trained network.
            offset = uniform(Tensor.zeros(scope, "offset", g.offset()), rnd, -1.5, 1.5);
            mask = modulated ? uniform(Tensor.zeros(scope, "mask", g.mask()), rnd, 0, 1) : null;
            weights = uniform(Tensor.zeros(scope, "weights", g.weights()), rnd, -0.05, 0.05);
            bias = uniform(Tensor.zeros(scope, "bias", g.biasDims()), rnd, -0.1, 0.1);
            dst = Tensor.zeros(scope, "dst", g.dst());
            diffDst = uniform(Tensor.zeros(scope, "diff_dst", g.dst()), rnd, -1, 1);
            diffSrc = Tensor.zeros(scope, "diff_src", g.src());
            diffOffset = Tensor.zeros(scope, "diff_offset", g.offset());
            diffMask = modulated ? Tensor.zeros(scope, "diff_mask", g.mask()) : null;
            diffWeights = Tensor.zeros(scope, "diff_weights", g.weights());
            diffBias = Tensor.zeros(scope, "diff_bias", g.biasDims());
            System.out.println("# row " + row + ": " + op.describe() + ", column buffer " + (op.columnBytes() >> 10)
                    + " KiB, " + Dnnl.threads() + " thread(s)");
        }

        void forward() {
            op.forward(stream, src, offset, mask, weights, bias, dst);
        }

        void backward() {
            op.backward(stream, src, offset, mask, weights, diffDst, diffSrc, diffOffset, diffMask, diffWeights,
                    diffBias);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @State(Scope.Thread)
    public static class DeformV1 extends DeformState {
        public DeformV1() {
            super(false);
        }
    }

    @State(Scope.Thread)
    public static class DeformV2 extends DeformState {
        public DeformV2() {
            super(true);
        }
    }

    /** The plain convolution of the deformable rows' shape: forward (training), backward data, backward weights. */
    @State(Scope.Thread)
    public static class PlainConvState {
        private dev.stride.core.Scope scope;
        Stream stream;
        Convolution.Forward fwd;
        Convolution.BackwardData bwdData;
        Convolution.BackwardWeights bwdWeights;
        ExecArgs fwdArgs;
        ExecArgs bwdDataArgs;
        ExecArgs bwdWeightsArgs;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("CustomOpsBench.conv");
            stream = Stream.create(scope);
            fwd = Convolution.Forward.create(scope, "conv", DEFORM_SRC, CONV);
            bwdData = Convolution.BackwardData.create(scope, "conv bwd data", fwd);
            bwdWeights = Convolution.BackwardWeights.create(scope, "conv bwd weights", fwd);
            Tensor src = ConvForwardBench.fill(Tensor.allocate(scope, "src", fwd.srcDesc()), 0.5f);
            Tensor weights = ConvForwardBench.fill(Tensor.allocate(scope, "weights", fwd.weightsDesc()), 0.01f);
            Tensor bias = ConvForwardBench.fill(Tensor.allocate(scope, "bias", fwd.biasDesc()), 0.1f);
            Tensor dst = Tensor.allocate(scope, "dst", fwd.dstDesc());
            fwdArgs = fwd.bind(scope, src, weights, bias, dst);
            // Backward layouts as oneDNN chose them; the bench measures the primitives, not reorders between them.
            Tensor diffDst = ConvForwardBench.fill(Tensor.allocate(scope, "diff_dst", bwdData.diffDstDesc()), 0.1f);
            Tensor bdWeights = ConvForwardBench.fill(Tensor.allocate(scope, "bd_weights", bwdData.weightsDesc()), 0.01f);
            Tensor diffSrc = Tensor.allocate(scope, "diff_src", bwdData.diffSrcDesc());
            bwdDataArgs = bwdData.bind(scope, diffDst, bdWeights, diffSrc);
            Tensor bwSrc = ConvForwardBench.fill(Tensor.allocate(scope, "bw_src", bwdWeights.srcDesc()), 0.5f);
            Tensor bwDiffDst = ConvForwardBench.fill(Tensor.allocate(scope, "bw_diff_dst", bwdWeights.diffDstDesc()),
                    0.1f);
            Tensor diffWeights = Tensor.allocate(scope, "diff_weights", bwdWeights.diffWeightsDesc());
            Tensor diffBias = Tensor.allocate(scope, "diff_bias", bwdWeights.diffBiasDesc());
            bwdWeightsArgs = bwdWeights.bind(scope, bwSrc, bwDiffDst, diffWeights, diffBias);
            System.out.println("# row conv fwd+bwd (deform reference): " + fwd.primitive().implementation() + " / "
                    + bwdData.primitive().implementation() + " / " + bwdWeights.primitive().implementation() + ", src "
                    + fwd.srcDesc().layout() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    /** Affine grid + bilinear sampler, theta = identity + U(-0.1, 0.1), from seed 42. */
    @State(Scope.Thread)
    public static class StnState {
        private dev.stride.core.Scope scope;
        AffineSampler op;
        Tensor theta;
        Tensor src;
        Tensor dst;
        Tensor diffDst;
        Tensor diffSrc;
        Tensor diffTheta;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("CustomOpsBench.stn");
            op = AffineSampler.create(scope, "stn", STN_N, STN_C, STN_HW, STN_HW, STN_HW, STN_HW,
                    SamplerOptions.DEFAULT);
            SplittableRandom rnd = new SplittableRandom(42);
            theta = uniform(Tensor.zeros(scope, "theta", op.thetaDims()), rnd, -0.1, 0.1);
            MemorySegment t = theta.segment();
            for (long n = 0; n < STN_N; n++) {
                t.setAtIndex(ValueLayout.JAVA_FLOAT, n * 6, t.getAtIndex(ValueLayout.JAVA_FLOAT, n * 6) + 1);
                t.setAtIndex(ValueLayout.JAVA_FLOAT, n * 6 + 4, t.getAtIndex(ValueLayout.JAVA_FLOAT, n * 6 + 4) + 1);
            }
            src = uniform(Tensor.zeros(scope, "src", op.srcDims()), rnd, -1, 1);
            dst = Tensor.zeros(scope, "dst", op.dstDims());
            diffDst = uniform(Tensor.zeros(scope, "diff_dst", op.dstDims()), rnd, -1, 1);
            diffSrc = Tensor.zeros(scope, "diff_src", op.srcDims());
            diffTheta = Tensor.zeros(scope, "diff_theta", op.thetaDims());
            System.out.println("# row stn: " + op.describe() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    /** Squeeze-excitation in nchw, parameters from seed 0, input from seed 42. */
    @State(Scope.Thread)
    public static class SeState {
        private dev.stride.core.Scope scope;
        Stream stream;
        SqueezeExcitation op;
        Tensor src;
        Tensor dst;
        Tensor diffDst;
        Tensor diffSrc;

        @Setup(Level.Trial)
        public void setup() {
            scope = dev.stride.core.Scope.open("CustomOpsBench.se");
            stream = Stream.create(scope);
            op = SqueezeExcitation.create(scope, "se", SE_N, SE_C, SE_HW, SE_HW, SE_R);
            SplittableRandom rnd = new SplittableRandom(42);
            src = uniform(Tensor.allocate(scope, "src", op.srcDesc()), rnd, -1, 1);
            dst = Tensor.allocate(scope, "dst", op.srcDesc());
            diffDst = uniform(Tensor.allocate(scope, "diff_dst", op.srcDesc()), rnd, -1, 1);
            diffSrc = Tensor.allocate(scope, "diff_src", op.srcDesc());
            System.out.println("# row se: " + op.describe() + ", " + Dnnl.threads() + " thread(s)");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }
    }

    @Benchmark
    public void deformV1Forward(DeformV1 s) {
        s.forward();
    }

    @Benchmark
    public void deformV1ForwardBackward(DeformV1 s) {
        s.forward();
        s.backward();
    }

    @Benchmark
    public void deformV2Forward(DeformV2 s) {
        s.forward();
    }

    @Benchmark
    public void deformV2ForwardBackward(DeformV2 s) {
        s.forward();
        s.backward();
    }

    @Benchmark
    public void convForwardBackward(PlainConvState s) {
        s.fwd.execute(s.stream, s.fwdArgs);
        s.bwdData.execute(s.stream, s.bwdDataArgs);
        s.bwdWeights.execute(s.stream, s.bwdWeightsArgs);
        s.stream.await();
    }

    @Benchmark
    public void stnForward(StnState s) {
        s.op.forward(s.theta, s.src, s.dst);
    }

    @Benchmark
    public void stnForwardBackward(StnState s) {
        s.op.forward(s.theta, s.src, s.dst);
        s.op.backward(s.theta, s.src, s.diffDst, s.diffSrc, s.diffTheta);
    }

    @Benchmark
    public void seForward(SeState s) {
        s.op.forward(s.stream, s.src, s.dst);
        s.stream.await();
    }

    @Benchmark
    public void seForwardBackward(SeState s) {
        s.op.forward(s.stream, s.src, s.dst);
        s.op.backward(s.stream, s.src, s.diffDst, s.diffSrc);
        s.stream.await();
    }
}
