package dev.stride.train;

/** Running top-1 accuracy: the fraction of samples whose predicted class equals the label. Not thread-safe. */
public final class Accuracy {

    private long correct;
    private long total;

    /**
     * Counts the first {@code count} samples.
     *
     * @param labels    true classes
     * @param predicted predicted classes (e.g. from {@link Metrics#argmax})
     */
    public void add(int[] labels, int[] predicted, int count) {
        Metrics.checkBatch("accuracy", labels, predicted, count);
        long c = 0;
        for (int i = 0; i < count; i++) {
            c += predicted[i] == labels[i] ? 1 : 0;
        }
        correct += c;
        total += count;
    }

    /** Adds counts measured elsewhere. */
    public void add(long correct, long total) {
        if (correct < 0 || total < correct) {
            throw new IllegalArgumentException("accuracy: expected 0 <= correct <= total, got " + correct + " of " + total);
        }
        this.correct += correct;
        this.total += total;
    }

    public long correct() {
        return correct;
    }

    public long total() {
        return total;
    }

    /** {@code correct / total}; NaN before anything was added. */
    public double value() {
        return total == 0 ? Double.NaN : (double) correct / total;
    }

    public void reset() {
        correct = 0;
        total = 0;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "Accuracy[%.2f%% (%d/%d)]", 100 * value(), correct, total);
    }
}
