package dev.stride.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
