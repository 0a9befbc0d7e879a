package io.tarflow4j.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress of a sampling run: when it reports, what it estimates, and that the sampler feeds it. */
class SamplingProgressTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void estimatesAfterTheFirstSecondsThenReportsPerInterval() {
        AtomicLong now = new AtomicLong();
        List<SamplingProgress.Snapshot> seen = new ArrayList<>();
        // 2 batches x 3 blocks x 4 token steps = 24 steps
        SamplingProgress p = new SamplingProgress(2, 3, 5, Duration.ofSeconds(10), seen::add, now::get);
        p.startBatch(0);
        p.startBlock(0);
        now.set(SECOND);
        p.tokens(1);
        assertTrue(seen.isEmpty(), "nothing before " + SamplingProgress.ESTIMATE_AFTER);
        now.set(3 * SECOND);
        p.tokens(2);
        assertEquals(1, seen.size());
        SamplingProgress.Snapshot first = seen.get(0);
        assertTrue(first.estimate());
        assertEquals(33.0, first.secondsLeft(), 1e-9, "3 s for 2 of 24 steps: 33 s for the other 22");
        assertNull(first.line(), "a run under a minute announces no estimate");
        now.set(5 * SECOND);
        p.tokens(3);
        assertEquals(1, seen.size(), "the next report waits for the interval");
        now.set(14 * SECOND);
        p.tokens(4);
        assertEquals(2, seen.size());
        SamplingProgress.Snapshot second = seen.get(1);
        assertEquals("sampling: batch 1/2, block 1/3, token 4/4, 14.0s elapsed, about 1m10s left", second.line());
        now.set(30 * SECOND);
        p.startBatch(1);
        p.startBlock(2);
        assertEquals(3, seen.size(), "a new block past the interval reports");
        p.tokens(2);
        SamplingProgress.Snapshot last = p.snapshot();
        assertEquals(2, last.batch());
        assertEquals(3, last.block());
        assertEquals(30.0 * 2 / 22, last.secondsLeft(), 1e-9, "22 of 24 steps done in 30 s");
    }

    @Test
    void longRunsAnnounceTheirEstimate() {
        AtomicLong now = new AtomicLong();
        List<SamplingProgress.Snapshot> seen = new ArrayList<>();
        SamplingProgress p = new SamplingProgress(1, 8, 1024, Duration.ofSeconds(10), seen::add, now::get);
        p.startBatch(0);
        p.startBlock(0);
        now.set(2 * SECOND);
        p.tokens(31);
        String line = seen.get(0).line();
        assertTrue(line.startsWith("estimated sampling time: about 8m48s (8 blocks x 1023 tokens, 1 batch)"), line);
        assertEquals("4.2s", SamplingProgress.Snapshot.duration(4.21));
        assertEquals("3m05s", SamplingProgress.Snapshot.duration(185));
        assertEquals("1h02m", SamplingProgress.Snapshot.duration(3725));
        assertThrows(IllegalArgumentException.class, () -> new SamplingProgress(1, 1, 1, Duration.ZERO, s -> {}));
    }

    @Test
    void theSamplerReportsEveryBlockAndTokenInOrder() {
        TarFlow model = RandomWeights.perturbed(TarFlowConfig.of(1, 8, 2, 64, 3, 1, true, 4), 3, 0.02);
        int steps = model.config().numTokens() - 1;
        for (SamplerType kind : SamplerType.values()) {
            for (int groups : new int[] {1, 2}) {
                List<SamplingProgress.Snapshot> seen = new ArrayList<>();
                SamplingOptions o = SamplingOptions.builder()
                        .count(5)
                        .batchSize(3)
                        .classLabel(1)
                        .guidance(1.0)
                        .sampler(kind)
                        .parallelism(groups)
                        .build();
                new Sampler(model).sample(o, Duration.ZERO, seen::add);
                assertTrue(seen.get(0).estimate(), "the first report carries the estimate");
                long previous = -1;
                for (SamplingProgress.Snapshot s : seen) {
                    long position = ((long) (s.batch() - 1) * s.blocks() + s.block() - 1) * steps + s.token();
                    assertTrue(position >= previous, kind + ", " + groups + " groups: went back at " + s.describe());
                    previous = position;
                    assertEquals(2, s.batches());
                    assertEquals(3, s.blocks());
                    assertEquals(steps, s.tokens());
                }
                SamplingProgress.Snapshot last = seen.get(seen.size() - 1);
                assertEquals(
                        List.of(2, 3, steps),
                        List.of(last.batch(), last.block(), last.token()),
                        kind + ", " + groups + " groups: ends at the last token of the last block of the last batch");
                assertEquals(0.0, last.secondsLeft(), 1e-9);
            }
        }
        assertTrue(Guidance.of(1.0, 1.0).active());
    }
}
