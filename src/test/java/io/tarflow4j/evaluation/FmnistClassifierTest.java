package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FmnistClassifierTest {

    static ImageDataset firstTestImages(int n) throws Exception {
        ImageDataset test = Datasets.open(Datasets.FASHION_MNIST_TEST, DataOptions.defaults());
        int len = test.imageLength();
        byte[] px = new byte[n * len];
        for (int i = 0; i < n; i++) {
            System.arraycopy(test.imageBytes(i), 0, px, i * len, len);
        }
        return ImageDataset.unlabelled(px, 1, 28, 28).withLabels(Arrays.copyOf(test.labels(), n), test.classNames());
    }

    @Test
    void bundledClassifierIsAccurateAndSmall() throws Exception {
        Path bundled = FmnistClassifier.locateBundled();
        assertTrue(Files.size(bundled) < 2_000_000, "bundled weights under 2 MB");
        FmnistClassifier c = FmnistClassifier.load(bundled);
        double accuracy = ClassifierTraining.accuracy(c, firstTestImages(1000));
        assertTrue(accuracy > 0.85, "accuracy " + accuracy);
        try (NativeScope scope = NativeScope.open()) {
            Tensor f = c.features(Tensors.fromFloats(new float[2 * 784], 2, 1, 28, 28));
            assertArrayEquals(new long[] {2, FmnistClassifier.FEATURES}, Tensors.shape(f));
        }
    }

    @Test
    void savesLoadsAndRefusesWrongStates(@TempDir Path dir) throws Exception {
        Runtime.seed(3);
        FmnistClassifier c = FmnistClassifier.initialised();
        Path file = dir.resolve("c.safetensors");
        c.save(file, Map.of("note", "test"));
        FmnistClassifier back = FmnistClassifier.load(file);
        try (NativeScope scope = NativeScope.open()) {
            Tensor x = Tensors.fromFloats(new float[784], 1, 1, 28, 28).add(io.tarflow4j.tensor.Ops.s(0.3));
            assertEquals(0, Tensors.maxAbsDiff(c.logits(x), back.logits(x)), 0);
        }
        Map<String, Tensor> state = new LinkedHashMap<>(c.parameters());
        state.remove("fc2.bias");
        var e = assertThrows(IllegalArgumentException.class, () -> FmnistClassifier.fromState(state));
        assertTrue(e.getMessage().contains("missing fc2.bias"), e.getMessage());
        assertThrows(
                java.nio.file.NoSuchFileException.class, () -> FmnistClassifier.load(dir.resolve("none.safetensors")));
        assertThrows(
                IllegalArgumentException.class, () -> c.features(Tensors.fromFloats(new float[3 * 784], 1, 3, 28, 28)));
    }

    @Test
    void sampleQualityMeasuresATinyModel() throws Exception {
        Runtime.seed(5);
        TarFlow model = new TarFlow(TarFlowConfig.of(1, 28, 7, 64, 1, 1, true, 10));
        FmnistClassifier judge = FmnistClassifier.load(FmnistClassifier.locateBundled());
        ImageDataset real = firstTestImages(200);
        int[] seen = {0};
        var settings = new SampleQuality.Settings(20, 10, Guidance.of(1.0, 1.0), false, 0, 1);
        SampleQuality.Result r =
                SampleQuality.evaluate(model, judge, null, real, settings, null, (images, labels, n) -> {
                    for (float v : images) {
                        assertTrue(v >= -1 && v <= 1);
                    }
                    assertEquals(seen[0] % 10, labels[0], "classes are drawn in turn");
                    seen[0] += n;
                });
        assertEquals(20, seen[0]);
        assertEquals(20, r.samples());
        assertEquals(200, r.realImages());
        assertTrue(r.frechetFmnist() > 0 && Double.isFinite(r.frechetFmnist()), "FD " + r.frechetFmnist());
        assertTrue(r.classAccuracy() >= 0 && r.classAccuracy() <= 1);
        assertEquals(10, r.perClassAccuracy().length);
        assertTrue(Double.isNaN(r.fid()));
        // real test images against themselves are at distance about zero
        try (var a = new FeatureStatistics.Accumulator(FmnistClassifier.FEATURES)) {
            try (NativeScope scope = NativeScope.open();
                    var g = io.tarflow4j.tensor.GradMode.off()) {
                float[] px = new float[200 * 784];
                for (int i = 0; i < 200; i++) {
                    real.copyImage(i, px, i * 784, false);
                }
                a.add(judge.features(Tensors.fromFloats(px, 200, 1, 28, 28)));
            }
            FeatureStatistics s = a.statistics();
            assertEquals(0, FrechetDistance.distance(s, s), 1e-6);
            assertTrue(r.frechetFmnist() > 1, "random-weight samples are far from real images: " + r.frechetFmnist());
        }
    }
}
