package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stride.testing.ChildJvm;
import dev.stride.tests.support.WindowSweep;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Small convolution and pooling configurations (odd extents, dilations, strides, asymmetric and "same" padding,
 * inputs of 1 to 5) against the naive references, run in a child JVM: oneDNN once crashed on a dilated
 * dimension whose extent is 1, and a crash must fail this test naming the configuration, not kill the fork.
 */
class WindowSweepTest {

    @ParameterizedTest(name = "{0} x{1} seed {2}")
    @CsvSource({"conv, 200, 1", "pool, 200, 3"})
    void smallConfigurationsMatchTheReferenceWithoutCrashing(String family, int count, long seed) {
        ChildJvm.Result r = ChildJvm.run(WindowSweep.class, 300, family, String.valueOf(count), String.valueOf(seed));
        assertEquals(0, r.exitCode(), () -> family + " sweep failed (exit " + r.exitCode()
                + "; the last configuration printed is the one that crashed or was wrong):\n" + r.tail(15));
    }
}
