package dev.stride.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {

    @TempDir
    Path dir;

    @Test
    void loadsTheRealFiles() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST is not installed at " + FashionMnist.DEFAULT_DIR + " (Debian: dataset-fashion-mnist)");
        FashionMnist data = FashionMnist.load();
        LabeledImages train = data.train();
        LabeledImages test = data.test();
        assertEquals(60000, train.count());
        assertEquals(10000, test.count());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        assertEquals(1, train.channels());
        assertEquals(60000 * 784, train.pixels().length);
        // Published facts about the set: the first training and test images are ankle boots (9), the first
        // training images' labels are 9, 0, 0, 3, 0, and every class has 6,000 training and 1,000 test images.
        assertArrayEquals(new int[] {9, 0, 0, 3, 0}, Arrays.copyOf(train.labels(), 5));
        assertEquals(9, test.labels()[0]);
        int[] trainCounts = new int[10];
        int[] testCounts = new int[10];
        for (int l : train.labels()) {
            trainCounts[l]++;
        }
        for (int l : test.labels()) {
            testCounts[l]++;
        }
        int[] six = new int[10];
        int[] one = new int[10];
        Arrays.fill(six, 6000);
        Arrays.fill(one, 1000);
        assertArrayEquals(six, trainCounts);
        assertArrayEquals(one, testCounts);
        // The pixels' mean and standard deviation are the normalisation constants everyone uses.
        double sum = 0;
        double sq = 0;
        for (byte b : train.pixels()) {
            double v = (b & 0xff) / 255.0;
            sum += v;
            sq += v * v;
        }
        double mean = sum / train.pixels().length;
        double std = Math.sqrt(sq / train.pixels().length - mean * mean);
        assertEquals(FashionMnist.MEAN, mean, 5e-5);
        assertEquals(FashionMnist.STD, std, 5e-5);
    }

    // ---- small hand-made IDX files

    private static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        bb.putInt(magic);
        for (int d : dims) {
            bb.putInt(d);
        }
        bb.put(data);
        return bb.array();
    }

    private static void gz(Path file, byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        }
        Files.write(file, out.toByteArray());
    }

    /** A valid miniature Fashion-MNIST: {@code n} train and {@code m} test images. */
    private void writeSet(int n, int m) throws IOException {
        gz(dir.resolve(FashionMnist.TRAIN_IMAGES), idx(0x803, new int[] {n, 28, 28}, new byte[n * 784]));
        gz(dir.resolve(FashionMnist.TRAIN_LABELS), idx(0x801, new int[] {n}, labels(n)));
        gz(dir.resolve(FashionMnist.TEST_IMAGES), idx(0x803, new int[] {m, 28, 28}, new byte[m * 784]));
        gz(dir.resolve(FashionMnist.TEST_LABELS), idx(0x801, new int[] {m}, labels(m)));
    }

    private static byte[] labels(int n) {
        byte[] l = new byte[n];
        for (int i = 0; i < n; i++) {
            l[i] = (byte) (i % 10);
        }
        return l;
    }

    @Test
    void loadsAHandMadeCopyFromAnotherDirectory() throws IOException {
        writeSet(12, 5);
        FashionMnist data = FashionMnist.load(dir);
        assertEquals(12, data.train().count());
        assertEquals(5, data.test().count());
        assertEquals(3, data.train().labels()[3]);
    }

    @Test
    void acceptsUnpackedFiles() throws IOException {
        writeSet(3, 2);
        Path gz = dir.resolve(FashionMnist.TEST_LABELS);
        Files.delete(gz);
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), idx(0x801, new int[] {2}, labels(2)));
        assertEquals(2, FashionMnist.load(dir).test().count());
    }

    @Test
    void missingDirectoryOrFileSaysWhatToDo() throws IOException {
        Path none = dir.resolve("nowhere");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> FashionMnist.load(none));
        assertTrue(e.getMessage().contains("install the Debian package dataset-fashion-mnist or pass --data DIR"),
                e.getMessage());
        writeSet(3, 2);
        Files.delete(dir.resolve(FashionMnist.TEST_LABELS));
        e = assertThrows(NoSuchFileException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains("expected t10k-labels-idx1-ubyte.gz in " + dir + "; install the Debian "
                + "package dataset-fashion-mnist or pass --data DIR"), e.getMessage());
    }

    @Test
    void wrongMagicIsRejected() throws IOException {
        writeSet(3, 2);
        gz(dir.resolve(FashionMnist.TRAIN_IMAGES), idx(0x0d03, new int[] {3, 28, 28}, new byte[3 * 784]));
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains("not an unsigned-byte IDX file"), e.getMessage());
        // Images and labels swapped: the rank in the magic gives it away.
        gz(dir.resolve(FashionMnist.TRAIN_IMAGES), idx(0x801, new int[] {3}, labels(3)));
        e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains("IDX rank 1, expected 3"), e.getMessage());
    }

    @Test
    void countMismatchIsRejected() throws IOException {
        writeSet(4, 2);
        gz(dir.resolve(FashionMnist.TRAIN_LABELS), idx(0x801, new int[] {3}, labels(3)));
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains("has 4 images but train-labels-idx1-ubyte.gz has 3 labels"), e.getMessage());
    }

    @Test
    void labelAboveNineIsRejected() throws IOException {
        writeSet(4, 2);
        byte[] l = labels(2);
        l[1] = 12;
        gz(dir.resolve(FashionMnist.TEST_LABELS), idx(0x801, new int[] {2}, l));
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains("label 12 at index 1 is outside 0..9"), e.getMessage());
    }

    @Test
    void wrongImageSizeTruncationAndCorruptionAreRejected() throws IOException {
        writeSet(4, 2);
        gz(dir.resolve(FashionMnist.TEST_IMAGES), idx(0x803, new int[] {2, 27, 28}, new byte[2 * 27 * 28]));
        assertTrue(assertThrows(IOException.class, () -> FashionMnist.load(dir)).getMessage()
                .contains("images are 27x28, expected 28x28"));
        gz(dir.resolve(FashionMnist.TEST_IMAGES), idx(0x803, new int[] {2, 28, 28}, new byte[784]));
        assertTrue(assertThrows(IOException.class, () -> FashionMnist.load(dir)).getMessage().contains("truncated"));
        gz(dir.resolve(FashionMnist.TEST_IMAGES), idx(0x803, new int[] {2, 28, 28}, new byte[3 * 784]));
        assertTrue(assertThrows(IOException.class, () -> FashionMnist.load(dir)).getMessage().contains("holds more"));
        // A flipped byte in the compressed stream: the gzip CRC (or the inflater) catches it.
        writeSet(4, 2);
        Path f = dir.resolve(FashionMnist.TEST_IMAGES);
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 6] ^= 0x01; // inside the trailer's CRC-32
        Files.write(f, bytes);
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("corrupted gzip"), e.getMessage());
    }

    @Test
    void lyingHeadersAreRefusedNamingTheFile() throws IOException {
        writeSet(4, 2);
        Path images = dir.resolve(FashionMnist.TRAIN_IMAGES);
        // 2^22 * 2^21 * 2^21 wraps a long to 0: without overflow checks this "needs" no data.
        gz(images, idx(0x803, new int[] {1 << 22, 1 << 21, 1 << 21}, new byte[0]));
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().startsWith(images.toString()) && e.getMessage().contains("promise more than"),
                e.getMessage());
        // A count far beyond the data: refused without allocating what the header promises.
        gz(images, idx(0x803, new int[] {2_000_000, 28, 28}, new byte[784]));
        e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().startsWith(images.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        Path labels = dir.resolve("train-labels-idx1-ubyte");
        writeSet(4, 2);
        Files.delete(dir.resolve(FashionMnist.TRAIN_LABELS));
        Files.write(labels, idx(0x801, new int[] {-4}, labels(4)));
        e = assertThrows(IOException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().startsWith(labels.toString()) && e.getMessage().contains("dimension 0 is -4"),
                e.getMessage());
    }
}
