/**
 * The custom ops as network layers, through the same {@link dev.stride.nn.Layer} interface as the built-in
 * ones: {@link dev.stride.ops.layers.DeformConvLayer} (v1/v2, offsets and mask as inputs),
 * {@link dev.stride.ops.layers.SqueezeExcitationLayer}, {@link dev.stride.ops.layers.AffineSamplerLayer} (the
 * spatial transformer's sampler on {@code (src, theta)}), {@link dev.stride.ops.layers.Initialised} (a layer with
 * re-initialised parameters: zero offset convolutions, the identity localization head), and
 * {@link dev.stride.ops.layers.CustomLayers}, which adds each with its branches in one call.
 *
 * <p>Their Java kernels index activations directly, so each planned layer reorders its inputs to a plain layout
 * when the layers before chose a blocked one, and its input gradients back (each class says which and why).
 */
package dev.stride.ops.layers;
