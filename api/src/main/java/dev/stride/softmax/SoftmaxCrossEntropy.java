package dev.stride.softmax;

import dev.stride.core.DataType;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Shapes;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Softmax cross-entropy loss over integer class labels, averaged over the batch (PyTorch's
 * {@code F.cross_entropy(logits, labels)} with its default {@code reduction='mean'}).
 *
 * <p>{@code loss = -(1/N) sum_n log softmax(logits[n])[label_n]}, and
 * {@code dloss/dlogits[n, k] = (softmax(logits[n])[k] - [k == label_n]) / N}.
 *
 * <p>The log-probabilities come from oneDNN's log-softmax, which never forms probabilities that could
 * underflow to 0 (a confident wrong answer gives a large finite loss, not infinity). Gathering the labelled
 * entries and the mean run in Java over the off-heap log-probabilities, and so does the gradient, which needs
 * only {@code exp(log p)} and the labels.
 *
 * <p><b>Shape</b>: logits {@code N x K} (plain row-major f32); labels {@code N} integers in {@code [0, K)};
 * loss a scalar; dlogits {@code N x K}.
 *
 * <p>Not thread-safe: it keeps the last forward's log-probabilities and labels for the gradient; use it from one
 * thread at a time (a loss per training thread).
 */
public final class SoftmaxCrossEntropy extends NativeResource {
    private final String name;
    private final int batch;
    private final int classes;
    private final Softmax.Forward logSoftmax;
    private final Tensor logProbs;
    private final int[] labels;
    private boolean haveForward;
    private Tensor boundLogits;
    private ExecArgs boundArgs;

    private SoftmaxCrossEntropy(Scope scope, String name, int batch, int classes, Softmax.Forward logSoftmax,
            Tensor logProbs) {
        super(scope);
        this.name = name;
        this.batch = batch;
        this.classes = classes;
        this.logSoftmax = logSoftmax;
        this.logProbs = logProbs;
        this.labels = new int[batch];
        register();
    }

    /** Creates the loss for logits of {@code logitsDims} = {@code N x K}; checked before any native call. */
    public static SoftmaxCrossEntropy create(Scope scope, String name, long[] logitsDims) {
        Shapes.requireRank(name, logitsDims, 2);
        long n = logitsDims[0];
        long k = logitsDims[1];
        if (n < 1 || k < 1) {
            throw new IllegalArgumentException(name + ": logits N x K need N >= 1 and K >= 1, got "
                    + Arrays.toString(logitsDims));
        }
        if (n > Integer.MAX_VALUE || n * k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": logits " + Arrays.toString(logitsDims) + " exceed 2^31 - 1 elements");
        }
        Softmax.Forward fwd = null;
        try {
            try (Scope tmp = Scope.open(name + ".create")) {
                fwd = Softmax.Forward.create(scope, name + ".log_softmax", MemoryDesc.plain(tmp, logitsDims),
                        Softmax.Algorithm.LOG, 1, PropKind.TRAINING);
            }
            Tensor lp = Tensor.allocate(scope, name + ".log_probs", fwd.dstDesc());
            return new SoftmaxCrossEntropy(scope, name, (int) n, (int) k, fwd, lp);
        } catch (RuntimeException e) {
            if (fwd != null) {
                fwd.close();
            }
            throw e;
        }
    }

    public int batch() {
        return batch;
    }

    public int classes() {
        return classes;
    }

    /**
     * Computes the mean loss of {@code logits} (plain {@code N x K}) against {@code labels}, keeping the
     * log-probabilities and labels for {@link #backward}. Labels are checked before anything runs; binding a
     * logits tensor is done once and reused while the same tensor comes back.
     */
    public double forward(Stream stream, Tensor logits, int[] labels) {
        ensureOpen();
        checkLabels(labels);
        requirePlain(logits, "logits");
        if (logits != boundLogits) {
            if (boundArgs != null) {
                boundArgs.close();
            }
            boundArgs = logSoftmax.bind(scope(), logits, logProbs);
            boundLogits = logits;
        }
        logSoftmax.execute(stream, boundArgs);
        stream.await();
        System.arraycopy(labels, 0, this.labels, 0, batch);
        haveForward = true;
        MemorySegment lp = logProbs.segment();
        double sum = 0;
        for (int n = 0; n < batch; n++) {
            sum -= lp.getAtIndex(ValueLayout.JAVA_FLOAT, (long) n * classes + labels[n]);
        }
        return sum / batch;
    }

    /** {@code dlogits = (softmax - onehot) / N} for the last {@link #forward}. */
    public void backward(Stream stream, Tensor diffLogits) {
        backward(stream, 1f, diffLogits);
    }

    /**
     * {@code dlogits = diffLoss * (softmax - onehot) / N} for the last {@link #forward}, with {@code diffLoss}
     * the upstream gradient of the loss (1 when the loss is the objective). {@code diffLogits} is plain
     * {@code N x K} and may be the logits tensor itself.
     */
    public void backward(Stream stream, float diffLoss, Tensor diffLogits) {
        ensureOpen();
        if (!haveForward) {
            throw new IllegalStateException(name + ": backward needs a forward first (it reuses its log-probabilities and labels)");
        }
        requirePlain(diffLogits, "diff_logits");
        MemorySegment lp = logProbs.segment();
        MemorySegment out = diffLogits.segment();
        double scale = (double) diffLoss / batch;
        for (int n = 0; n < batch; n++) {
            long row = (long) n * classes;
            for (int k = 0; k < classes; k++) {
                double p = Math.exp(lp.getAtIndex(ValueLayout.JAVA_FLOAT, row + k));
                double g = k == labels[n] ? p - 1 : p;
                out.setAtIndex(ValueLayout.JAVA_FLOAT, row + k, (float) (g * scale));
            }
        }
    }

    /** The log-probabilities of the last forward (plain {@code N x K}); owned by this loss. */
    public Tensor logProbabilities() {
        ensureOpen();
        return logProbs;
    }

    private void checkLabels(int[] labels) {
        if (labels == null || labels.length != batch) {
            throw new IllegalArgumentException(name + ": expected " + batch + " labels (one per sample), got "
                    + (labels == null ? "null" : labels.length));
        }
        for (int n = 0; n < batch; n++) {
            if (labels[n] < 0 || labels[n] >= classes) {
                throw new IllegalArgumentException(name + ": label " + labels[n] + " of sample " + n
                        + " is out of range for " + classes + " classes (expected 0.." + (classes - 1) + ")");
            }
        }
    }

    private void requirePlain(Tensor t, String what) {
        MemoryDesc d = t.desc();
        if (d.ndims() != 2 || d.dim(0) != batch || d.dim(1) != classes || !d.isPlain() || d.dataType() != DataType.F32) {
            throw new IllegalArgumentException(name + ": " + what + " must be a plain f32 " + batch + " x " + classes
                    + " tensor, got tensor '" + t.name() + "' " + d.shapeString());
        }
    }

    @Override
    public String describe() {
        return "SoftmaxCrossEntropy " + name + " (" + batch + " x " + classes + ")";
    }

    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        try {
            if (boundArgs != null) {
                boundArgs.close();
            }
            logProbs.close();
        } finally {
            logSoftmax.close();
        }
    }
}
