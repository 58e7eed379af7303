package dev.stride.cli;

import dev.stride.conv.Convolution;
import dev.stride.core.Scope;
import dev.stride.io.Safetensors;
import dev.stride.nn.Models;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.layers.CustomLayers;
import java.io.IOException;
import java.nio.file.Path;

/** The models the command line trains, evaluates and summarises, all for Fashion-MNIST's 1 x 28 x 28 images. */
final class Zoo {
    private Zoo() {}

    /**
     * The command line's model names: {@link Models}' three, an SE-ResNet shaped like {@link Models#smallResNet()}
     * with squeeze-excitation (r = 4) in every block, the reference convnet behind a spatial transformer, and the
     * reference convnet with a deformable second convolution; and the reference convnet with batch normalization
     * after each convolution and dropout before its last FC (the Fashion-MNIST benchmark's "2 Conv+pooling+BN");
     * and two larger nets for the longer runs: a VGG-style stack of 3x3 convolutions with BN, and a wider SE-ResNet.
     */
    enum Model { reference, referencebn, vggbn, resnet, densenet, seresnet, wideseresnet, stn, deform }

    static NetworkSpec build(Model model) {
        return switch (model) {
            case reference -> Models.tfReference();
            // conv (no bias: BN's shift replaces it, and inference folds BN into the conv) + BN + ReLU.
            case referencebn -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(32, 5).samePadding().bias(false)).batchNorm().relu().maxPool(2, 2)
                    .conv(Convolution.Params.of(64, 5).samePadding().bias(false)).batchNorm().relu().maxPool(2, 2)
                    .flatten().fc(1024).relu().dropout(0.5).fc(10).build();
            // Two stages of two 3x3 conv-BN-ReLU (32 then 64 filters), each closed by 2x2 max pooling, then a
            // 512-unit FC with dropout: about 4x the reference convnet's convolution work, a third of its weights.
            case vggbn -> {
                NetworkBuilder b = NetworkBuilder.input(1, 28, 28);
                for (int filters : new int[] {32, 64}) {
                    b.conv(Convolution.Params.of(filters, 3).padding(1).bias(false)).batchNorm().relu()
                            .conv(Convolution.Params.of(filters, 3).padding(1).bias(false)).batchNorm().relu()
                            .maxPool(2, 2);
                }
                yield b.flatten().fc(512).relu().dropout(0.5).fc(10).build();
            }
            case resnet -> Models.smallResNet();
            case densenet -> Models.smallDenseNet();
            case seresnet -> seResNet(16, 4);
            // The same SE-ResNet with twice the filters (32/64/128) and SE reduction 8.
            case wideseresnet -> seResNet(32, 8);
            // A spatial transformer front-end (its own small localization net) before the reference convnet.
            case stn -> {
                NetworkBuilder b = NetworkBuilder.input(1, 28, 28);
                CustomLayers.spatialTransformer(b, loc -> loc.conv(8, 5).maxPool(2, 2).relu().conv(16, 5)
                        .maxPool(2, 2).relu().flatten().fc(32).relu());
                yield b.conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                        .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                        .flatten().fc(1024).relu().fc(10).build();
            }
            // The reference convnet with its second convolution deformable (v2: offsets and a modulation mask).
            case deform -> {
                NetworkBuilder b = NetworkBuilder.input(1, 28, 28)
                        .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2);
                CustomLayers.deformConv(b, DeformConv2d.Params.of(64, 3).padding(1), 1, true);
                yield b.relu().maxPool(2, 2).flatten().fc(1024).relu().fc(10).build();
            }
        };
    }

    /**
     * A 3x3 conv-BN-ReLU stem of {@code width} filters, three SE-residual blocks of {@code width}, 2x and 4x
     * filters (the last two strided), SE reduction {@code r}, global average pooling and the 10-way FC.
     */
    private static NetworkSpec seResNet(int width, long r) {
        NetworkBuilder b = NetworkBuilder.input(1, 28, 28)
                .conv(Convolution.Params.of(width, 3).padding(1).bias(false)).batchNorm().relu();
        CustomLayers.seResidualBlock(b, width, 1, r);
        CustomLayers.seResidualBlock(b, 2 * width, 2, r);
        CustomLayers.seResidualBlock(b, 4 * width, 2, r);
        return b.globalAvgPool().flatten().fc(10).build();
    }

    /** The model a checkpoint written by {@code stride train} names in its metadata. */
    static Model modelOf(Path checkpoint) throws IOException {
        try (Scope s = Scope.open("peek")) {
            String name = Safetensors.open(s, checkpoint, false).metadata().get("model");
            if (name == null) {
                throw new IllegalArgumentException(checkpoint + " does not say which model it holds; pass --model");
            }
            return Model.valueOf(name);
        }
    }
}
