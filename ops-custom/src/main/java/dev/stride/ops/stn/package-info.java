/**
 * Spatial transformer sampling in Java over off-heap tensors: the affine grid generator
 * ({@link dev.stride.ops.stn.AffineGrid}, stateless), the bilinear sampler ({@link dev.stride.ops.stn.GridSampler},
 * an owner created once for its shapes) and the two together ({@link dev.stride.ops.stn.AffineSampler}), with
 * PyTorch's {@code affine_grid}/{@code grid_sample} semantics (padding zeros or border, both
 * {@code align_corners} conventions), forward and backward for the input, the grid and {@code theta}.
 *
 * <p>All tensors are f32 in the plain row-major layout: the kernels address single pixels by row-major index.
 * A network that keeps activations blocked ({@code nChw16c}) reorders to plain before the sampler and back after.
 *
 * <p>In a network: {@link dev.stride.ops.layers.AffineSamplerLayer} on {@code (src, theta)}, with the
 * localization sub-network and its identity head added by
 * {@link dev.stride.ops.layers.CustomLayers#spatialTransformer}; {@link dev.stride.ops.stn.LocalizationHead} has
 * the pieces it uses: the zero-copy view of the head's {@code N x 6} output as {@code theta}.
 */
package dev.stride.ops.stn;
