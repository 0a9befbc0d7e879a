package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlowConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Activation checkpointing in training runs, the memory estimate and refusal, slow-step progress, --no-samples. */
class TrainingAtScaleTest {
    static final ImageDataset TRAIN = TinyRuns.data(64, 1);

    @TempDir
    Path tmp;

    @Test
    void activationCheckpointingTrainsWithTheSameLosses() throws Exception {
        Path plain = tmp.resolve("plain");
        Path recomputed = tmp.resolve("recomputed");
        // conditional with label dropout, and a volume-preserving model (learned prior variance)
        for (boolean nvp : new boolean[] {true, false}) {
            TinyRuns.run(
                    TinyRuns.options(6, plain.resolve("" + nvp))
                            .samples(false)
                            .nvp(nvp)
                            .dropLabel(0.3)
                            .build(),
                    TRAIN,
                    null);
            TinyRuns.run(
                    TinyRuns.options(6, recomputed.resolve("" + nvp))
                            .samples(false)
                            .nvp(nvp)
                            .dropLabel(0.3)
                            .activationCheckpointing(true)
                            .build(),
                    TRAIN,
                    null);
            List<Double> a = TinyRuns.losses(plain.resolve("" + nvp));
            List<Double> b = TinyRuns.losses(recomputed.resolve("" + nvp));
            assertEquals(6, b.size());
            for (int i = 0; i < a.size(); i++) {
                assertEquals(
                        a.get(i), b.get(i), 1e-4 * Math.max(1, Math.abs(a.get(i))), "nvp=" + nvp + " step " + (i + 1));
            }
        }
    }

    @Test
    void noSamplesWritesNoFigureAndTheLogSaysWhatTheEndOfRunCosts() throws Exception {
        Path out = tmp.resolve("run");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainingOptions o = TrainingRun.resolve(
                TinyRuns.options(3, out).samples(false).sampleEvery(1).build());
        TrainingRun.Summary s = new TrainingRun(
                        o, TRAIN, TinyRuns.data(8, 2), out, new PrintStream(log, true, StandardCharsets.UTF_8), false)
                .run();
        assertNull(s.figure());
        assertFalse(Files.exists(out.resolve(TrainingRun.FIGURE)));
        assertFalse(Files.exists(out.resolve("samples")));
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("memory: about"), text);
        assertTrue(text.contains("test bits/dim on 8 images about"), text);

        ByteArrayOutputStream withSamples = new ByteArrayOutputStream();
        Path other = tmp.resolve("samples");
        new TrainingRun(
                        TrainingRun.resolve(TinyRuns.options(2, other).build()),
                        TRAIN,
                        null,
                        other,
                        new PrintStream(withSamples, true, StandardCharsets.UTF_8),
                        false)
                .run();
        String said = withSamples.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("sample figure (4 panels of 20 images) about"), said);
        assertTrue(said.contains("sampling the figure (4 panels of 20 images, about"), said);
        assertTrue(Files.size(other.resolve(TrainingRun.FIGURE)) > 0);
    }

    @Test
    void aRunThatCannotFitIsRefusedNamingBatchAndCheckpointingBeforeAnythingIsBuilt() {
        // 8 blocks x 8 layers of width 8192: about 50 billion parameters, 800 GB to train
        TrainingOptions o = TinyRuns.options(2, tmp.resolve("huge"))
                .width(8192)
                .headDim(64)
                .blocks(8)
                .layersPerBlock(8)
                .batch(4)
                .build();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new TrainingRun(
                                o,
                                TRAIN,
                                null,
                                tmp.resolve("huge"),
                                new PrintStream(new ByteArrayOutputStream()),
                                false)
                        .run());
        assertTrue(e.getMessage().startsWith("--batch 4 of "), e.getMessage());
        assertTrue(e.getMessage().contains("available on this machine"), e.getMessage());
        assertTrue(e.getMessage().contains("--activation-checkpointing needs about"), e.getMessage());
        assertTrue(e.getMessage().contains("--batch 1 --activation-checkpointing needs about"), e.getMessage());
    }

    @Test
    void theEstimateCountsWeightsGradientsMomentsEmaAndActivations() {
        TarFlowConfig c = TarFlowConfig.of(3, 256, 8, 768, 8, 8, true, 3); // afhq256
        MemoryEstimate plain = MemoryEstimate.of(c, 2, true, false);
        MemoryEstimate lean = MemoryEstimate.of(c, 2, true, true);
        long p = c.parameterCount();
        assertEquals(4 * p, plain.weights());
        assertEquals(4 * p, plain.gradients());
        assertEquals(8 * p, plain.optimizer());
        assertEquals(4 * p, plain.ema());
        assertEquals(0, MemoryEstimate.of(c, 2, false, false).ema());
        assertEquals(2 * MemoryEstimate.of(c, 1, true, false).activations(), plain.activations(), 2);
        assertTrue(lean.activations() * 5 < plain.activations(), lean.describe() + " vs " + plain.describe());
        assertEquals(lean, plain.withCheckpointing(c, true));
        assertTrue(
                plain.describe().contains("EMA") && lean.describe().contains("activation checkpointing"),
                plain.describe());
    }

    @Test
    void slowStepsShowSecondsPerStep() {
        assertEquals("128 img/s", ProgressLine.speed(128, 64));
        assertEquals("1.60 s/step", ProgressLine.speed(1.25, 2));
        assertEquals("170 s/step", ProgressLine.speed(2 / 170.0, 2));
    }
}
