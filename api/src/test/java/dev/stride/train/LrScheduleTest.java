package dev.stride.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The schedules' closed forms, by hand (PyTorch's own values are in the tests module's golden test). */
class LrScheduleTest {

    @Test
    void constant() {
        LrSchedule s = LrSchedule.constant(0.01);
        assertEquals(0.01, s.lr(0));
        assertEquals(0.01, s.lr(1_000_000));
    }

    @Test
    void stepDecayMultipliesByGammaEveryStepSize() {
        LrSchedule s = LrSchedule.stepDecay(0.1, 3, 0.5);
        double[] want = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
        for (int t = 0; t < want.length; t++) {
            assertEquals(want[t], s.lr(t), 1e-15, "t=" + t);
        }
    }

    @Test
    void multiStepDecayAtEachMilestone() {
        LrSchedule s = LrSchedule.multiStepDecay(1.0, 0.1, 2, 5);
        double[] want = {1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
        for (int t = 0; t < want.length; t++) {
            assertEquals(want[t], s.lr(t), 1e-15, "t=" + t);
        }
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.multiStepDecay(1.0, 0.1, 5, 2));
    }

    @Test
    void cosineFromBaseToMinimum() {
        LrSchedule s = LrSchedule.cosine(0.1, 4, 0.02);
        // min + (base - min)(1 + cos(pi t / 4)) / 2
        assertEquals(0.1, s.lr(0), 1e-15);
        assertEquals(0.02 + 0.08 * (1 + Math.sqrt(0.5)) / 2, s.lr(1), 1e-15);
        assertEquals(0.06, s.lr(2), 1e-15);
        assertEquals(0.02 + 0.08 * (1 - Math.sqrt(0.5)) / 2, s.lr(3), 1e-15);
        assertEquals(0.02, s.lr(4), 1e-15);
        assertEquals(s.lr(3), s.lr(5), 1e-15, "past tMax it rises again, as PyTorch's closed form does");
    }

    @Test
    void linearFactorFromStartToEnd() {
        LrSchedule s = LrSchedule.linear(0.5, 0.25, 1.0, 3);
        double[] want = {0.125, 0.25, 0.375, 0.5, 0.5};
        for (int t = 0; t < want.length; t++) {
            assertEquals(want[t], s.lr(t), 1e-15, "t=" + t);
        }
    }

    @Test
    void warmupThenCosineRestartsTheCosineAtTheMilestone() {
        LrSchedule s = LrSchedule.warmup(2, 0.1, LrSchedule.cosine(1.0, 2, 0));
        double[] want = {0.1, 0.55, 1.0, 0.5, 0.0};
        for (int t = 0; t < want.length; t++) {
            assertEquals(want[t], s.lr(t), 1e-15, "t=" + t);
        }
    }

    @Test
    void perEpochHoldsTheRateThroughEachEpoch() {
        LrSchedule s = LrSchedule.stepDecay(0.1, 2, 0.1).perEpoch(3);
        double[] want = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01};
        for (int t = 0; t < want.length; t++) {
            assertEquals(want[t], s.lr(t), 1e-15, "t=" + t);
        }
        assertEquals(s.lr(7), s.lr(2, 1, 3));
    }

    @Test
    void badArgumentsAreClearErrors() {
        var e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1, 0, 0));
        assertEquals("cosine: tMax must be > 0, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.linear(0.1, 1.5, 1, 3));
        assertEquals("linear: start and end factors must be in [0, 1] (as in LinearLR), got 1.5 and 1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(0.1).lr(-1));
        assertEquals("learning rate schedule: step must be >= 0, got -1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.stepDecay(-0.1, 3, 0.5));
        assertEquals("step decay: learning rate must be a finite number >= 0, got -0.1", e.getMessage());
    }
}
