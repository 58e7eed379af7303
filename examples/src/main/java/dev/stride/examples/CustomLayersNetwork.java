package dev.stride.examples;

import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.layers.CustomLayers;

/** README, the custom ops as layers: a spatial transformer, a deformable convolution and an SE residual block. */
public final class CustomLayersNetwork {

    private CustomLayersNetwork() {}

    /** Prints the summary. */
    public static void main(String[] args) {
        System.out.println(build().summary());
    }

    static NetworkSpec build() {
        // @start region=custom-layers
        NetworkBuilder b = NetworkBuilder.input(1, 28, 28);
        CustomLayers.spatialTransformer(b, loc -> loc.conv(8, 5).maxPool(2, 2).relu().flatten().fc(32).relu());
        b.conv(16, 3).batchNorm().relu();
        CustomLayers.deformConv(b, DeformConv2d.Params.of(32, 3).padding(1).modulated(true)).relu();
        CustomLayers.seResidualBlock(b, 32, 2, 8);
        NetworkSpec spec = b.globalAvgPool().flatten().fc(10).build();
        // @end
        return spec;
    }
}
