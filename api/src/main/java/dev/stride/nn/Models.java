package dev.stride.nn;

import dev.stride.conv.Convolution;

/**
 * Ready-made networks for Fashion-MNIST-sized inputs ({@code 1 x 28 x 28}, 10 classes): the models the
 * end-to-end benchmark runs against PyTorch, and the ones a newcomer tries first.
 *
 * <p>Every method returns a fresh {@link NetworkSpec}; plan it with {@link Network#create} and
 * {@link Network#plan}. Default layer names ({@code conv1}, {@code batchnorm2}, ...) follow the builder.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class Models {

    /** Fashion-MNIST: one grey channel of 28 x 28 pixels. */
    public static final long[] INPUT = {1, 28, 28};
    /** Fashion-MNIST's classes. */
    public static final long CLASSES = 10;

    private Models() {}

    /**
     * TensorFlow's Fashion-MNIST reference convnet: conv 5x5 (32, "same") + ReLU, 2x2/2 max pooling,
     * conv 5x5 (64, "same") + ReLU, 2x2/2 max pooling, flatten, FC 3136 -> 1024 + ReLU, FC 1024 -> 10.
     * 3,274,634 parameters; about 28 MFLOP per sample forward.
     */
    public static NetworkSpec tfReference() {
        return NetworkBuilder.input(INPUT)
                .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                .flatten().fc(1024).relu().fc(CLASSES)
                .build();
    }

    /**
     * A small ResNet: stem conv 3x3 (16, no bias) + BN + ReLU, basic residual blocks of 16 (28 x 28),
     * 32 (stride 2, 14 x 14) and 64 (stride 2, 7 x 7) filters ({@link NetworkBuilder#residualBlock}), global
     * average pooling, FC 64 -> 10.
     */
    public static NetworkSpec smallResNet() {
        return NetworkBuilder.input(INPUT)
                .conv(Convolution.Params.of(16, 3).padding(1).bias(false)).batchNorm().relu()
                .residualBlock(16, 1).residualBlock(32, 2).residualBlock(64, 2)
                .globalAvgPool().flatten().fc(CLASSES)
                .build();
    }

    /**
     * A small DenseNet-BC: stem conv 3x3 (24 = twice the growth rate, no bias), a dense block of 4 bottleneck
     * layers with growth 12 (28 x 28, 24 -> 72 channels), a transition halving channels and size (36 channels,
     * 14 x 14), a second dense block (36 -> 84 channels), the final BN + ReLU of DenseNet, global average
     * pooling, FC 84 -> 10.
     */
    public static NetworkSpec smallDenseNet() {
        return NetworkBuilder.input(INPUT)
                .conv(Convolution.Params.of(24, 3).padding(1).bias(false))
                .denseBlock(4, 12, true).transition(0.5).denseBlock(4, 12, true)
                .batchNorm().relu().globalAvgPool().flatten().fc(CLASSES)
                .build();
    }
}
