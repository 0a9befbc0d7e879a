package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StepBudgetTest {
    @Test
    void theTotalIsTheStepsThatFitAtTheMeasuredSpeedAndFollowsIt() {
        StepBudget b = new StepBudget(1, 10, 0); // 60 s; steps of 100 ms fit 600
        long ms = 1_000_000L;
        long now = 0;
        for (long step = 1; step <= 20; step++) {
            now += 100 * ms;
            b.record(step, now, now / 1e9);
        }
        assertEquals(0.1, b.stepSeconds(), 1e-9);
        assertEquals(600, b.total());
        assertFalse(b.done(20));
        // the machine becomes twice as fast: the estimate moves towards 50 ms/step
        for (long step = 21; step <= 320; step++) {
            now += 50 * ms;
            b.record(step, now, now / 1e9);
        }
        assertTrue(b.stepSeconds() < 0.06, "step time " + b.stepSeconds());
        long expected = 320 + (long) Math.floor((60 - now / 1e9) / b.stepSeconds());
        assertEquals(expected, b.total());
        assertTrue(b.total() > 600);
        // over budget: done
        now += 60_000 * ms;
        b.record(321, now, now / 1e9);
        assertEquals(321, b.total());
        assertTrue(b.done(321));
    }
}
