package dev.stride.ops;

import dev.stride.core.Dnnl;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs the Java kernels of the custom ops over index ranges, on as many threads as oneDNN's OpenMP runtime
 * uses. The Java phases (gather, scatter, squeeze, scale) and the oneDNN phases (the GEMMs) of an op run one
 * after the other, never at once, so the two thread pools never compete for the cores.
 */
public final class Parallel {
    private Parallel() {}

    private static volatile ForkJoinPool pool;

    private static ForkJoinPool pool() {
        int threads = Math.max(1, Dnnl.threads());
        ForkJoinPool p = pool;
        if (p == null || p.getParallelism() != threads) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null || p.getParallelism() != threads) {
                    ForkJoinPool old = p;
                    p = new ForkJoinPool(threads);
                    pool = p;
                    if (old != null) {
                        old.shutdown();
                    }
                }
            }
        }
        return p;
    }

    /**
     * Calls {@code body.accept(i)} for every {@code i} in {@code [0, n)}, split into contiguous chunks of at
     * least {@code grain} indices; runs inline when there is only one chunk or one thread.
     */
    public static void forRange(int n, int grain, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        int threads = Math.max(1, Dnnl.threads());
        if (threads == 1 || n <= grain) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, grain)));
        pool().invoke(new Chunk(body, 0, n, Math.max(1, (n + chunks - 1) / chunks)));
    }

    private static final class Chunk extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient IntConsumer body;
        private final int from;
        private final int to;
        private final int size;

        Chunk(IntConsumer body, int from, int to, int size) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.size = size;
        }

        @Override
        protected void compute() {
            if (to - from <= size) {
                for (int i = from; i < to; i++) {
                    body.accept(i);
                }
                return;
            }
            int mid = from + (to - from) / 2;
            invokeAll(new Chunk(body, from, mid, size), new Chunk(body, mid, to, size));
        }
    }
}
