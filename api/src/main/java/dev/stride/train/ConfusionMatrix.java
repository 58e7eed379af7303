package dev.stride.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Counts of (true class, predicted class) pairs for a {@code K}-class classifier, with per-class precision and
 * recall and a text rendering. Row {@code a}, column {@code p} counts samples of class {@code a} predicted as
 * {@code p} (scikit-learn's convention), so the diagonal holds the correct ones. Not thread-safe.
 *
 * <pre>
 *   precision(c) = M[c][c] / sum_a M[a][c]      (of the samples predicted c, the fraction that are c)
 *   recall(c)    = M[c][c] / sum_p M[c][p]      (of the samples of class c, the fraction predicted c)
 *   accuracy     = trace(M) / sum(M)
 * </pre>
 */
public final class ConfusionMatrix {

    private final List<String> classNames;
    private final long[][] counts;

    /** A matrix for the classes named, in label order (e.g. Fashion-MNIST's "T-shirt/top", "Trouser", ...). */
    public ConfusionMatrix(List<String> classNames) {
        if (classNames == null || classNames.size() < 2) {
            throw new IllegalArgumentException("confusion matrix: expected at least 2 class names, got "
                    + (classNames == null ? "null" : classNames.size()));
        }
        for (String n : classNames) {
            if (n == null) {
                throw new IllegalArgumentException("confusion matrix: class names must not be null: " + classNames);
            }
        }
        this.classNames = List.copyOf(classNames);
        this.counts = new long[classNames.size()][classNames.size()];
    }

    /** A matrix for {@code k} classes named {@code "0"} to {@code "k-1"}. */
    public static ConfusionMatrix ofSize(int k) {
        if (k < 2) {
            throw new IllegalArgumentException("confusion matrix: expected at least 2 classes, got " + k);
        }
        List<String> names = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            names.add(Integer.toString(i));
        }
        return new ConfusionMatrix(names);
    }

    /** Number of classes {@code K}. */
    public int classes() {
        return counts.length;
    }

    public List<String> classNames() {
        return classNames;
    }

    /** Counts one sample of class {@code label} predicted as {@code predicted}. */
    public void add(int label, int predicted) {
        check(label, "true class");
        check(predicted, "predicted class");
        counts[label][predicted]++;
    }

    /**
     * Counts the first {@code count} samples; nothing is counted when one of them is out of range.
     *
     * @param labels    true classes
     * @param predicted predicted classes (e.g. from {@link Metrics#argmax})
     */
    public void add(int[] labels, int[] predicted, int count) {
        Metrics.checkBatch("confusion matrix", labels, predicted, count);
        for (int i = 0; i < count; i++) {
            check(labels[i], "true class");
            check(predicted[i], "predicted class");
        }
        for (int i = 0; i < count; i++) {
            counts[labels[i]][predicted[i]]++;
        }
    }

    /** Samples of class {@code actual} predicted as {@code predicted}. */
    public long count(int actual, int predicted) {
        check(actual, "true class");
        check(predicted, "predicted class");
        return counts[actual][predicted];
    }

    /** A copy of the counts, {@code [actual][predicted]}. */
    public long[][] counts() {
        long[][] copy = new long[counts.length][];
        for (int i = 0; i < counts.length; i++) {
            copy[i] = counts[i].clone();
        }
        return copy;
    }

    public long total() {
        long t = 0;
        for (long[] row : counts) {
            for (long c : row) {
                t += c;
            }
        }
        return t;
    }

    /** Samples on the diagonal. */
    public long correct() {
        long t = 0;
        for (int i = 0; i < counts.length; i++) {
            t += counts[i][i];
        }
        return t;
    }

    /** {@code correct() / total()}; NaN when empty. */
    public double accuracy() {
        long total = total();
        return total == 0 ? Double.NaN : (double) correct() / total;
    }

    /** Of the samples predicted as {@code c}, the fraction that are {@code c}; NaN when none was predicted as c. */
    public double precision(int c) {
        check(c, "class");
        long predicted = 0;
        for (long[] row : counts) {
            predicted += row[c];
        }
        return predicted == 0 ? Double.NaN : (double) counts[c][c] / predicted;
    }

    /** Of the samples of class {@code c}, the fraction predicted as {@code c}; NaN when there are none. */
    public double recall(int c) {
        check(c, "class");
        long actual = 0;
        for (long n : counts[c]) {
            actual += n;
        }
        return actual == 0 ? Double.NaN : (double) counts[c][c] / actual;
    }

    /** Harmonic mean of precision and recall; NaN when either is undefined, 0 when both are 0. */
    public double f1(int c) {
        double p = precision(c);
        double r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /** Adds every count of {@code other}, which must have the same classes. */
    public void addAll(ConfusionMatrix other) {
        if (!other.classNames.equals(classNames)) {
            throw new IllegalArgumentException("confusion matrix: cannot add a matrix over " + other.classNames
                    + " to one over " + classNames);
        }
        for (int a = 0; a < counts.length; a++) {
            for (int p = 0; p < counts.length; p++) {
                counts[a][p] += other.counts[a][p];
            }
        }
    }

    public void reset() {
        for (long[] row : counts) {
            java.util.Arrays.fill(row, 0);
        }
    }

    /**
     * The matrix as text: one row per true class (index and name) with its recall, one column per predicted class
     * (by index), and a last row with each class's precision.
     * <pre>
     * Confusion matrix (rows: true class, columns: predicted class), 2000 samples, accuracy 91.5%
     *                    0      1   recall
     * 0 T-shirt/top    903     97    90.3%
     * 1 Trouser         73    927    92.7%
     * precision      92.5%  90.5%
     * </pre>
     */
    public String render() {
        int k = counts.length;
        long max = 0;
        for (long[] row : counts) {
            for (long c : row) {
                max = Math.max(max, c);
            }
        }
        int cell = Math.max(Long.toString(max).length(), "100.0%".length()) + 1;
        String[] labels = new String[k];
        int labelWidth = "precision".length();
        for (int i = 0; i < k; i++) {
            String name = classNames.get(i);
            labels[i] = name.equals(Integer.toString(i)) ? name : i + " " + name;
            labelWidth = Math.max(labelWidth, labels[i].length());
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT,
                "Confusion matrix (rows: true class, columns: predicted class), %d samples, accuracy %s%n", total(),
                percent(accuracy())));
        s.append(" ".repeat(labelWidth));
        for (int p = 0; p < k; p++) {
            s.append(pad(Integer.toString(p), cell));
        }
        s.append(pad("recall", cell + 2)).append(System.lineSeparator());
        for (int a = 0; a < k; a++) {
            s.append(labels[a]).append(" ".repeat(labelWidth - labels[a].length()));
            for (int p = 0; p < k; p++) {
                s.append(pad(Long.toString(counts[a][p]), cell));
            }
            s.append(pad(percent(recall(a)), cell + 2)).append(System.lineSeparator());
        }
        s.append("precision").append(" ".repeat(labelWidth - "precision".length()));
        for (int p = 0; p < k; p++) {
            s.append(pad(percent(precision(p)), cell));
        }
        return s.append(System.lineSeparator()).toString();
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? " " + s : " ".repeat(width - s.length()) + s;
    }

    @Override
    public String toString() {
        return render();
    }

    private void check(int c, String what) {
        if (c < 0 || c >= counts.length) {
            throw new IllegalArgumentException("confusion matrix: " + what + " " + c + " is outside [0, " + counts.length
                    + ") (" + counts.length + " classes)");
        }
    }
}
