package dev.stride.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {

    /** {@code n} random 1 x 6 x 5 images (not square, so a mix-up of H and W shows); label = index % 10. */
    private static LabeledImages random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * 30];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) r.nextInt(256);
        }
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 10;
        }
        return new LabeledImages("random", n, 1, 6, 5, 10, px, labels);
    }

    /** Images whose first two pixels spell their index (high byte, low byte). */
    private static LabeledImages numbered(int n) {
        LabeledImages d = random(n, 1);
        for (int i = 0; i < n; i++) {
            d.pixels()[i * 30] = (byte) (i >> 8);
            d.pixels()[i * 30 + 1] = (byte) i;
        }
        return d;
    }

    /** Undoes the normalisation of mean 0, std 1: the value is x / 255. */
    private static int pixel(float v) {
        return Math.round(v * 255);
    }

    private record Epoch(List<float[]> images, List<int[]> labels) {}

    private static Epoch run(BatchLoader loader, int epoch) {
        loader.startEpoch(epoch);
        List<float[]> images = new ArrayList<>();
        List<int[]> labels = new ArrayList<>();
        for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
            assertEquals(epoch, b.epoch());
            assertEquals(images.size(), b.index());
            images.add(b.segment().toArray(ValueLayout.JAVA_FLOAT));
            labels.add(Arrays.copyOf(b.labels(), b.count()));
        }
        return new Epoch(images, labels);
    }

    private static void assertSame(Epoch a, Epoch b) {
        assertEquals(a.images.size(), b.images.size());
        for (int i = 0; i < a.images.size(); i++) {
            assertArrayEquals(a.images.get(i), b.images.get(i), "batch " + i);
            assertArrayEquals(a.labels.get(i), b.labels.get(i), "labels of batch " + i);
        }
    }

    @Test
    void sameSeedSameBatchesAndEpochsReplayOnTheirOwn() {
        LabeledImages data = random(500, 7);
        var options = BatchLoader.Options.training(32, 1234).withAugmentation(2, true);
        try (Scope scope = Scope.leakChecked("determinism");
                BatchLoader a = BatchLoader.create(scope, data, options);
                BatchLoader b = BatchLoader.create(scope, data, options);
                BatchLoader c = BatchLoader.create(scope, data, options.withSeed(1235))) {
            Epoch a0 = run(a, 0);
            Epoch a1 = run(a, 1);
            Epoch b1 = run(b, 1); // epoch 1 straight away, as a resumed run would
            Epoch b0 = run(b, 0);
            assertSame(a0, b0);
            assertSame(a1, b1);
            assertEquals(15, a0.images.size());
            assertFalse(Arrays.equals(a0.labels.get(0), a1.labels.get(0)), "a new order every epoch");
            assertFalse(Arrays.equals(a0.labels.get(0), run(c, 0).labels.get(0)), "another seed, another order");
        }
    }

    @Test
    void everySampleExactlyOncePerEpoch() {
        int n = 1000;
        LabeledImages data = numbered(n);
        var keepLast = BatchLoader.Options.training(64, 99).withDropLast(false).withNormalization(0, 1);
        try (Scope scope = Scope.leakChecked("once"); BatchLoader loader = BatchLoader.create(scope, data, keepLast)) {
            assertEquals(16, loader.batchesPerEpoch());
            for (int epoch = 0; epoch < 2; epoch++) {
                loader.startEpoch(epoch);
                Set<Integer> seen = new HashSet<>();
                int batches = 0;
                for (BatchLoader.Batch b; (b = loader.next()) != null; batches++) {
                    float[] x = b.segment().toArray(ValueLayout.JAVA_FLOAT);
                    for (int i = 0; i < b.count(); i++) {
                        int index = pixel(x[i * 30]) << 8 | pixel(x[i * 30 + 1]);
                        assertTrue(seen.add(index), "sample " + index + " twice in epoch " + epoch);
                        assertEquals(index % 10, b.labels()[i], "label travels with its image");
                        for (int k = 0; k < 30; k++) {
                            assertEquals(data.pixels()[index * 30 + k] & 0xff, pixel(x[i * 30 + k]));
                        }
                    }
                    if (b.count() < 64) {
                        assertEquals(15, b.index());
                        assertEquals(1000 - 15 * 64, b.count());
                        for (int k = b.count() * 30; k < x.length; k++) {
                            assertEquals(0f, x[k], "the unused tail of the last batch is zero");
                        }
                        assertEquals(-1, b.labels()[b.count()]);
                    }
                }
                assertEquals(16, batches);
                assertEquals(n, seen.size());
                assertFalse(loader.hasNext());
                assertNull(loader.next(), "the epoch stays finished");
            }
        }
        try (Scope scope = Scope.leakChecked("drop");
                BatchLoader loader = BatchLoader.create(scope, data, keepLast.withDropLast(true))) {
            assertEquals(15, loader.batchesPerEpoch());
            Set<Integer> seen = new HashSet<>();
            loader.startEpoch(3);
            for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
                assertEquals(64, b.count());
                float[] x = b.segment().toArray(ValueLayout.JAVA_FLOAT);
                for (int i = 0; i < 64; i++) {
                    assertTrue(seen.add(pixel(x[i * 30]) << 8 | pixel(x[i * 30 + 1])));
                }
            }
            assertEquals(960, seen.size());
        }
    }

    @Test
    void evaluationKeepsTheDataSetOrder() {
        LabeledImages data = numbered(100);
        try (Scope scope = Scope.leakChecked("order"); BatchLoader loader = BatchLoader.create(scope, data,
                BatchLoader.Options.evaluation(30).withNormalization(0, 1))) {
            Epoch e = run(loader, 0);
            assertEquals(4, e.images.size());
            assertEquals(10, e.labels.get(3).length);
            for (int b = 0; b < 4; b++) {
                for (int i = 0; i < e.labels.get(b).length; i++) {
                    assertEquals(b * 30 + i, pixel(e.images.get(b)[i * 30 + 1]) | pixel(e.images.get(b)[i * 30]) << 8);
                }
            }
        }
    }

    @Test
    void normalisationMatchesTheFormula() {
        byte[] px = new byte[256];
        for (int v = 0; v < 256; v++) {
            px[v] = (byte) v;
        }
        LabeledImages ramp = new LabeledImages("ramp", 1, 1, 16, 16, 10, px, new int[] {3});
        try (Scope scope = Scope.leakChecked("norm");
                BatchLoader fm = BatchLoader.create(scope, ramp, BatchLoader.Options.evaluation(1));
                BatchLoader half = BatchLoader.create(scope, ramp,
                        BatchLoader.Options.evaluation(1).withNormalization(0.5f, 0.5f))) {
            fm.startEpoch(0);
            float[] x = fm.next().segment().toArray(ValueLayout.JAVA_FLOAT);
            // Hand-computed: (0 - 0.2860) / 0.3530 and (1 - 0.2860) / 0.3530.
            assertEquals(-0.8101983, x[0], 1e-6);
            assertEquals(2.0226629, x[255], 1e-6);
            for (int v = 0; v < 256; v++) {
                assertEquals((v / 255.0 - 0.2860) / 0.3530, x[v], 2e-6, "pixel " + v);
                // Exactly PyTorch's f32 arithmetic: x.div(255) then sub(mean).div(std).
                assertEquals(((float) v / 255f - 0.2860f) / 0.3530f, x[v], "pixel " + v);
            }
            half.startEpoch(0);
            float[] y = half.next().segment().toArray(ValueLayout.JAVA_FLOAT);
            assertEquals(-1f, y[0]);
            assertEquals(1f, y[255]);
        }
    }

    @Test
    void shiftAndFlipByHand() {
        byte[] img = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] lut = new float[256];
        for (int v = 0; v < 256; v++) {
            lut[v] = v;
        }
        float[] out = new float[9];
        BatchLoader.assemble(img, 0, 1, 3, 3, 0, 0, false, lut, out);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, out);
        // Crop from the zero-padded image one row down and one column left of centre.
        BatchLoader.assemble(img, 0, 1, 3, 3, 1, -1, false, lut, out);
        assertArrayEquals(new float[] {0, 4, 5, 0, 7, 8, 0, 0, 0}, out);
        BatchLoader.assemble(img, 0, 1, 3, 3, 0, 0, true, lut, out);
        assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4, 9, 8, 7}, out);
        // Crop one column right, then mirror: rows read 0, 3, 2 (the padding comes in on the left).
        BatchLoader.assemble(img, 0, 1, 3, 3, 0, 1, true, lut, out);
        assertArrayEquals(new float[] {0, 3, 2, 0, 6, 5, 0, 9, 8}, out);
        // Two channels, shifted up by 2: only the last row of each plane survives, on top.
        byte[] two = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19};
        float[] out2 = new float[18];
        BatchLoader.assemble(two, 0, 2, 3, 3, -2, 0, false, lut, out2);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 11, 12, 13}, out2);
    }

    /** Reference: pad by p with zeros, take the h x w window at (oy, ox), then mirror if asked. */
    private static int[] padCropFlip(byte[] img, int h, int w, int p, int oy, int ox, boolean flip) {
        int hp = h + 2 * p;
        int wp = w + 2 * p;
        int[] padded = new int[hp * wp];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                padded[(y + p) * wp + x + p] = img[y * w + x] & 0xff;
            }
        }
        int[] out = new int[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = padded[(y + oy) * wp + x + ox];
                out[y * w + (flip ? w - 1 - x : x)] = v;
            }
        }
        return out;
    }

    @Test
    void augmentationIsARandomPaddedCropAndFlip() {
        int n = 1600;
        int p = 2;
        byte[] px = new byte[n * 30];
        SplittableRandom r = new SplittableRandom(5);
        byte[] one = new byte[30];
        for (int k = 0; k < 30; k++) {
            one[k] = (byte) (1 + r.nextInt(255)); // never 0, so padding is recognisable
        }
        for (int i = 0; i < n; i++) {
            System.arraycopy(one, 0, px, i * 30, 30);
        }
        LabeledImages data = new LabeledImages("same", n, 1, 6, 5, 10, px, new int[n]);
        List<int[]> candidates = new ArrayList<>();
        for (int oy = 0; oy <= 2 * p; oy++) {
            for (int ox = 0; ox <= 2 * p; ox++) {
                for (boolean flip : new boolean[] {false, true}) {
                    candidates.add(padCropFlip(one, 6, 5, p, oy, ox, flip));
                }
            }
        }
        int[] hits = new int[candidates.size()];
        var options = BatchLoader.Options.training(100, 3).withNormalization(0, 1).withAugmentation(p, true);
        try (Scope scope = Scope.leakChecked("augment"); BatchLoader loader = BatchLoader.create(scope, data, options)) {
            loader.startEpoch(0);
            for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
                float[] x = b.segment().toArray(ValueLayout.JAVA_FLOAT);
                for (int i = 0; i < b.count(); i++) {
                    int[] got = new int[30];
                    for (int k = 0; k < 30; k++) {
                        got[k] = pixel(x[i * 30 + k]);
                    }
                    int match = -1;
                    for (int c = 0; c < candidates.size() && match < 0; c++) {
                        if (Arrays.equals(candidates.get(c), got)) {
                            match = c;
                        }
                    }
                    assertTrue(match >= 0, "sample " + i + " of batch " + b.index() + " is no padded crop/flip: "
                            + Arrays.toString(got));
                    hits[match]++;
                }
            }
        }
        // 50 outcomes, 1600 draws: each expected 32 times; all must occur, none wildly often.
        int flips = 0;
        for (int c = 0; c < hits.length; c++) {
            assertTrue(hits[c] > 8 && hits[c] < 70, "outcome " + c + " drawn " + hits[c] + " times");
            flips += (c % 2 == 1) ? hits[c] : 0;
        }
        assertTrue(flips > 700 && flips < 900, flips + " flips in 1600");
    }

    @Test
    void nextAllocatesNothing() {
        LabeledImages data = random(2000, 3);
        var options = BatchLoader.Options.training(50, 8).withAugmentation(2, true);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Scope scope = Scope.leakChecked("alloc"); BatchLoader loader = BatchLoader.create(scope, data, options)) {
            for (int e = 0; e < 30; e++) { // warm up the JIT
                loader.startEpoch(e);
                while (loader.next() != null) {
                    // drain
                }
            }
            long allocations = scope.allocations();
            int live = NativeResource.liveCount();
            long bytes = NativeResource.liveBytes();
            long me = Thread.currentThread().threadId();
            long worker = loader.workerThreadId();
            loader.startEpoch(30);
            long heapMe = threads.getThreadAllocatedBytes(me);
            long heapWorker = threads.getThreadAllocatedBytes(worker);
            int batches = 0;
            long samples = 0;
            // Only the loader's calls in here: reading the segment through a VarHandle can allocate while the
            // interpreter runs this method, which would be the test's allocation, not the loader's.
            for (BatchLoader.Batch b; (b = loader.next()) != null; batches++) {
                samples += b.count() + b.labels()[0];
            }
            long heapMeAfter = threads.getThreadAllocatedBytes(me);
            long heapWorkerAfter = threads.getThreadAllocatedBytes(worker);
            assertEquals(40, batches);
            assertTrue(samples >= 2000);
            assertEquals(allocations, scope.allocations(), "no native allocation per batch");
            assertEquals(live, NativeResource.liveCount());
            assertEquals(bytes, NativeResource.liveBytes());
            // Neither the caller nor the background thread allocates on the heap either.
            assertEquals(0, heapMeAfter - heapMe, "heap bytes allocated by next() over 40 batches");
            assertEquals(0, heapWorkerAfter - heapWorker, "heap bytes allocated by the worker over 40 batches");
        }
    }

    @Test
    void lifecycleErrorsAreClear() throws InterruptedException {
        LabeledImages data = random(100, 2);
        try (Scope scope = Scope.leakChecked("life")) {
            BatchLoader loader = BatchLoader.create(scope, data, BatchLoader.Options.training(10, 1));
            IllegalStateException e = assertThrows(IllegalStateException.class, loader::next);
            assertTrue(e.getMessage().contains("startEpoch"), e.getMessage());
            loader.startEpoch(0);
            BatchLoader.Batch b = loader.next();
            assertEquals(10, b.count());
            Thread worker = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.threadId() == loader.workerThreadId()).findFirst().orElseThrow();
            loader.close();
            assertFalse(worker.isAlive(), "close stops the thread");
            assertThrows(IllegalStateException.class, loader::next);
            assertThrows(IllegalStateException.class, b::segment, "close frees the buffers");
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                    () -> BatchLoader.create(scope, data, BatchLoader.Options.training(101, 1)));
            assertTrue(big.getMessage().contains("no batch"), big.getMessage());
            assertThrows(IllegalArgumentException.class, () -> BatchLoader.Options.training(0, 1));
            assertThrows(IllegalArgumentException.class,
                    () -> BatchLoader.Options.evaluation(4).withNormalization(0, 0));
        }
        // A loader left open is closed (thread and buffers) with its scope.
        Scope scope = Scope.leakChecked("scope-closes");
        BatchLoader loader = BatchLoader.create(scope, data, BatchLoader.Options.training(10, 1));
        loader.startEpoch(0);
        loader.next();
        scope.close();
        assertTrue(loader.isClosed());
    }
}
