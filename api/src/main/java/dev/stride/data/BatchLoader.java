package dev.stride.data;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Turns a {@link LabeledImages} set into mini-batches: plain NCHW f32 tensors assembled off-heap, normalised,
 * shuffled per epoch and optionally augmented, each prepared on one background thread while the previous one
 * trains.
 *
 * <p>Each image {@code x} (bytes {@code 0..255}) becomes {@code (x / 255 - mean) / std}, computed in f32 as
 * torchvision's {@code ToTensor} + {@code Normalize} compute it. With augmentation, an image is first cropped
 * back to its size from a copy padded by {@code P} zero pixels on each side at a random offset (torchvision's
 * {@code RandomCrop(size, padding=P)}; the padding is black, {@code x = 0}, before normalising), then mirrored
 * left-right with probability 0.5 ({@code RandomHorizontalFlip}).
 *
 * <p>Everything random is a function of the seed, the epoch and the sample's position in the epoch, so a run
 * is reproducible, an epoch can be replayed on its own (resuming at epoch {@code e} sees exactly what an
 * uninterrupted run saw), and the background thread's timing changes nothing.
 *
 * <p><b>Buffers and threads.</b> The loader owns two batch tensors ({@code N x C x H x W}, allocated and touched
 * once at construction) and one daemon thread. While the caller trains on the batch {@link #next()} returned,
 * the thread fills the other buffer with the following batch (double buffering); nothing is allocated per
 * batch, on or off the heap. One thread only, because assembling a batch is small work (a 256 x 28 x 28 batch
 * is 0.8 MB of floats) and the cores belong to oneDNN. {@link #startEpoch} and {@link #next()} are for one
 * caller thread (the training loop).
 *
 * <pre>{@code
 * try (BatchLoader loader = BatchLoader.create(scope, mnist.train(), BatchLoader.Options.training(256, 42))) {
 *     for (int epoch = 0; epoch < epochs; epoch++) {
 *         loader.startEpoch(epoch);
 *         for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
 *             step(b.images(), b.labels(), b.count());
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: {@link #startEpoch} and {@link #next()} belong to one consumer thread (the loader's own
 * background thread is internal and synchronized with it).
 */
public final class BatchLoader extends NativeResource {

    /**
     * How batches are made.
     *
     * @param batchSize {@code N}, samples per batch
     * @param shuffle a new random order every epoch (otherwise the data set's order)
     * @param seed seeds the shuffle and the augmentation
     * @param dropLast drop the last batch when it would be smaller than {@code N} (otherwise it comes with
     *     {@link Batch#count()} {@code < N})
     * @param mean subtracted after scaling to [0, 1]
     * @param std divided by after subtracting the mean
     * @param cropPadding {@code P} of the random crop; 0: no crop
     * @param flip mirror left-right with probability 0.5
     */
    public record Options(int batchSize, boolean shuffle, long seed, boolean dropLast, float mean, float std,
            int cropPadding, boolean flip) {

        public Options {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            }
            if (!(std > 0) || !Float.isFinite(std) || !Float.isFinite(mean)) {
                throw new IllegalArgumentException("normalisation needs a finite mean and a positive finite std, got "
                        + "mean " + mean + ", std " + std);
            }
            if (cropPadding < 0) {
                throw new IllegalArgumentException("crop padding must be >= 0, got " + cropPadding);
            }
        }

        /** Training: shuffled, last partial batch dropped, Fashion-MNIST's mean and std, no augmentation. */
        public static Options training(int batchSize, long seed) {
            return new Options(batchSize, true, seed, true, FashionMnist.MEAN, FashionMnist.STD, 0, false);
        }

        /** Evaluation: in order, every sample (a last partial batch included), Fashion-MNIST's mean and std. */
        public static Options evaluation(int batchSize) {
            return new Options(batchSize, false, 0, false, FashionMnist.MEAN, FashionMnist.STD, 0, false);
        }

        public Options withShuffle(boolean on) {
            return new Options(batchSize, on, seed, dropLast, mean, std, cropPadding, flip);
        }

        public Options withSeed(long s) {
            return new Options(batchSize, shuffle, s, dropLast, mean, std, cropPadding, flip);
        }

        public Options withDropLast(boolean on) {
            return new Options(batchSize, shuffle, seed, on, mean, std, cropPadding, flip);
        }

        public Options withNormalization(float m, float s) {
            return new Options(batchSize, shuffle, seed, dropLast, m, s, cropPadding, flip);
        }

        /** Random crop with padding {@code p} (0: none) and random horizontal flip. */
        public Options withAugmentation(int p, boolean f) {
            return new Options(batchSize, shuffle, seed, dropLast, mean, std, p, f);
        }
    }

    /**
     * One mini-batch, valid until the next call to {@link #next()} or {@link #startEpoch} (its buffer is then
     * refilled). Past {@link #count()}, the images are 0 and the labels -1.
     */
    public static final class Batch {
        private final Tensor images;
        private final int[] labels;
        private int count;
        private int index;
        private int epoch;

        private Batch(Tensor images, int batchSize) {
            this.images = images;
            this.labels = new int[batchSize];
        }

        /** The images as a plain {@code N x C x H x W} f32 tensor owned by the loader. */
        public Tensor images() {
            return images;
        }

        /** The images' bytes: {@code N * C * H * W} floats, row-major. */
        public MemorySegment segment() {
            return images.segment();
        }

        /** The labels, {@code N} entries of which the first {@link #count()} are real (not a copy). */
        public int[] labels() {
            return labels;
        }

        /** Real samples in this batch: {@code N}, or fewer for the last batch when it is kept. */
        public int count() {
            return count;
        }

        /** Position of this batch in its epoch, from 0. */
        public int index() {
            return index;
        }

        public int epoch() {
            return epoch;
        }
    }

    private static final long GOLDEN = 0x9e3779b97f4a7c15L;

    private final LabeledImages data;
    private final Options options;
    private final int batches;
    private final Scope buffers;
    private final Batch[] slots = new Batch[2];
    private final float[] lut = new float[256];
    private final Thread worker;

    // Worker-private state: the epoch's order and one sample's floats.
    private final int[] order;
    private final float[] sample;
    private long orderGeneration = -1;

    // Shared state, guarded by `lock`. Batch b of the current generation lives in slot b % 2.
    private final Object lock = new Object();
    private long generation;
    private int epoch = -1;
    /** Batches of this epoch the worker has finished. */
    private int filled;
    /** Calls to next() started in this epoch; the caller still holds batch requested - 1. */
    private int requested;
    private boolean stopping;
    private Throwable failure;

    private BatchLoader(Scope scope, LabeledImages data, Options options) {
        super(scope);
        this.data = data;
        this.options = options;
        int n = options.batchSize();
        this.batches = options.dropLast() ? data.count() / n : (data.count() + n - 1) / n;
        if (batches == 0) {
            throw new IllegalArgumentException(data.name() + ": batch size " + n + " is larger than the " + data.count()
                    + " samples and the last partial batch is dropped: an epoch would have no batch");
        }
        for (int v = 0; v < 256; v++) {
            // f32 arithmetic in torchvision's order: ToTensor divides by 255, Normalize subtracts and divides.
            lut[v] = ((float) v / 255f - options.mean()) / options.std();
        }
        this.order = new int[data.count()];
        this.sample = new float[data.imageSize()];
        this.buffers = Scope.open("batch-loader " + data.name());
        try {
            for (int i = 0; i < 2; i++) {
                Tensor t = Tensor.zeros(buffers, "batch" + i, n, data.channels(), data.height(), data.width());
                slots[i] = new Batch(t, n);
            }
        } catch (RuntimeException e) {
            buffers.close();
            throw e;
        }
        this.worker = new Thread(this::work, "stride-batch-loader " + data.name());
        worker.setDaemon(true);
        worker.start();
        try {
            register();
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    /**
     * A loader over {@code data}, owned by {@code scope}; its thread waits until {@link #startEpoch} is called.
     *
     * @throws IllegalArgumentException when an epoch would hold no batch ({@code dropLast} and fewer samples
     *     than the batch size)
     */
    public static BatchLoader create(Scope scope, LabeledImages data, Options options) {
        return new BatchLoader(scope, data, options);
    }

    public LabeledImages data() {
        return data;
    }

    public Options options() {
        return options;
    }

    /** Batches per epoch: {@code count / N}, rounded up when the last partial batch is kept. */
    public int batchesPerEpoch() {
        return batches;
    }

    /** {@code [N, C, H, W]} of every batch tensor. */
    public long[] batchDims() {
        return new long[] {options.batchSize(), data.channels(), data.height(), data.width()};
    }

    /**
     * Starts epoch {@code epoch}: its order (a shuffle seeded by the seed and the epoch, or the data set's order)
     * and the preparation of its first two batches. Batches handed out before become invalid; a batch of the
     * previous epoch being prepared is thrown away.
     */
    public void startEpoch(int epoch) {
        ensureOpen();
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        synchronized (lock) {
            rethrow();
            generation++;
            this.epoch = epoch;
            filled = 0;
            requested = 0;
            lock.notifyAll();
        }
    }

    /** True when {@link #next()} will return a batch in this epoch. */
    public boolean hasNext() {
        synchronized (lock) {
            return epoch >= 0 && requested < batches;
        }
    }

    /**
     * The next batch of the epoch, waiting for it if the thread is not done yet, or {@code null} when the epoch
     * has no more. Hands the previous batch's buffer back to the thread, which starts on the batch after this
     * one.
     *
     * @throws IllegalStateException before the first {@link #startEpoch}, after {@link #close()}, or when
     *     preparing the batch failed (with the cause)
     */
    public Batch next() {
        ensureOpen();
        synchronized (lock) {
            if (epoch < 0) {
                throw new IllegalStateException("batch loader for " + data.name() + ": call startEpoch(epoch) before "
                        + "next()");
            }
            if (requested == batches) {
                return null;
            }
            int b = requested++;
            lock.notifyAll();
            while (filled <= b) {
                rethrow();
                if (stopping) {
                    throw new IllegalStateException(describe() + " was closed while waiting for a batch");
                }
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for batch " + b + " of "
                            + data.name(), e);
                }
            }
            return slots[b & 1];
        }
    }

    private void rethrow() {
        if (failure != null) {
            throw new IllegalStateException("batch loader for " + data.name() + " failed", failure);
        }
    }

    private void work() {
        try {
            while (true) {
                long gen;
                int ep;
                int b;
                synchronized (lock) {
                    // Slot b % 2 is free once the caller has asked for batch b - 1 (and so let go of b - 2).
                    while (!stopping && (epoch < 0 || filled >= batches || (filled >= 2 && requested < filled))) {
                        lock.wait();
                    }
                    if (stopping) {
                        return;
                    }
                    gen = generation;
                    ep = epoch;
                    b = filled;
                }
                if (orderGeneration != gen) {
                    makeOrder(ep);
                    orderGeneration = gen;
                }
                fill(slots[b & 1], ep, b);
                synchronized (lock) {
                    if (gen == generation) {
                        filled++;
                        lock.notifyAll();
                    }
                }
            }
        } catch (Throwable t) {
            // An interrupt (nobody in Stride sends one) ends the thread like a failure, so next() cannot hang.
            synchronized (lock) {
                failure = t;
                lock.notifyAll();
            }
        }
    }

    /** The epoch's sample order: Fisher-Yates from the identity, seeded by (seed, epoch). */
    private void makeOrder(int ep) {
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (!options.shuffle()) {
            return;
        }
        long state = mix(mix(options.seed() ^ 0x5851f42d4c957f2dL) + ep);
        for (int i = order.length - 1; i > 0; i--) {
            state += GOLDEN;
            int j = (int) Math.unsignedMultiplyHigh(mix(state), i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }

    private void fill(Batch batch, int ep, int b) {
        int n = options.batchSize();
        int first = b * n;
        int count = Math.min(n, data.count() - first);
        int size = data.imageSize();
        MemorySegment dst = batch.images.segment();
        int p = options.cropPadding();
        long augSeed = mix(mix(options.seed() ^ 0x2545f4914f6cdd1dL) + ep);
        for (int i = 0; i < count; i++) {
            int position = first + i;
            int index = order[position];
            int dy = 0;
            int dx = 0;
            boolean flip = false;
            if (p > 0 || options.flip()) {
                long r = mix(augSeed + GOLDEN * (position + 1L));
                if (p > 0) {
                    dy = (int) Math.unsignedMultiplyHigh(r, 2L * p + 1) - p;
                    r = mix(r);
                    dx = (int) Math.unsignedMultiplyHigh(r, 2L * p + 1) - p;
                    r = mix(r);
                }
                flip = options.flip() && r < 0;
            }
            assemble(data.pixels(), index * size, data.channels(), data.height(), data.width(), dy, dx, flip, lut,
                    sample);
            MemorySegment.copy(sample, 0, dst, ValueLayout.JAVA_FLOAT, (long) i * size * 4, size);
            batch.labels[i] = data.labels()[index];
        }
        if (count < n) {
            long total = (long) n * size;
            for (long k = (long) count * size; k < total; k++) {
                dst.setAtIndex(ValueLayout.JAVA_FLOAT, k, 0f);
            }
            Arrays.fill(batch.labels, count, n, -1);
        }
        batch.count = count;
        batch.index = b;
        batch.epoch = ep;
    }

    /**
     * One image, normalised through {@code lut}, shifted and mirrored: {@code out(c, y, x) = lut[in(c, y + dy,
     * x' + dx)]} with {@code x' = flip ? W - 1 - x : x}, and {@code lut[0]} (black) where that pixel lies outside
     * the image. A random crop with padding {@code P} is a shift {@code dy, dx} in {@code [-P, P]}.
     */
    static void assemble(byte[] pixels, int offset, int channels, int h, int w, int dy, int dx, boolean flip,
            float[] lut, float[] out) {
        float pad = lut[0];
        int o = 0;
        for (int c = 0; c < channels; c++) {
            int plane = offset + c * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + dy;
                if (sy < 0 || sy >= h) {
                    Arrays.fill(out, o, o + w, pad);
                    o += w;
                    continue;
                }
                int row = plane + sy * w;
                for (int x = 0; x < w; x++) {
                    int sx = (flip ? w - 1 - x : x) + dx;
                    out[o++] = sx < 0 || sx >= w ? pad : lut[pixels[row + sx] & 0xff];
                }
            }
        }
    }

    /** SplitMix64's finaliser: a bijective mix of 64 bits. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The background thread's id (tests measure its allocations). */
    long workerThreadId() {
        return worker.threadId();
    }

    @Override
    public String describe() {
        return "batch loader over " + data.name() + " (" + options.batchSize() + " x " + data.channels() + " x "
                + data.height() + " x " + data.width() + ", " + batches + " batches per epoch)";
    }

    /** The two batch buffers. */
    @Override
    public long nativeBytes() {
        return buffers.liveBytes();
    }

    @Override
    protected void release() {
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
        }
        boolean interrupted = false;
        while (true) {
            try {
                worker.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        buffers.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
