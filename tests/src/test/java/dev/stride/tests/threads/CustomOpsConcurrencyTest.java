package dev.stride.tests.threads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.deform.DeformGeometry;
import dev.stride.ops.layers.CustomLayers;
import dev.stride.ops.se.SqueezeExcitation;
import dev.stride.ops.stn.AffineSampler;
import dev.stride.ops.stn.GridSampler;
import dev.stride.ops.stn.SamplerOptions;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The custom ops under threads: one op object shared by eight threads (each with its own tensors and stream)
 * either refuses a concurrent call, naming both threads, or gives exactly the single-threaded result; an op
 * object per thread, and a plan per thread over a network of custom layers, always give it; a tensor an op is
 * using cannot be closed under it.
 */
class CustomOpsConcurrencyTest {

    static final int INPUTS = 4;

    /** One thread's use of the shared op: its own tensors, its own stream. */
    interface Worker {
        /** Runs the op on input {@code i} and returns the result. */
        float[] run(int i);
    }

    interface WorkerFactory {
        Worker create(Scope scope, Stream stream);
    }

    static float[] random(long seed, long n, double scale) {
        float[] v = Check.random(new SplittableRandom(seed), n);
        for (int i = 0; i < v.length; i++) {
            v[i] *= (float) scale;
        }
        return v;
    }

    /**
     * The shared op, hammered by eight threads in rounds until calls have collided: every collision is an
     * {@link IllegalStateException} naming the op and both threads, every result that came out is exactly the
     * single-threaded one.
     */
    static void sharedOpRefusesOrIsExact(String what, WorkerFactory factory) throws InterruptedException {
        float[][] want = Threads.singleThreaded(() -> {
            float[][] w = new float[INPUTS][];
            try (Scope s = Scope.open("reference"); Stream stream = Stream.create(s)) {
                Worker worker = factory.create(s, stream);
                for (int i = 0; i < INPUTS; i++) {
                    w[i] = worker.run(i);
                }
            }
            return w;
        });
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger exact = new AtomicInteger();
        for (int round = 0; round < 50 && refused.get() == 0; round++) {
            Threads.together(ConcurrencyTest.THREADS, t -> {
                try (Scope s = Scope.open("worker"); Stream stream = Stream.create(s)) {
                    Worker worker = factory.create(s, stream);
                    for (int it = 0; it < 10; it++) {
                        int i = (t + it) % INPUTS;
                        float[] got;
                        try {
                            got = worker.run(i);
                        } catch (IllegalStateException e) {
                            ConcurrencyTest.assertRefusal(e.getMessage(), what);
                            refused.incrementAndGet();
                            continue;
                        }
                        assertArrayEquals(want[i], got, what + ", thread " + t + ", input " + i);
                        exact.incrementAndGet();
                    }
                }
            });
        }
        assertTrue(refused.get() > 0 && exact.get() > 0, what + ": " + refused + " refused, " + exact + " exact");
    }

    @Test
    void aSharedSqueezeExcitationRefusesOrIsExact() throws InterruptedException {
        try (Scope check = Scope.leakChecked("shared se")) {
            SqueezeExcitation se = SqueezeExcitation.create(check, "se", 2, 16, 6, 6, 4);
            sharedOpRefusesOrIsExact("SqueezeExcitation", (scope, stream) -> {
                Tensor src = Tensor.zeros(scope, "src", se.geometry().srcDims());
                Tensor dst = Tensor.zeros(scope, "dst", se.geometry().srcDims());
                return i -> {
                    src.copyFrom(random(i, Check.count(src.dims()), 1));
                    se.forward(stream, src, dst);
                    return dst.toFloatArray();
                };
            });
            se.close();
        }
    }

    @Test
    void aSharedDeformableConvolutionRefusesOrIsExact() throws InterruptedException {
        try (Scope check = Scope.leakChecked("shared deform")) {
            long[] srcDims = {2, 4, 6, 6};
            DeformConv2d.Params p = DeformConv2d.Params.of(4, 3).padding(1).modulated(true);
            DeformConv2d op = DeformConv2d.create(check, "deform", srcDims, p);
            DeformGeometry g = op.geometry();
            Tensor weights = Tensor.of(check, "w", random(1, Check.count(g.weights()), 0.5), g.weights());
            Tensor bias = Tensor.of(check, "b", random(2, Check.count(g.biasDims()), 0.5), g.biasDims());
            sharedOpRefusesOrIsExact("DeformConv2d", (scope, stream) -> {
                Tensor src = Tensor.zeros(scope, "src", g.src());
                Tensor off = Tensor.zeros(scope, "offset", g.offset());
                Tensor mask = Tensor.zeros(scope, "mask", g.mask());
                Tensor dst = Tensor.zeros(scope, "dst", g.dst());
                return i -> {
                    src.copyFrom(random(10 + i, Check.count(g.src()), 1));
                    off.copyFrom(random(20 + i, Check.count(g.offset()), 1.5));
                    mask.copyFrom(random(30 + i, Check.count(g.mask()), 1));
                    op.forward(stream, src, off, mask, weights, bias, dst);
                    return dst.toFloatArray();
                };
            });
        }
    }

    @Test
    void aSharedGridSamplerAndAffineSamplerRefuseOrAreExact() throws InterruptedException {
        try (Scope check = Scope.leakChecked("shared samplers")) {
            long[] srcDims = {2, 3, 5, 5};
            long[] dstDims = {2, 3, 4, 4};
            GridSampler grid = GridSampler.create(check, "sampler", 2, 3, 5, 5, 4, 4, SamplerOptions.DEFAULT);
            sharedOpRefusesOrIsExact("GridSampler", (scope, stream) -> {
                Tensor src = Tensor.zeros(scope, "src", srcDims);
                Tensor points = Tensor.zeros(scope, "grid", grid.gridDims());
                Tensor dst = Tensor.zeros(scope, "dst", dstDims);
                return i -> {
                    src.copyFrom(random(40 + i, Check.count(srcDims), 1));
                    points.copyFrom(random(50 + i, Check.count(grid.gridDims()), 1.1));
                    grid.forward(src, points, dst);
                    return dst.toFloatArray();
                };
            });
            AffineSampler affine = AffineSampler.create(check, "stn", 2, 3, 5, 5, 4, 4, SamplerOptions.DEFAULT);
            sharedOpRefusesOrIsExact("AffineSampler", (scope, stream) -> {
                Tensor theta = Tensor.zeros(scope, "theta", affine.thetaDims());
                Tensor src = Tensor.zeros(scope, "src", srcDims);
                Tensor dst = Tensor.zeros(scope, "dst", dstDims);
                return i -> {
                    theta.copyFrom(random(60 + i, 12, 1));
                    src.copyFrom(random(70 + i, Check.count(srcDims), 1));
                    affine.forward(theta, src, dst);
                    return dst.toFloatArray();
                };
            });
        }
    }

    /** SE, a spatial transformer and a modulated deformable convolution in one network. */
    static NetworkSpec custom() {
        NetworkBuilder b = NetworkBuilder.input(2, 8, 8);
        CustomLayers.spatialTransformer(b, loc -> loc.flatten().fc(8).relu());
        CustomLayers.deformConv(b, DeformConv2d.Params.of(8, 3).padding(1).modulated(true));
        b.batchNorm().relu();
        CustomLayers.seResidualBlock(b, 8, 1, 4);
        return b.globalAvgPool().flatten().fc(4).build();
    }

    @Test
    void plansPerThreadOverACustomLayerNetworkGiveTheSingleThreadedOutputs() throws InterruptedException {
        try (Scope check = Scope.leakChecked("custom plan per thread"); Network net = Network.create(custom(), 5)) {
            float[][] in = new float[INPUTS][];
            for (int i = 0; i < INPUTS; i++) {
                in[i] = random(80 + i, 3L * 2 * 8 * 8, 1);
            }
            float[][] want = Threads.singleThreaded(() -> {
                try (Plan p = net.plan(3, Mode.INFERENCE)) {
                    return ConcurrencyTest.run(p, in);
                }
            });
            Threads.together(ConcurrencyTest.THREADS, t -> {
                try (Plan p = net.plan(3, Mode.INFERENCE)) {
                    for (int it = 0; it < 10; it++) {
                        int i = (t + it) % INPUTS;
                        p.input().copyFrom(in[i]);
                        assertArrayEquals(want[i], p.forward().toFloatArray(), "thread " + t + ", input " + i);
                    }
                }
            });
        }
    }

    @Test
    void closingAnOpOrATensorThatAnotherThreadMarkedInUseIsRefused() throws InterruptedException {
        try (Scope check = Scope.leakChecked("custom close in use")) {
            SqueezeExcitation se = SqueezeExcitation.create(check, "se", 1, 8, 2, 2, 4);
            Tensor src = Tensor.of(check, "src", random(1, 32, 1), 1, 8, 2, 2);
            Tensor dst = Tensor.zeros(check, "dst", 1, 8, 2, 2);
            Threads.InUse user = new Threads.InUse(se, "test"); // what se.forward does while it runs
            IllegalStateException e = assertThrows(IllegalStateException.class, se::close);
            assertTrue(e.getMessage().contains("in use by thread " + Threads.label(user.thread)), e.getMessage());
            assertFalse(se.isClosed());
            user.close();
            try (Stream stream = Stream.create(check)) {
                se.forward(stream, src, dst); // whole and usable
            }
            se.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> {
                try (Stream stream = Stream.create(check)) {
                    se.forward(stream, src, dst);
                }
            });
            assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
        }
    }
}
