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
 * <p>The {@code SpatialTransformer} layer itself (a localization sub-network built with the network builder,
 * then {@link dev.stride.ops.stn.AffineSampler}) belongs to the network builder; {@link
 * dev.stride.ops.stn.LocalizationHead} has the pieces it needs: the identity initialisation of the last FC and
 * the zero-copy view of its {@code N x 6} output as {@code theta}.
 */
package dev.stride.ops.stn;
