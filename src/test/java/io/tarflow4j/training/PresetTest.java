package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PresetTest {
    @Test
    void presetsHoldTheDocumentedSettings() {
        Preset f = Preset.named("fmnist-small");
        assertEquals(4, f.patchSize());
        assertEquals(64, f.width());
        assertEquals(4, f.blocks());
        assertEquals(2, f.layersPerBlock());
        assertEquals(64, f.batch());
        assertEquals(2e-3, f.lr());
        assertEquals(200, f.warmupSteps());
        assertEquals(NoiseSpec.gaussian(0.1), f.noise());
        assertEquals(0.1, f.dropLabel());
        assertEquals(10, f.minutes());
        Preset i64 = Preset.named("imagenet64");
        assertEquals(2, i64.patchSize());
        assertEquals(768, i64.width());
        assertEquals(NoiseSpec.gaussian(0.05), i64.noise());
        assertEquals(NoiseSpec.gaussian(0.15), Preset.named("imagenet128").noise());
        assertEquals(1024, Preset.named("imagenet128").width());
        assertEquals(3, Preset.named("afhq256").numClasses());
        assertEquals(8, Preset.named("afhq256").patchSize());
        assertEquals(128, Preset.named("MNIST-TOY").width());
    }

    @Test
    void optionsStartFromThePresetAndEveryFieldOverrides() {
        TrainingOptions o = TrainingOptions.builder(Preset.FMNIST_SMALL).build();
        assertTrue(o.timeBudgeted());
        assertEquals("fashion-mnist-test", o.testData());
        assertEquals(1e-4, o.weightDecay());
        assertEquals(0.9, o.beta1());
        assertEquals(0.95, o.beta2());
        assertEquals(0, o.gradClip());
        assertEquals(0, o.emaDecay());
        TrainingOptions p = TrainingOptions.builder(Preset.FMNIST_SMALL)
                .width(128)
                .patchSize(2)
                .blocks(3)
                .layersPerBlock(5)
                .steps(100)
                .out(Path.of("x"))
                .build();
        assertEquals(128, p.width());
        assertEquals(2, p.patchSize());
        assertEquals(3, p.blocks());
        assertEquals(java.util.List.of(5, 5, 5), p.layersPerBlock());
        assertEquals(100, p.steps());
        assertEquals(0, p.minutes());
    }

    @Test
    void presetsWithoutBundledDataNeedData() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> TrainingOptions.builder(Preset.IMAGENET64).build());
        assertTrue(e.getMessage().contains("--data is required for preset imagenet64"), e.getMessage());
        assertNull(TrainingOptions.builder(Preset.IMAGENET64)
                .data("/some/folder")
                .build()
                .testData());
    }

    @Test
    void badValuesNameTheirFlags() {
        assertThrows(IllegalArgumentException.class, () -> Preset.named("nope"));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> TrainingOptions.builder(Preset.FMNIST_SMALL)
                        .dropLabel(1.5)
                        .build());
        assertTrue(e.getMessage().startsWith("--drop-label"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> TrainingOptions.builder(Preset.FMNIST_SMALL).width(100).build());
        assertTrue(e.getMessage().startsWith("--head-dim"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> TrainingOptions.builder(Preset.FMNIST_SMALL).batch(0).build());
        assertTrue(e.getMessage().startsWith("--batch"), e.getMessage());
    }
}
