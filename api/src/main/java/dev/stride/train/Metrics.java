package dev.stride.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.stride.core.DataType;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Helpers for classification metrics over network outputs.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class Metrics {

    private Metrics() {}

    /**
     * The index of the largest logit of each row of an {@code N x K} plain f32 tensor, into {@code out[0..N)}; the
     * first one on ties, and a NaN counts as the largest (like {@code torch.argmax}). Allocates nothing.
     *
     * @param logits {@code N x K} (a 2D plain f32 tensor, or any plain f32 tensor read as {@code dims[0]} rows)
     * @param out    at least {@code N} long
     */
    public static void argmax(Tensor logits, int[] out) {
        if (logits.desc().dataType() != DataType.F32 || !logits.desc().isPlain() || logits.dims().length < 2) {
            throw new IllegalArgumentException("argmax: expected a plain f32 N x K tensor, got '" + logits.name() + "' "
                    + logits.desc().shapeString());
        }
        long[] dims = logits.dims();
        long k = logits.desc().elements() / dims[0];
        argmax(logits.segment(), Math.toIntExact(dims[0]), Math.toIntExact(k), out);
    }

    /** {@link #argmax(Tensor, int[])} over {@code rows x cols} row-major floats in {@code logits}. */
    public static void argmax(MemorySegment logits, int rows, int cols, int[] out) {
        if (rows < 0 || cols <= 0) {
            throw new IllegalArgumentException("argmax: expected rows >= 0 and cols > 0, got " + rows + " x " + cols);
        }
        if (logits.byteSize() < (long) rows * cols * Float.BYTES) {
            throw new IllegalArgumentException("argmax: " + rows + " x " + cols + " floats need "
                    + (long) rows * cols * Float.BYTES + " bytes, the segment has " + logits.byteSize());
        }
        if (out == null || out.length < rows) {
            throw new IllegalArgumentException("argmax: output must hold " + rows + " indices, got "
                    + (out == null ? "null" : out.length));
        }
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            int best = 0;
            float max = logits.getAtIndex(JAVA_FLOAT, base);
            if (!Float.isNaN(max)) {
                for (int c = 1; c < cols; c++) {
                    float v = logits.getAtIndex(JAVA_FLOAT, base + c);
                    if (v > max || Float.isNaN(v)) {
                        best = c;
                        max = v;
                        if (Float.isNaN(v)) {
                            break;
                        }
                    }
                }
            }
            out[r] = best;
        }
    }

    /** Checks {@code labels} and {@code predicted} hold at least {@code count} classes each. */
    static void checkBatch(String what, int[] labels, int[] predicted, int count) {
        if (labels == null || predicted == null) {
            throw new IllegalArgumentException(what + ": expected labels and predicted classes, got "
                    + (labels == null ? "null" : labels.length + " labels") + " and "
                    + (predicted == null ? "null" : predicted.length + " predictions"));
        }
        if (count < 0 || count > labels.length || count > predicted.length) {
            throw new IllegalArgumentException(what + ": count " + count + " does not fit " + labels.length + " labels and "
                    + predicted.length + " predictions");
        }
    }
}
