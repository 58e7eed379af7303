package dev.stride.train;

/**
 * A weighted running mean, e.g. of the batch losses over an epoch: {@code add(batchMeanLoss, batchSize)} per
 * batch gives the mean loss per sample even when the last batch is smaller. Summed with Kahan compensation, so
 * a long epoch loses no precision. Not thread-safe.
 */
public final class RunningMean {

    private double sum;
    private double compensation;
    private long count;

    /** Adds one value with weight 1. */
    public void add(double value) {
        add(value, 1);
    }

    /** Adds {@code value} as the mean of {@code weight} samples. */
    public void add(double value, long weight) {
        if (weight <= 0) {
            throw new IllegalArgumentException("running mean: weight must be > 0, got " + weight);
        }
        double y = value * weight - compensation;
        double s = sum + y;
        compensation = (s - sum) - y;
        sum = s;
        count += weight;
    }

    /** The mean so far; NaN before anything was added. */
    public double mean() {
        return count == 0 ? Double.NaN : sum / count;
    }

    /** Total weight added. */
    public long count() {
        return count;
    }

    public void reset() {
        sum = 0;
        compensation = 0;
        count = 0;
    }

    @Override
    public String toString() {
        return "RunningMean[mean=" + mean() + ", count=" + count + "]";
    }
}
