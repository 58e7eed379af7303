package dev.stride.ops.layers;

import dev.stride.conv.Convolution;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.Node;
import dev.stride.nn.Param;
import dev.stride.nn.layers.ConvLayer;
import dev.stride.nn.layers.DenseLayer;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.deform.DeformGeometry;
import dev.stride.ops.stn.LocalizationHead;
import dev.stride.ops.stn.SamplerOptions;
import java.util.function.UnaryOperator;

/**
 * The custom ops added to a {@link NetworkBuilder} in one call each, the way the builder's own
 * {@code residualBlock} and {@code denseBlock} add blocks: every layer's shape is checked as it is added.
 *
 * {@snippet :
 * NetworkBuilder b = NetworkBuilder.input(1, 28, 28);
 * CustomLayers.spatialTransformer(b, loc -> loc.conv(8, 5).maxPool(2, 2).relu().flatten().fc(32).relu());
 * b.conv(16, 3).batchNorm().relu();
 * CustomLayers.deformConv(b, DeformConv2d.Params.of(32, 3).padding(1).modulated(true)).relu();
 * CustomLayers.seResidualBlock(b, 32, 2, 8);
 * NetworkSpec spec = b.globalAvgPool().flatten().fc(10).build();
 * }
 *
 * <p>Thread-safe: static functions; the builder they add to is not (build on one thread).
 */
public final class CustomLayers {
    private CustomLayers() {}

    /** Adds a squeeze-excitation layer with reduction ratio {@code r} ({@link SqueezeExcitationLayer}). */
    public static NetworkBuilder squeezeExcitation(NetworkBuilder b, long r) {
        return b.layer(new SqueezeExcitationLayer(r));
    }

    /**
     * A basic residual block with squeeze-excitation (SE-ResNet, Hu et al. Fig. 3): 3x3 conv (stride
     * {@code stride}, "same" padding)-BN-ReLU-3x3 conv-BN-SE, plus the shortcut, then ReLU. The shortcut is the
     * builder's {@code residualBlock}'s: the identity when the shape is kept, else 2x2/2 average pooling (if
     * strided) and a 1x1 conv with BN.
     *
     * @param filters output channels {@code K}, divisible by {@code r}
     * @param stride  1 or 2
     * @param r       the SE reduction ratio
     */
    public static NetworkBuilder seResidualBlock(NetworkBuilder b, int filters, int stride, long r) {
        if (stride != 1 && stride != 2) {
            throw new IllegalArgumentException("SE-residual block stride must be 1 or 2, got " + stride);
        }
        Node in = b.current();
        b.conv(Convolution.Params.of(filters, 3).stride(stride).samePadding().bias(false)).batchNorm().relu();
        b.conv(Convolution.Params.of(filters, 3).padding(1).bias(false)).batchNorm();
        squeezeExcitation(b, r);
        Node main = b.current();
        Node shortcut = in;
        if (stride != 1 || in.shape().channels() != filters) {
            b.from(in);
            if (stride == 2) {
                b.avgPool(2, 2);
            }
            b.conv(Convolution.Params.of(filters, 1).bias(false)).batchNorm();
            shortcut = b.current();
        }
        return b.from(main).add(shortcut).relu();
    }

    /**
     * A spatial transformer in front of the current node, sampling at the input's size with PyTorch's defaults;
     * see {@link #spatialTransformer(NetworkBuilder, UnaryOperator, long, long, SamplerOptions)}.
     */
    public static NetworkBuilder spatialTransformer(NetworkBuilder b, UnaryOperator<NetworkBuilder> localization) {
        return spatialTransformer(b, localization, 0, 0, SamplerOptions.DEFAULT);
    }

    /**
     * A spatial transformer (Jaderberg et al. 2015) applied to the current node {@code x}: the localization
     * network, built by {@code localization} as a branch from {@code x} with the builder's ordinary methods
     * ({@code loc -> loc.conv(8, 7).maxPool(2, 2).relu().flatten().fc(32).relu()}), then a fully connected head
     * of 6 outputs initialised to the identity transform (weights zero, bias {@code (1, 0, 0, 0, 1, 0)}; kind
     * {@code theta}), then {@link AffineSamplerLayer} on {@code (x, theta)}. Gradients reach the localization
     * network through {@code theta}.
     *
     * @param height  output height, or 0 for the input's
     * @param width   output width, or 0 for the input's
     * @param options padding and {@code align_corners}
     */
    public static NetworkBuilder spatialTransformer(NetworkBuilder b, UnaryOperator<NetworkBuilder> localization,
            long height, long width, SamplerOptions options) {
        Node x = b.current();
        if (x.shape().rank() != 3) {
            throw new IllegalArgumentException("spatial transformer: samples C x H x W images, but the current node "
                    + x.name() + " is " + x.shape());
        }
        AffineSamplerLayer sampler = new AffineSamplerLayer(height, width, options);
        NetworkBuilder built = localization.apply(b);
        if (built != b) {
            throw new IllegalArgumentException("spatial transformer: the localization function must add its layers to "
                    + "the builder it is given and return it");
        }
        b.layer(Initialised.of(new DenseLayer(LocalizationHead.THETA_FEATURES, true), "theta",
                "weight", Param.Init.ZEROS, "bias", Param.Init.IDENTITY_AFFINE));
        Node theta = b.current();
        return b.layer(sampler, x, theta);
    }

    /**
     * A deformable convolution of the current node with the branches that predict its offsets (and mask):
     * a regular convolution with the same extent, stride, padding and dilation and {@code 2*G_off*KH*KW}
     * filters (kind {@code deform_offset}), and for v2 one with {@code G_off*KH*KW} filters followed by a
     * sigmoid (kind {@code deform_mask}), both initialised to zero as in torchvision's examples and mmcv's
     * {@code DeformConv2dPack}: training starts from the plain convolution (v2: with every tap scaled by 0.5),
     * and the offsets learn from the gradients that reach them. Then {@link DeformConvLayer}.
     */
    public static NetworkBuilder deformConv(NetworkBuilder b, DeformConv2d.Params params) {
        Node x = b.current();
        if (x.shape().rank() != 3) {
            throw new IllegalArgumentException("deformable convolution: expects a C x H x W input, but the current node "
                    + x.name() + " is " + x.shape());
        }
        DeformConvLayer layer = new DeformConvLayer(params);
        // Checked before the branches are added, so that a bad geometry is reported as the deformable conv's.
        DeformGeometry.of("deformable convolution after " + x.name(), x.shape().withBatch(1), params);
        int[] f = params.extent();
        int taps = f.length == 1 ? f[0] * f[0] : f[0] * f[1];
        int groups = params.offsetGroups();
        b.layer(Initialised.of(new ConvLayer(window(params, 2 * groups * taps)), "deform_offset",
                "weight", Param.Init.ZEROS, "bias", Param.Init.ZEROS));
        Node offset = b.current();
        if (!params.modulated()) {
            return b.layer(layer, x, offset);
        }
        b.from(x).layer(Initialised.of(new ConvLayer(window(params, groups * taps)), "deform_mask",
                "weight", Param.Init.ZEROS, "bias", Param.Init.ZEROS));
        b.activation(Eltwise.Algorithm.LOGISTIC, 0, 0);
        Node mask = b.current();
        return b.layer(layer, x, offset, mask);
    }

    /** {@link #deformConv(NetworkBuilder, DeformConv2d.Params)} with the offset groups and v1/v2 given here. */
    public static NetworkBuilder deformConv(NetworkBuilder b, DeformConv2d.Params params, int offsetGroups,
            boolean modulated) {
        return deformConv(b, params.offsetGroups(offsetGroups).modulated(modulated));
    }

    /** A convolution over the deformable convolution's regular grid with {@code filters} outputs. */
    private static Convolution.Params window(DeformConv2d.Params p, int filters) {
        return Convolution.Params.of(filters, p.extent()).stride(p.stride()).padding(p.padding())
                .dilation(p.dilation());
    }
}
