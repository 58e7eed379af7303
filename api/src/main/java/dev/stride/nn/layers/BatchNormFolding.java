package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.Node;
import dev.stride.nn.PlanContext;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Batch normalization folded into the convolution before it, for inference: with
 * {@code s_k = gamma_k / sqrt(running_var_k + eps)}, {@code w'_k = s_k w_k} and
 * {@code b'_k = s_k (b_k - running_mean_k) + beta_k}, so {@code bn(conv(x)) = conv'(x)} and no batch
 * normalization runs. Recomputed from the live parameters before every forward (a pass over the weights, tiny
 * next to the convolution), so a plan never serves stale values after an optimizer step or a load.
 */
final class BatchNormFolding implements Runnable {

    private final Tensor weight;
    private final Tensor convBias;
    private final Tensor gamma;
    private final Tensor beta;
    private final Tensor mean;
    private final Tensor variance;
    private final double epsilon;
    private final Tensor foldedWeights;
    private final Tensor foldedBias;

    BatchNormFolding(PlanContext ctx) {
        Node bn = ctx.foldedBatchNorm();
        BatchNormLayer layer = (BatchNormLayer) bn.layer();
        this.weight = ctx.tensor("weight");
        this.convBias = ctx.hasTensor("bias") ? ctx.tensor("bias") : null;
        boolean affine = layer.params().affine();
        this.gamma = affine ? ctx.tensorOf(bn, "weight") : null;
        this.beta = affine ? ctx.tensorOf(bn, "bias") : null;
        this.mean = ctx.tensorOf(bn, "running_mean");
        this.variance = ctx.tensorOf(bn, "running_var");
        this.epsilon = layer.params().epsilon();
        this.foldedWeights = ctx.buffer("folded_weight", ctx.plain(weight.dims()));
        this.foldedBias = ctx.buffer("folded_bias", ctx.plain(mean.dims()));
    }

    Tensor weights() {
        return foldedWeights;
    }

    Tensor bias() {
        return foldedBias;
    }

    @Override
    public void run() {
        MemorySegment w = weight.segment();
        MemorySegment fw = foldedWeights.segment();
        MemorySegment fb = foldedBias.segment();
        int k = (int) mean.dims()[0];
        long perFilter = w.byteSize() / Float.BYTES / k; // plain weights keep each output channel contiguous
        for (int c = 0; c < k; c++) {
            double g = gamma == null ? 1 : get(gamma, c);
            double s = g / Math.sqrt(get(variance, c) + epsilon);
            double b0 = convBias == null ? 0 : get(convBias, c);
            double shift = beta == null ? 0 : get(beta, c);
            fb.setAtIndex(ValueLayout.JAVA_FLOAT, c, (float) (s * (b0 - get(mean, c)) + shift));
            float sf = (float) s;
            long base = c * perFilter;
            for (long i = base; i < base + perFilter; i++) {
                fw.setAtIndex(ValueLayout.JAVA_FLOAT, i, sf * w.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            }
        }
    }

    private static double get(Tensor t, int i) {
        return t.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }
}
