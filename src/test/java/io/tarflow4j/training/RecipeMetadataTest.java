package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Precision;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecipeMetadataTest {
    private static final TarFlowConfig DEEP_SHALLOW = new TarFlowConfig(3, 16, 2, 32, List.of(3, 1, 1), 8, 4, false, 5);

    /** A recipe with every recorded setting away from the builder's defaults. */
    private static TrainingOptions recorded() {
        return TrainingOptions.builder(Preset.FMNIST_SMALL)
                .preset("mine")
                .data("train-folder")
                .testData("test-folder")
                .imageSize(16)
                .channels(3)
                .patchSize(2)
                .width(32)
                .headDim(8)
                .layersPerBlock(List.of(3, 1, 1))
                .nvp(false)
                .conditional(true)
                .steps(777)
                .seed(42)
                .batch(12)
                .lr(7e-4)
                .noise(NoiseSpec.uniform())
                .dropLabel(0.25)
                .warmupSteps(33)
                .weightDecay(0.05)
                .betas(0.8, 0.9)
                .gradClip(1.5)
                .emaDecay(0.99)
                .flip(true)
                .samples(false)
                .activationCheckpointing(true)
                .evalAt(List.of(5L, 9L))
                .threads(3)
                .precision(Precision.BF16)
                .build();
    }

    /** What a resume is told: other run-time settings, and a recipe that must not win. */
    private static TrainingOptions.Builder requested() {
        return TrainingOptions.builder(Preset.MNIST_TOY)
                .data("ignored")
                .resume(Path.of("run"))
                .lr(1)
                .seed(1)
                .threads(1)
                .logEvery(7)
                .checkpointEvery(9)
                .sampleEvery(11)
                .evalBatch(13)
                .device("cpu")
                .skipNonFinite(true)
                .stopAfter(600);
    }

    @Test
    void everyRecordedSettingComesBackAndTheRunTimeSettingsAreTheRequestedOnes() {
        TrainingOptions o = recorded();
        Map<String, String> m = RecipeMetadata.write(o, 100, 777, 12.3456, List.of("a", "b"));
        assertEquals("100", m.get("step"));
        assertEquals("a,b", m.get("class_names"));
        assertEquals("12.346", m.get("elapsed_s"));
        TrainingOptions r =
                RecipeMetadata.restore(requested().steps(0).minutes(5).build(), m, DEEP_SHALLOW);
        assertEquals(o.preset(), r.preset());
        assertEquals(o.data(), r.data());
        assertEquals(o.testData(), r.testData());
        assertEquals(List.of(3, 1, 1), r.layersPerBlock(), "per-block layer counts are kept, not the first");
        assertEquals(3, r.blocks());
        assertEquals(DEEP_SHALLOW, r.modelConfig(3, 16, 5));
        assertEquals(777, r.steps(), "the recorded total when no --steps is given");
        assertEquals(
                List.of(o.seed(), (long) o.batch(), o.warmupSteps()),
                List.of(r.seed(), (long) r.batch(), r.warmupSteps()));
        assertEquals(
                List.of(o.lr(), o.dropLabel(), o.weightDecay(), o.beta1(), o.beta2(), o.gradClip(), o.emaDecay()),
                List.of(r.lr(), r.dropLabel(), r.weightDecay(), r.beta1(), r.beta2(), r.gradClip(), r.emaDecay()));
        assertEquals(o.noise(), r.noise());
        assertTrue(r.flip());
        assertFalse(r.samples(), "--no-samples of the first run");
        assertTrue(r.activationCheckpointing());
        assertEquals(List.of(5L, 9L), r.evalAt());
        // run-time settings are the requested ones
        assertEquals(List.of(1, 7, 13), List.of(r.threads(), r.logEvery(), r.evalBatch()));
        assertEquals(List.of(9L, 11L, 600L), List.of(r.checkpointEvery(), r.sampleEvery(), r.stopAfter()));
        assertTrue(r.skipNonFinite());
        assertEquals(Precision.FLOAT32, r.precision());
        assertEquals(Path.of("run"), r.resume());
        assertEquals(
                900,
                RecipeMetadata.restore(requested().steps(900).build(), m, DEEP_SHALLOW)
                        .steps());
    }

    @Test
    void aCheckpointWithoutTheLaterKeysStillResumes() {
        Map<String, String> m = new HashMap<>(RecipeMetadata.write(recorded(), 1, 10, 0, List.of()));
        for (String key : List.of("preset", "samples", "activation_checkpointing", "eval_at", "test_dataset")) {
            m.remove(key);
        }
        TrainingOptions r = RecipeMetadata.restore(requested().build(), m, DEEP_SHALLOW);
        assertEquals("custom", r.preset());
        assertTrue(r.samples());
        assertFalse(r.activationCheckpointing());
        assertEquals(List.of(), r.evalAt());
        assertNull(r.testData());
    }

    @Test
    void aMissingOrMalformedKeyIsNamed() {
        Map<String, String> m = new HashMap<>(RecipeMetadata.write(recorded(), 1, 10, 0, List.of()));
        m.remove("lr");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> RecipeMetadata.restore(requested().build(), m, DEEP_SHALLOW));
        assertTrue(e.getMessage().contains("'lr'"), e.getMessage());
        m.put("lr", "fast");
        e = assertThrows(
                IllegalArgumentException.class,
                () -> RecipeMetadata.restore(requested().build(), m, DEEP_SHALLOW));
        assertTrue(e.getMessage().contains("'lr'") && e.getMessage().contains("fast"), e.getMessage());
        m.put("lr", "-1");
        e = assertThrows(
                IllegalArgumentException.class,
                () -> RecipeMetadata.restore(requested().build(), m, DEEP_SHALLOW));
        assertTrue(e.getMessage().contains("--lr"), e.getMessage());
    }
}
