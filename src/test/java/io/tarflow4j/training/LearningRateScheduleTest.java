package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {
    @Test
    void warmupThenCosineMatchesHandComputedValues() {
        // peak 2e-3, warm-up 4, total 12; min 1e-6. Warm-up: 1e-6 + k/4 * (2e-3 - 1e-6).
        LearningRateSchedule s = new LearningRateSchedule(2e-3, 4, 12);
        assertEquals(0.00050075, s.lr(1), 1e-15);
        assertEquals(0.0010005, s.lr(2), 1e-15);
        assertEquals(0.002, s.lr(4), 1e-15);
        // cosine: t = (k - 4) / 8; 1e-6 + 0.5 * (1 + cos(pi t)) * 1.999e-3
        assertEquals(1e-6 + 0.5 * (1 + 0.9238795325112867) * 1.999e-3, s.lr(5), 1e-15); // cos(pi/8)
        assertEquals(0.0017072532277959541, s.lr(6), 1e-15); // cos(pi/4) = 0.70710678
        assertEquals(0.0010005, s.lr(8), 1e-15); // cos(pi/2) = 0: the midpoint
        assertEquals(1e-6, s.lr(12), 1e-15);
    }

    @Test
    void withoutWarmupTheCosineStartsAtStepOne() {
        LearningRateSchedule s = new LearningRateSchedule(2e-3, 0, 10);
        assertEquals(0.001951080988037006, s.lr(1), 1e-15); // cos(pi/10) = 0.95105652
        assertEquals(0.0010005, s.lr(5), 1e-15);
        assertEquals(1e-6, s.lr(10), 1e-15);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(0, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 1, 10).lr(0));
    }
}
