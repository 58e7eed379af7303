package dev.stride.ops.stn;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.Arrays;

/**
 * The pieces a {@code SpatialTransformer} layer needs around its localization network: the last fully
 * connected layer has 6 outputs, read as {@code theta} ({@code N x 2 x 3}, row-major, so
 * {@code (t00, t01, t02, t10, t11, t12)}), and starts as the identity transform (weights 0, bias
 * {@code (1, 0, 0, 0, 1, 0)}), so that training begins from "sample the input as it is" (Jaderberg et al.
 * 2015; PyTorch's STN tutorial initialises {@code fc_loc[2]} the same way).
 *
 * <p>Thread-safe: static functions without state.
 */
public final class LocalizationHead {
    private LocalizationHead() {}

    /** Outputs of the localization network's last FC: the six entries of {@code theta}. */
    public static final int THETA_FEATURES = 6;

    /** The identity transform {@code [[1, 0, 0], [0, 1, 0]]} in row-major order. */
    public static float[] identityTheta() {
        return new float[] {1f, 0f, 0f, 0f, 1f, 0f};
    }

    /** The identity {@code theta} repeated for a batch: {@code N x 2 x 3} values, row-major. */
    public static float[] identityTheta(int n) {
        float[] t = new float[THETA_FEATURES * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(identityTheta(), 0, t, THETA_FEATURES * i, THETA_FEATURES);
        }
        return t;
    }

    /**
     * Initialises the last FC of a localization network to output the identity {@code theta} for every
     * input: all weights 0, bias {@code (1, 0, 0, 0, 1, 0)}. Works for the weights in any layout oneDNN chose
     * (the inner product's {@code 6 x C[xHxW]}, blocked or plain).
     *
     * @param weights the FC's weights; the first dim must be 6
     * @param bias    the FC's bias, {@code [6]}
     */
    public static void initIdentity(Tensor weights, Tensor bias) {
        long[] wd = weights.dims();
        if (wd.length < 2 || wd[0] != THETA_FEATURES) {
            throw new IllegalArgumentException("localization head: weights must be [6, ...] (6 = the entries of theta), got "
                    + Arrays.toString(wd));
        }
        long[] bd = bias.dims();
        if (bd.length != 1 || bd[0] != THETA_FEATURES) {
            throw new IllegalArgumentException("localization head: bias must be [6], got " + Arrays.toString(bd));
        }
        weights.copyFrom(new float[Math.toIntExact(weights.desc().elements())]);
        bias.copyFrom(identityTheta());
    }

    /**
     * The FC's output {@code N x 6} seen as {@code theta} {@code N x 2 x 3}, the same bytes (no copy). Create
     * it once when the network is planned; it stays valid while {@code fcOut} is open.
     *
     * @param fcOut the localization network's output, plain f32 {@code [N, 6]}
     */
    public static Tensor thetaView(Scope scope, String name, Tensor fcOut) {
        long[] d = fcOut.dims();
        if (d.length != 2 || d[1] != THETA_FEATURES) {
            throw new IllegalArgumentException(name + ": the localization output must be [N, 6] to be read as theta "
                    + "[N, 2, 3], got " + Arrays.toString(d));
        }
        StnChecks.requirePlainF32(name, "localization output", fcOut);
        try (Scope tmp = Scope.open(name + ".desc")) {
            return Tensor.wrap(scope, name, MemoryDesc.plain(tmp, AffineGrid.thetaDims(d[0])), fcOut.segment());
        }
    }
}
