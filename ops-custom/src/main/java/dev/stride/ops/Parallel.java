package dev.stride.ops;

import dev.stride.core.Dnnl;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Runs the Java kernels of the custom ops over index ranges, on as many threads as oneDNN's OpenMP runtime
 * uses: the calling thread and {@code threads - 1} helpers. The Java phases (gather, scatter, squeeze, scale)
 * and the oneDNN phases (the GEMMs) of an op run one after the other, never at once, so the two thread teams
 * never compete for the cores.
 *
 * <p>Why not a {@code ForkJoinPool}: an op calls its kernels many times a step, each a fraction of a
 * millisecond, and handing a task to a parked pool thread and waiting for it to report back costs tens of
 * microseconds on a virtual machine each way, with the caller idle throughout. Here the caller takes chunks
 * like any helper, and helpers wait briefly ({@link #IDLE_WAIT_NANOS}) for the next call before parking. They
 * wait by yielding, not by spinning, so that oneDNN's OpenMP threads running between two kernels get the core.
 */
public final class Parallel {
    private Parallel() {}

    /** How long an idle helper waits (yielding) for the next call before it parks: the gap between kernels. */
    static final long IDLE_WAIT_NANOS = 50_000;

    private static volatile Team team;

    private static Team team(int threads) {
        Team t = team;
        if (t == null || t.size != threads) {
            synchronized (Parallel.class) {
                t = team;
                if (t == null || t.size != threads) {
                    if (t != null) {
                        t.close();
                    }
                    t = new Team(threads);
                    team = t;
                }
            }
        }
        return t;
    }

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
        if (threads == 1 || n <= grain || !team(threads).run(n, grain, body)) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
        }
    }

    /** One call's work: chunks claimed by the caller and the helpers alike. */
    private static final class Job {
        final IntConsumer body;
        final int n;
        final int size;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.size = (n + chunks - 1) / chunks;
            this.chunks = (n + size - 1) / size;
        }

        /** Claims and runs chunks until none is left; a failure stops the remaining chunks from running. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (failure == null) {
                        for (int i = c * size, end = Math.min(n, i + size); i < end; i++) {
                            body.accept(i);
                        }
                    }
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    finished.incrementAndGet();
                }
            }
        }

        void awaitChunks() {
            for (int spins = 0; finished.get() < chunks; spins++) {
                if ((spins & 1023) == 1023) {
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
            }
        }
    }

    /** The helper threads for one thread count. */
    private static final class Team {
        final int size;
        final Helper[] helpers;
        /** Held by the thread whose call is running; a second caller (or a nested call) runs inline. */
        final AtomicBoolean busy = new AtomicBoolean();
        volatile Job job;
        volatile boolean closed;

        Team(int size) {
            this.size = size;
            this.helpers = new Helper[size - 1];
            for (int i = 0; i < helpers.length; i++) {
                helpers[i] = new Helper(this, i);
                helpers[i].start();
            }
        }

        /** Runs {@code body} over {@code [0, n)} with the helpers; false, having run nothing, when busy. */
        boolean run(int n, int grain, IntConsumer body) {
            if (Thread.currentThread() instanceof Helper || !busy.compareAndSet(false, true)) {
                return false;
            }
            try {
                Job j = new Job(body, n, Math.min(size * 4, Math.max(1, n / Math.max(1, grain))));
                job = j;
                for (Helper h : helpers) {
                    if (h.parked) {
                        LockSupport.unpark(h);
                    }
                }
                j.work();
                j.awaitChunks();
                Throwable failure = j.failure;
                if (failure instanceof RuntimeException e) {
                    throw e;
                }
                if (failure instanceof Error e) {
                    throw e;
                }
                if (failure != null) {
                    throw new IllegalStateException(failure);
                }
                return true;
            } finally {
                busy.set(false);
            }
        }

        void close() {
            closed = true;
            for (Helper h : helpers) {
                LockSupport.unpark(h);
            }
        }
    }

    private static final class Helper extends Thread {
        private final Team team;
        volatile boolean parked;

        Helper(Team team, int index) {
            super("stride-parallel-" + team.size + "-" + (index + 1));
            this.team = team;
            setDaemon(true);
        }

        @Override
        public void run() {
            Job last = null;
            long idleSince = System.nanoTime();
            while (!team.closed) {
                Job j = team.job;
                if (j != null && j != last) {
                    last = j;
                    j.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < IDLE_WAIT_NANOS) {
                    Thread.yield();
                } else {
                    // Publish 'parked' before the last look at the job: a caller that sets the job after this
                    // look sees 'parked' and unparks us (an unpark before park makes park return at once).
                    parked = true;
                    j = team.job;
                    if ((j == null || j == last) && !team.closed) {
                        LockSupport.park(this);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
