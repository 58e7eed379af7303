package dev.stride.data;

import java.util.Arrays;

/**
 * A labelled image data set held on the heap: {@code count} images of {@code channels x height x width}
 * unsigned bytes (planar, row-major: image {@code i} starts at {@code i * imageSize()}), and one class label in
 * {@code [0, classes)} per image. The arrays are shared, not copied: do not change them while a
 * {@link BatchLoader} reads them.
 *
 * @param name what the set is called in messages ({@code "fashion-mnist/train"})
 * @param pixels {@code count * channels * height * width} bytes, read as unsigned
 * @param labels {@code count} class indices
 *
 * <p>Immutable by convention: the pixel and label arrays are shared, never written after loading; safe to read
 * from any thread.
 */
public record LabeledImages(String name, int count, int channels, int height, int width, int classes, byte[] pixels,
        int[] labels) {

    /**
     * Checks that the arrays fit the sizes and every label is a class.
     *
     * @throws IllegalArgumentException naming the set, what was expected and what was found
     */
    public LabeledImages {
        if (count <= 0 || channels <= 0 || height <= 0 || width <= 0 || classes <= 0) {
            throw new IllegalArgumentException(name + ": count, channels, height, width and classes must be positive, "
                    + "got " + count + ", " + channels + ", " + height + ", " + width + ", " + classes);
        }
        long want = (long) count * channels * height * width;
        if (pixels.length != want) {
            throw new IllegalArgumentException(name + ": " + count + " images of " + channels + "x" + height + "x" + width
                    + " need " + want + " bytes, got " + pixels.length);
        }
        if (labels.length != count) {
            throw new IllegalArgumentException(name + ": " + count + " images but " + labels.length + " labels");
        }
        for (int i = 0; i < count; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of image " + i + " is outside 0.."
                        + (classes - 1));
            }
        }
    }

    /** Bytes per image: {@code channels * height * width}. */
    public int imageSize() {
        return channels * height * width;
    }

    /** A copy of images {@code [from, to)}, e.g. a small subset for a quick run. */
    public LabeledImages subset(int from, int to) {
        if (from < 0 || to > count || from >= to) {
            throw new IllegalArgumentException(name + ": subset [" + from + ", " + to + ") is not a non-empty range of "
                    + "0.." + count);
        }
        int size = imageSize();
        return new LabeledImages(name + "[" + from + ":" + to + "]", to - from, channels, height, width, classes,
                Arrays.copyOfRange(pixels, from * size, to * size), Arrays.copyOfRange(labels, from, to));
    }

    @Override
    public String toString() {
        return name + ": " + count + " images " + channels + "x" + height + "x" + width + ", " + classes + " classes";
    }
}
