package dev.stride.ops.stn;

/**
 * How the spatial transformer maps normalized coordinates to pixels and what it reads outside the input:
 * the {@code padding_mode} and {@code align_corners} arguments of PyTorch's {@code affine_grid} and
 * {@code grid_sample}, with PyTorch's defaults ({@link #DEFAULT}: zeros padding, {@code align_corners=False}).
 *
 * <p><b>align_corners</b>: with {@code true}, {@code -1} and {@code +1} are the centres of the corner pixels,
 * so {@code x_pix = (x + 1)/2 * (W - 1)}; with {@code false} they are the outer edges of the corner pixels,
 * so {@code x_pix = ((x + 1) * W - 1)/2}. The grid generator uses the same convention for the output grid,
 * which makes the identity {@code theta} reproduce the input exactly under either convention.
 *
 * @param padding      what a sample point outside the input reads
 * @param alignCorners the coordinate convention above
 *
 * <p>Immutable, safe to share between threads.
 */
public record SamplerOptions(Padding padding, boolean alignCorners) {

    /** What a bilinear tap outside the input reads. */
    public enum Padding {
        /** Zero (PyTorch {@code padding_mode='zeros'}). */
        ZEROS("zeros"),
        /**
         * The nearest border pixel: the sample coordinate is clamped to {@code [0, W-1] x [0, H-1]}
         * (PyTorch {@code padding_mode='border'}); the grid gradient is zero where the clamp is active.
         */
        BORDER("border");

        private final String label;

        Padding(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** PyTorch's defaults: zeros padding, {@code align_corners=False}. */
    public static final SamplerOptions DEFAULT = new SamplerOptions(Padding.ZEROS, false);

    public SamplerOptions {
        if (padding == null) {
            throw new IllegalArgumentException("padding must not be null (ZEROS or BORDER)");
        }
    }

    public SamplerOptions padding(Padding p) {
        return new SamplerOptions(p, alignCorners);
    }

    public SamplerOptions alignCorners(boolean align) {
        return new SamplerOptions(padding, align);
    }

    /** Only what differs from the defaults, as PyTorch's {@code extra_repr} does. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (padding != Padding.ZEROS) {
            sb.append("padding_mode=").append(padding.label());
        }
        if (alignCorners) {
            sb.append(sb.isEmpty() ? "" : ", ").append("align_corners=True");
        }
        return sb.toString();
    }
}
