package dev.stride.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stride.core.Dnnl;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void visitsEveryIndexExactlyOnce() {
        for (int n : new int[] {0, 1, 7, 64, 1000, 4097}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
            Parallel.forRange(n, 3, i -> hits.incrementAndGet(i));
            for (int i = 0; i < n; i++) {
                assertEquals(1, hits.get(i), "index " + i + " of " + n);
            }
        }
    }

    @Test
    void manyCallsBackToBackEachSeeEveryIndex() throws InterruptedException {
        for (int round = 0; round < 200; round++) {
            if (round % 50 == 49) {
                Thread.sleep(20); // long enough for OpenMP's idle threads to go to sleep
            }
            AtomicIntegerArray hits = new AtomicIntegerArray(257);
            Parallel.forRange(257, 1, i -> hits.incrementAndGet(i));
            for (int i = 0; i < 257; i++) {
                assertEquals(1, hits.get(i), "round " + round + ", index " + i);
            }
        }
    }

    /** Chunks wait (up to 10 s) until a second thread runs one: true when it did. */
    private static boolean runsOnTwoThreadsAtOnce(Set<Thread> seen) {
        CountDownLatch two = new CountDownLatch(2);
        Parallel.forRange(64, 1, i -> {
            if (seen.add(Thread.currentThread())) {
                two.countDown();
            }
            try {
                two.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return two.getCount() == 0;
    }

    @Test
    void chunksRunOnSeveralThreadsAtOnce() {
        assumeTrue(Dnnl.threads() > 1, "one thread: every call runs inline");
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        assertTrue(runsOnTwoThreadsAtOnce(seen), "only " + seen + " ran chunks");
    }

    @Test
    void aFailureOnAnotherThreadReachesTheCallerAndTheJvmGoesOn() {
        assumeTrue(Dnnl.threads() > 1, "one thread: every call runs inline");
        Thread caller = Thread.currentThread();
        AssertionError boom = new AssertionError("boom on a worker");
        AssertionError thrown = assertThrows(AssertionError.class, () -> Parallel.forRange(64, 1, i -> {
            if (Thread.currentThread() != caller) {
                throw boom;
            }
            try {
                Thread.sleep(5); // leave chunks for the other threads
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        assertSame(boom, thrown);
        assertTrue(runsOnTwoThreadsAtOnce(ConcurrentHashMap.newKeySet()));
    }

    @Test
    void aNestedCallRunsInlineAndCompletes() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
        Parallel.forRange(64, 1, i -> Parallel.forRange(64, 1, j -> hits.incrementAndGet(i * 64 + j)));
        for (int k = 0; k < 64 * 64; k++) {
            assertEquals(1, hits.get(k), "index " + k);
        }
    }

    @Test
    void aFailureInAnyChunkReachesTheCallerAndTheNextCallStillWorks() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.forRange(1000, 1, i -> {
            if (i == 997) {
                throw boom;
            }
        }));
        assertSame(boom, thrown);
        AtomicIntegerArray hits = new AtomicIntegerArray(1000);
        Parallel.forRange(1000, 1, i -> hits.incrementAndGet(i));
        for (int i = 0; i < 1000; i++) {
            assertEquals(1, hits.get(i));
        }
    }

    @Test
    void callsFromSeveralThreadsAtOnceEachCompleteTheirOwnRange() throws InterruptedException {
        int callers = 4;
        AtomicIntegerArray hits = new AtomicIntegerArray(callers * 5000);
        Thread[] threads = new Thread[callers];
        for (int t = 0; t < callers; t++) {
            int base = t * 5000;
            threads[t] = new Thread(() -> {
                for (int rep = 0; rep < 20; rep++) {
                    Parallel.forRange(250, 1, i -> {
                        for (int k = 0; k < 20; k++) {
                            hits.incrementAndGet(base + i * 20 + k);
                        }
                    });
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (int k = 0; k < callers * 5000; k++) {
            assertEquals(20, hits.get(k), "index " + k);
        }
    }
}
