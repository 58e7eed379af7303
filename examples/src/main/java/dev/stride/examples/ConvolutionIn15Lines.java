package dev.stride.examples;

import dev.stride.conv.Convolution;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;

/** README, "A convolution in 15 lines": one 3x3 convolution over plain NCHW arrays. */
public final class ConvolutionIn15Lines {

    private ConvolutionIn15Lines() {}

    /** Convolves 8 random 3x32x32 images with 16 random filters and prints the first outputs. */
    public static void main(String[] args) {
        var random = new java.util.Random(42);
        float[] images = new float[8 * 3 * 32 * 32];
        float[] filters = new float[16 * 3 * 3 * 3];
        for (int i = 0; i < images.length; i++) images[i] = random.nextFloat();
        for (int i = 0; i < filters.length; i++) filters[i] = random.nextFloat() - 0.5f;
        float[] out = convolve(images, filters);
        System.out.println(java.util.Arrays.toString(java.util.Arrays.copyOf(out, 8)));
    }

    // @start region=conv
    static float[] convolve(float[] images, float[] filters) {
        try (Scope scope = Scope.open("example"); Stream stream = Stream.create(scope)) {
            long[] srcDims = {8, 3, 32, 32};                                   // N, C, H, W
            var params = Convolution.Params.of(16, 3).padding(1);              // K=16 filters, F=3, P=1
            var conv = Convolution.Forward.create(scope, "conv1", srcDims, params);
            var g = conv.geometry();                                           // shapes, checked in Java

            Tensor src = Tensor.of(scope, "src", images, srcDims);
            Tensor weights = Tensor.of(scope, "weights", filters, g.weights()); // K x C x F x F
            Tensor bias = Tensor.zeros(scope, "bias", g.bias());
            Tensor dst = Tensor.zeros(scope, "dst", g.dst());                  // 8 x 16 x 32 x 32

            conv.executePlain(stream, src, weights, bias, dst);                // reorders plain <-> blocked
            return dst.toFloatArray();
        }
    }
    // @end
}
