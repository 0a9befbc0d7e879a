package io.tarflow4j.training;

import com.fasterxml.jackson.databind.JsonNode;
import io.tarflow4j.data.ImageDataset;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A tiny learnable dataset and tiny-model options for fast training tests. */
final class TinyRuns {
    private TinyRuns() {}

    /** 8x8 gray images of two classes (horizontal / vertical ramps) with a little pixel noise. */
    static ImageDataset data(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] pixels = new byte[n * 64];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    int ramp = (labels[i] == 0 ? x : y) * 32;
                    pixels[i * 64 + y * 8 + x] = (byte) Math.min(255, ramp + r.nextInt(16));
                }
            }
        }
        return new ImageDataset(pixels, labels, 1, 8, 8, List.of("horizontal", "vertical"), 0);
    }

    /** A tiny conditional model (width 16, head 8, 2 blocks x 1 layer, patch 2) trained for {@code steps}. */
    static TrainingOptions.Builder options(long steps, Path out) {
        return TrainingOptions.builder(Preset.FMNIST_SMALL)
                .data("tiny")
                .testData(null)
                .imageSize(0)
                .channels(0)
                .patchSize(2)
                .width(16)
                .headDim(8)
                .blocks(2)
                .layersPerBlock(1)
                .steps(steps)
                .batch(16)
                .lr(3e-3)
                .warmupSteps(5)
                .logEvery(1)
                .threads(1)
                .sampleEvery(0)
                .checkpointEvery(1000)
                .seed(11)
                .out(out);
    }

    /** Runs quietly (progress into a buffer) and returns the summary. */
    static TrainingRun.Summary run(TrainingOptions o, ImageDataset train, ImageDataset test) throws IOException {
        TrainingOptions resolved = TrainingRun.resolve(o);
        Path dir = RunFolder.choose(resolved, Path.of("unused"));
        return new TrainingRun(resolved, train, test, dir, new PrintStream(new ByteArrayOutputStream()), false).run();
    }

    /** The logged loss of every step record in a run folder, in order. */
    static List<Double> losses(Path dir) throws IOException {
        List<Double> out = new ArrayList<>();
        for (JsonNode n : MetricsLog.read(dir.resolve(MetricsLog.FILE))) {
            if (n.get("event").asText().equals("step")) {
                out.add(n.get("loss").asDouble());
            }
        }
        return out;
    }
}
