package dev.stride.ops;

import dev.stride.bindings.omp.omp_h;
import dev.stride.bindings.omp.stride_omp_fn;
import dev.stride.core.Dnnl;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Runs the Java kernels of the custom ops over index ranges on oneDNN's own OpenMP threads: a call opens an
 * OpenMP parallel region ({@code GOMP_parallel}, the entry point GCC compiles {@code #pragma omp parallel}
 * to, bound in {@code omp_h} like the other libgomp calls) whose threads call back into Java, through an upcall
 * stub of the generated callback type {@code stride_omp_fn}, and take chunks of the range until none is left.
 *
 * <p>Why those threads: an op alternates Java phases (gather, scatter, squeeze, scale) with oneDNN calls
 * (GEMMs, inner products) many times a step. After each oneDNN call its OpenMP threads spin for a while
 * before they sleep; a separate Java thread team running the next phase had to share the cores with them
 * (3 busy threads on 2 cores), which cost deformable convolution about a quarter of its time. The OpenMP
 * threads are the ones spinning, so handing them the Java phase costs nothing extra and never puts more
 * threads than cores to work. The JVM attaches each OpenMP thread on its first call back (as a daemon thread)
 * and keeps it attached, so thread-locals survive from call to call.
 *
 * <p>A chunk's exception is caught on the thread that ran it (an exception must never leave a call back
 * into Java from native code: the JVM would stop) and rethrown to the caller once the region is over.
 * Calls run inline when there is one chunk or one thread, when nested inside another call, and while another
 * thread's call is running.
 *
 * <p>Thread-safe, with one process-wide region at a time: a single {@code BUSY} flag admits one call into an
 * OpenMP region. While it runs, a {@code forRange} from any other Java thread does not wait: it runs its whole
 * range inline, on its own thread, one index after another. Its results are the same as in a region (every index
 * is computed by the same body, and the kernels never let two indices write the same element), only slower, so
 * custom ops running on several Java threads at once share the cores as one region plus inline callers.
 */
public final class Parallel {
    private Parallel() {}

    /** Held by the thread whose call is running: a second caller, or a nested call, runs inline. */
    private static final AtomicBoolean BUSY = new AtomicBoolean();
    /** The running call's work, read by the OpenMP threads' call back. */
    private static volatile Job job;
    /**
     * The upcall stub of {@link #work}: the {@code fn} every call hands to {@code GOMP_parallel}. Never freed: the
     * OpenMP threads may call it as long as the JVM runs.
     */
    private static final MemorySegment CALL_BACK = stride_omp_fn.allocate(Parallel::work, Arena.global());

    /**
     * Calls {@code body.accept(i)} for every {@code i} in {@code [0, n)}, split into contiguous chunks of at
     * least {@code grain} indices; runs inline when there is only one chunk or one thread, and when called from
     * inside another {@code forRange} or while another thread's call is running.
     */
    public static void forRange(int n, int grain, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        int threads = Math.max(1, Dnnl.threads());
        if (threads == 1 || n <= grain || !BUSY.compareAndSet(false, true)) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            Job j = new Job(body, n, Math.min(threads * 4, Math.max(1, n / Math.max(1, grain))));
            job = j;
            try {
                omp_h.GOMP_parallel(CALL_BACK, MemorySegment.NULL, threads, 0);
            } finally {
                job = null;
            }
            j.rethrow();
        } finally {
            BUSY.set(false);
        }
    }

    /** The call back every thread of the region runs: never lets anything escape into native code. */
    private static void work(MemorySegment ignored) {
        Job j = job;
        if (j != null) {
            j.work();
        }
    }

    /** One call's work: chunks claimed by every thread of the region alike. */
    private static final class Job {
        final IntConsumer body;
        final int n;
        final int size;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.size = (n + chunks - 1) / chunks;
            this.chunks = (n + size - 1) / size;
        }

        /** Claims and runs chunks until none is left; a failure stops the remaining chunks from running. */
        void work() {
            try {
                for (int c; failure == null && (c = next.getAndIncrement()) < chunks; ) {
                    for (int i = c * size, end = Math.min(n, i + size); i < end; i++) {
                        body.accept(i);
                    }
                }
            } catch (Throwable e) {
                failure = e;
            }
        }

        void rethrow() {
            Throwable f = failure;
            if (f instanceof RuntimeException e) {
                throw e;
            }
            if (f instanceof Error e) {
                throw e;
            }
            if (f != null) {
                throw new IllegalStateException(f);
            }
        }
    }
}
