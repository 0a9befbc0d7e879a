package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AugmentationTest {
    @Test
    void noiseSpecsParseAndPrintInCheckpointForm() {
        assertEquals(NoiseSpec.gaussian(0.1), NoiseSpec.parse("gaussian:0.1"));
        assertEquals(NoiseSpec.gaussian(0.05), NoiseSpec.parse("0.05"));
        assertEquals(NoiseSpec.uniform(), NoiseSpec.parse("UNIFORM"));
        assertEquals("gaussian:0.1", NoiseSpec.gaussian(0.1).toString());
        assertEquals("uniform", NoiseSpec.uniform().toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NoiseSpec.parse("garbage"));
        assertTrue(e.getMessage().contains("gaussian:SIGMA"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NoiseSpec.parse("gaussian:-1"));
        assertThrows(IllegalArgumentException.class, () -> NoiseSpec.parse("gaussian:nan"));
    }

    @Test
    void gaussianNoiseHasTheRequestedStdAndRepeatsPerSeed() {
        try (NativeScope s = NativeScope.open()) {
            float[] clean = new float[20_000];
            Arrays.fill(clean, 0.25f);
            var x = Tensors.fromFloats(clean, 100, 1, 10, 20);
            float[] a = Tensors.toFloats(Augmentation.noisy(x, NoiseSpec.gaussian(0.1), 7));
            float[] b = Tensors.toFloats(Augmentation.noisy(x, NoiseSpec.gaussian(0.1), 7));
            float[] c = Tensors.toFloats(Augmentation.noisy(x, NoiseSpec.gaussian(0.1), 8));
            assertArrayEquals(a, b);
            assertFalse(Arrays.equals(a, c));
            double mean = 0;
            double sq = 0;
            for (float v : a) {
                mean += v - 0.25;
                sq += (v - 0.25) * (v - 0.25);
            }
            mean /= a.length;
            double std = Math.sqrt(sq / a.length - mean * mean);
            assertEquals(0, mean, 0.003);
            assertEquals(0.1, std, 0.003);
        }
    }

    @Test
    void uniformDequantisationStaysInEachPixelsBin() {
        try (NativeScope s = NativeScope.open()) {
            float[] clean = new float[256 * 8];
            for (int i = 0; i < clean.length; i++) {
                clean[i] = (i % 256) / 255f * 2f - 1f; // as ImageDataset stores pixel values
            }
            float[] x = Tensors.toFloats(
                    Augmentation.noisy(Tensors.fromFloats(clean, 8, 1, 16, 16), NoiseSpec.uniform(), 3));
            double spread = 0;
            for (int i = 0; i < x.length; i++) {
                int k = i % 256;
                double lo = k / 128.0 - 1;
                assertTrue(x[i] >= lo - 1e-6 && x[i] < lo + 1 / 128.0 + 1e-6, "pixel " + k + " -> " + x[i]);
                spread += (x[i] - lo) * 128;
            }
            assertEquals(0.5, spread / x.length, 0.05); // U[0, 1) offsets average 1/2
        }
    }

    @Test
    void labelDropReplacesAboutPOfTheLabelsByMinusOneDeterministically() {
        int[] labels = new int[10_000];
        Arrays.setAll(labels, i -> i % 10);
        int[] dropped = Augmentation.dropLabels(labels, 0.1, new SplittableRandom(5));
        assertArrayEquals(dropped, Augmentation.dropLabels(labels, 0.1, new SplittableRandom(5)));
        int count = 0;
        for (int i = 0; i < labels.length; i++) {
            if (dropped[i] == -1) {
                count++;
            } else {
                assertEquals(labels[i], dropped[i]);
            }
        }
        assertEquals(1000, count, 100);
        assertArrayEquals(labels, Augmentation.dropLabels(labels, 0, new SplittableRandom(5)));
        assertEquals(0, labels[0]); // the input is not modified
    }

    @Test
    void stepSeedsDifferPerStepAndSeed() {
        assertEquals(Augmentation.stepSeed(1, 2), Augmentation.stepSeed(1, 2));
        assertTrue(Augmentation.stepSeed(1, 2) != Augmentation.stepSeed(1, 3));
        assertTrue(Augmentation.stepSeed(1, 2) != Augmentation.stepSeed(2, 2));
    }

    @Test
    void aShardGetsTheNoiseAndLabelDropsOfItsRowsOfTheGlobalBatch() {
        try (NativeScope s = NativeScope.open()) {
            int global = 6;
            int len = 3 * 5 * 5; // 75 values per image: not a multiple of libtorch's 16-value normal blocks
            float[] clean = new float[global * len];
            for (int i = 0; i < clean.length; i++) {
                clean[i] = (i % 255) / 127.5f - 1;
            }
            for (NoiseSpec noise : new NoiseSpec[] {NoiseSpec.gaussian(0.1), NoiseSpec.uniform()}) {
                float[] whole =
                        Tensors.toFloats(Augmentation.noisy(Tensors.fromFloats(clean, global, 3, 5, 5), noise, 42));
                for (int rank = 0; rank < 3; rank++) {
                    float[] part = Arrays.copyOfRange(clean, rank * 2 * len, (rank + 1) * 2 * len);
                    float[] shard = Tensors.toFloats(
                            Augmentation.noisy(Tensors.fromFloats(part, 2, 3, 5, 5), noise, 42, rank * 2, global));
                    assertArrayEquals(
                            Arrays.copyOfRange(whole, rank * 2 * len, (rank + 1) * 2 * len),
                            shard,
                            noise + " rank " + rank);
                }
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Augmentation.noisy(
                            Tensors.fromFloats(clean, global, 3, 5, 5), NoiseSpec.uniform(), 1, 1, global));
        }
        int[] labels = new int[40];
        Arrays.setAll(labels, i -> i % 10);
        int[] whole = Augmentation.dropLabels(labels, 0.5, new SplittableRandom(3));
        int[] second = Augmentation.dropLabels(Arrays.copyOfRange(labels, 20, 40), 0.5, new SplittableRandom(3), 20);
        assertArrayEquals(Arrays.copyOfRange(whole, 20, 40), second);
    }
}
