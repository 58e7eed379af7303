package dev.stride.cli;

import dev.stride.conv.Convolution;
import dev.stride.core.Scope;
import dev.stride.io.Safetensors;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.layers.CustomLayers;
import java.io.IOException;
import java.nio.file.Path;

/** The models the command line trains, evaluates and summarises, all for Fashion-MNIST's 1 x 28 x 28 images. */
final class Zoo {
    private Zoo() {}

    /** The command line's model names. */
    enum Model { reference, resnet, densenet, seresnet, stn, deform }

    static NetworkSpec build(Model model) {
        return switch (model) {
            case reference -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                    .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                    .flatten().fc(1024).relu().fc(10).build();
            case resnet -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(32, 3).padding(1).bias(false)).batchNorm().relu()
                    .residualBlock(32, 1).residualBlock(64, 2).residualBlock(128, 2)
                    .globalAvgPool().flatten().fc(10).build();
            case densenet -> NetworkBuilder.input(1, 28, 28)
                    .conv(Convolution.Params.of(24, 3).padding(1).bias(false))
                    .denseBlock(4, 12, true).transition(0.5).denseBlock(4, 12, true).transition(0.5)
                    .batchNorm().relu().globalAvgPool().flatten().fc(10).build();
            case seresnet -> {
                NetworkBuilder b = NetworkBuilder.input(1, 28, 28)
                        .conv(Convolution.Params.of(32, 3).padding(1).bias(false)).batchNorm().relu();
                CustomLayers.seResidualBlock(b, 32, 1, 8);
                CustomLayers.seResidualBlock(b, 64, 2, 8);
                CustomLayers.seResidualBlock(b, 128, 2, 8);
                yield b.globalAvgPool().flatten().fc(10).build();
            }
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
