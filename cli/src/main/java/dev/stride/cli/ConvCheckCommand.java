package dev.stride.cli;

import dev.stride.conv.Convolution;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.data.Idx;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stride conv-check}: one convolution on real Fashion-MNIST images through oneDNN, checked against
 * naive Java loops, and timed.
 */
@Command(name = "conv-check", mixinStandardHelpOptions = true,
        description = "Run a 5x5 'same' convolution (32 filters) on real Fashion-MNIST test images with oneDNN, "
                + "check it against a naive Java reference and time it.")
final class ConvCheckCommand implements Callable<Integer> {

    @Option(names = "--data", description = "Fashion-MNIST directory (default: ${DEFAULT-VALUE})",
            defaultValue = "/usr/share/datasets/fashion-mnist")
    Path data;

    @Option(names = "--images", description = "How many test images form the batch (default: ${DEFAULT-VALUE})",
            defaultValue = "64")
    int images;

    @Option(names = "--seed", description = "Seed of the random filters (default: ${DEFAULT-VALUE})", defaultValue = "42")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (images < 1) {
            throw new IllegalArgumentException("--images must be >= 1, got " + images);
        }
        Idx.Array raw = Idx.read(data.resolve("t10k-images-idx3-ubyte.gz"), 3, images);
        int n = raw.count();
        int h = raw.dims()[1];
        int w = raw.dims()[2];
        float[] src = new float[raw.data().length];
        for (int i = 0; i < src.length; i++) {
            src[i] = (raw.data()[i] & 0xff) / 255f;
        }
        long[] srcDims = {n, 1, h, w};
        Convolution.Params params = Convolution.Params.of(32, 5).samePadding();
        Convolution.Geometry g = Convolution.Geometry.of("conv1", srcDims, params);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] weights = new float[(int) (g.dst()[1] * g.weightsPerFilter())];
        double std = Math.sqrt(2.0 / g.weightsPerFilter());
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) (rnd.nextGaussian() * std);
        }
        float[] bias = new float[(int) g.dst()[1]];
        for (int i = 0; i < bias.length; i++) {
            bias[i] = (float) (rnd.nextDouble() - 0.5) * 0.1f;
        }

        try (Scope scope = Scope.open("conv-check"); Stream stream = Stream.create(scope)) {
            Convolution.Forward conv = Convolution.Forward.create(scope, "conv1", srcDims, params,
                    PropKind.INFERENCE, null);
            Tensor x = Tensor.of(scope, "images", src, srcDims);
            Tensor wt = Tensor.of(scope, "weights", weights, g.weights());
            Tensor b = Tensor.of(scope, "bias", bias, g.bias());
            Tensor y = Tensor.zeros(scope, "dst", g.dst());
            conv.executePlain(stream, x, wt, b, y);
            float[] got = y.toFloatArray();
            float[] want = ConvolutionReference.forward(g, src, weights, bias);
            double maxErr = 0;
            double maxRef = 0;
            for (int i = 0; i < got.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
                maxRef = Math.max(maxRef, Math.abs(want[i]));
            }

            // Timed in the primitive's own layouts, as a network runs it.
            Tensor xs = x.reorder(scope, conv.srcDesc(), stream);
            Tensor ws = wt.reorder(scope, conv.weightsDesc(), stream);
            Tensor ys = Tensor.allocate(scope, "dst.blocked", conv.dstDesc());
            var args = conv.bind(scope, xs, ws, b, ys);
            long[] times = new long[30];
            for (int r = -10; r < times.length; r++) {
                long t0 = System.nanoTime();
                conv.execute(stream, args);
                stream.await();
                if (r >= 0) {
                    times[r] = System.nanoTime() - t0;
                }
            }
            Arrays.sort(times);
            double medianMs = times[times.length / 2] / 1e6;

            System.out.printf("data           : %d Fashion-MNIST test images from %s%n", n, data);
            System.out.printf("convolution    : %s on %s -> %s%n", params, Arrays.toString(srcDims), Arrays.toString(g.dst()));
            System.out.printf("layouts        : src %s, weights %s, dst %s%n", conv.srcDesc().layout(),
                    conv.weightsDesc().layout(), conv.dstDesc().layout());
            System.out.printf("implementation : %s%n", conv.primitive().implementation());
            System.out.printf("check          : max |oneDNN - naive Java| = %.3g (largest output %.3g)%n", maxErr, maxRef);
            System.out.printf("speed          : median %.3f ms per batch, %.1f GFLOP/s%n", medianMs,
                    g.forwardFlops() / (medianMs * 1e6));
            boolean ok = maxErr <= 1e-4 * Math.max(1, maxRef);
            System.out.println(ok ? "result         : OK" : "result         : MISMATCH");
            return ok ? 0 : 1;
        }
    }
}
