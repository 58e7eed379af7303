package dev.stride.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * <a href="https://github.com/zalandoresearch/fashion-mnist">Fashion-MNIST</a>: 60,000 training and 10,000 test
 * grayscale 28x28 images of clothing in 10 classes, read from the four IDX files Zalando publishes (gzip'ed as
 * published, or unpacked). The default location is where Debian's {@code dataset-fashion-mnist} package puts
 * them. MNIST's files have the same names and format, so a directory of MNIST loads too.
 *
 * <p>Thread-safe: loading is stateless; the returned sets are immutable.
 */
public final class FashionMnist {

    /** Where Debian's {@code dataset-fashion-mnist} package installs the files. */
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte.gz";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte.gz";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte.gz";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte.gz";

    /** Mean and standard deviation of the training pixels scaled to [0, 1] (the usual normalisation). */
    public static final float MEAN = 0.2860f;
    public static final float STD = 0.3530f;

    public static final int SIZE = 28;

    /** The class names, by label. */
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private final Path dir;
    private final LabeledImages train;
    private final LabeledImages test;

    private FashionMnist(Path dir, LabeledImages train, LabeledImages test) {
        this.dir = dir;
        this.train = train;
        this.test = test;
    }

    /** Loads from {@link #DEFAULT_DIR}. */
    public static FashionMnist load() throws IOException {
        return load(DEFAULT_DIR);
    }

    /**
     * Loads the training and test sets from {@code dir}.
     *
     * @throws NoSuchFileException when the directory or one of the four files is missing, saying which and how
     *     to get it
     * @throws IOException when a file is malformed: not an unsigned-byte IDX file of the right rank (wrong
     *     magic), truncated or corrupted, images not 28x28, a different number of images and labels, or a
     *     label outside 0..9
     */
    public static FashionMnist load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "Fashion-MNIST directory not found: expected "
                    + TRAIN_IMAGES + ", " + TRAIN_LABELS + ", " + TEST_IMAGES + " and " + TEST_LABELS + " in " + dir
                    + "; install the Debian package dataset-fashion-mnist or pass --data DIR");
        }
        // Find all four before reading any, so a missing file fails at once rather than after seconds of work.
        Path trainImages = find(dir, TRAIN_IMAGES);
        Path trainLabels = find(dir, TRAIN_LABELS);
        Path testImages = find(dir, TEST_IMAGES);
        Path testLabels = find(dir, TEST_LABELS);
        LabeledImages train = read("fashion-mnist/train", trainImages, trainLabels);
        LabeledImages test = read("fashion-mnist/test", testImages, testLabels);
        return new FashionMnist(dir, train, test);
    }

    /** {@code name} in {@code dir}, or its unpacked twin (without {@code .gz}). */
    private static Path find(Path dir, String name) throws NoSuchFileException {
        Path gz = dir.resolve(name);
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path raw = dir.resolve(name.substring(0, name.length() - 3));
        if (Files.isRegularFile(raw)) {
            return raw;
        }
        throw new NoSuchFileException(gz.toString(), null, "expected " + name + " in " + dir
                + "; install the Debian package dataset-fashion-mnist or pass --data DIR");
    }

    private static LabeledImages read(String name, Path imageFile, Path labelFile) throws IOException {
        Idx.Array images = Idx.read(imageFile, 3, -1);
        if (images.dims()[1] != SIZE || images.dims()[2] != SIZE) {
            throw new IOException(imageFile + ": images are " + images.dims()[1] + "x" + images.dims()[2] + ", expected "
                    + SIZE + "x" + SIZE);
        }
        Idx.Array labels = Idx.read(labelFile, 1, -1);
        if (labels.count() != images.count()) {
            throw new IOException(imageFile.getFileName() + " has " + images.count() + " images but "
                    + labelFile.getFileName() + " has " + labels.count() + " labels (in " + imageFile.getParent() + ")");
        }
        byte[] raw = labels.data();
        int[] classes = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            classes[i] = Byte.toUnsignedInt(raw[i]);
            if (classes[i] >= CLASSES.size()) {
                throw new IOException(labelFile + ": label " + classes[i] + " at index " + i + " is outside 0.."
                        + (CLASSES.size() - 1));
            }
        }
        return new LabeledImages(name, images.count(), 1, SIZE, SIZE, CLASSES.size(), images.data(), classes);
    }

    /** The directory the files came from. */
    public Path dir() {
        return dir;
    }

    /** The 60,000 training images. */
    public LabeledImages train() {
        return train;
    }

    /** The 10,000 test images. */
    public LabeledImages test() {
        return test;
    }

    @Override
    public String toString() {
        return "Fashion-MNIST from " + dir + ": " + train.count() + " train, " + test.count() + " test";
    }
}
