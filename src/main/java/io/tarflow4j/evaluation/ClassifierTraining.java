package io.tarflow4j.evaluation;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.SequentialBatches;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains the {@link FmnistClassifier} on Fashion-MNIST: AdamW (0.9, 0.999) with weight decay
 * 1e-4, cross-entropy, a cosine learning-rate schedule from {@code lr} to 0, random horizontal
 * flips, batches shuffled from a fixed seed (the same seed gives the same weights on the same
 * machine and thread count).
 */
public final class ClassifierTraining {
    private ClassifierTraining() {}

    /**
     * Training settings.
     *
     * @param epochs passes over the training set
     * @param batchSize images per step
     * @param learningRate peak learning rate
     * @param seed seeds the initialisation and the batch order
     */
    public record Settings(int epochs, int batchSize, double learningRate, long seed) {
        /** Validates the settings. */
        public Settings {
            if (epochs < 1 || batchSize < 1 || !(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("need epochs >= 1, batch >= 1 and a finite learning rate > 0, got "
                        + epochs + ", " + batchSize + ", " + learningRate);
            }
        }

        /** The bundled classifier's recipe: 4 epochs, batch 128, lr 2e-3, seed 0. */
        public static Settings defaults() {
            return new Settings(4, 128, 2e-3, 0);
        }
    }

    /**
     * The trained classifier and its test accuracy.
     *
     * @param classifier the weights after the last step
     * @param testAccuracy accuracy on the test set
     * @param steps optimiser steps taken
     * @param seconds wall time of the training
     */
    public record Result(FmnistClassifier classifier, double testAccuracy, long steps, double seconds) {}

    /** Trains on {@code train} and measures accuracy on {@code test}; {@code log} receives progress lines. */
    public static Result train(ImageDataset train, ImageDataset test, Settings settings, Consumer<String> log) {
        checkData(train);
        checkData(test);
        Runtime.seed(settings.seed());
        FmnistClassifier model = FmnistClassifier.initialised();
        long start = System.nanoTime();
        long steps;
        try (AdamW opt = new AdamW(
                        new ArrayList<>(model.parameters().values()), settings.learningRate(), 0.9, 0.999, 1e-8, 1e-4);
                BatchLoader loader = BatchLoader.builder(train)
                        .batchSize(settings.batchSize())
                        .seed(settings.seed())
                        .flip(true)
                        .dropLast(true)
                        .build()) {
            long perEpoch = loader.plan().stepsPerEpoch();
            steps = perEpoch * settings.epochs();
            double running = 0;
            for (long step = 0; step < steps; step++) {
                Batch batch = loader.next();
                opt.setLearningRate(settings.learningRate() * 0.5 * (1 + Math.cos(Math.PI * step / steps)));
                try (NativeScope scope = NativeScope.open()) {
                    Tensor x = Tensors.fromFloats(
                            batch.images(), batch.n(), 1, FmnistClassifier.SIZE, FmnistClassifier.SIZE);
                    Tensor loss = torch.cross_entropy_loss(model.logits(x), Tensors.labels(batch.labels()));
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                    running += Tensors.item(loss);
                }
                if ((step + 1) % perEpoch == 0 && log != null) {
                    log.accept(String.format(
                            "epoch %d/%d: mean training loss %.4f, test accuracy %.4f",
                            (step + 1) / perEpoch, settings.epochs(), running / perEpoch, accuracy(model, test)));
                    running = 0;
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Result(model, accuracy(model, test), steps, seconds);
    }

    /** Fraction of {@code data}'s images the classifier labels correctly. */
    public static double accuracy(FmnistClassifier model, ImageDataset data) {
        checkData(data);
        long correct = 0;
        try (GradMode g = GradMode.off()) {
            for (Batch batch : SequentialBatches.of(data, 1000)) {
                try (NativeScope scope = NativeScope.open()) {
                    Tensor x = Tensors.fromFloats(
                            batch.images(), batch.n(), 1, FmnistClassifier.SIZE, FmnistClassifier.SIZE);
                    long[] predicted =
                            Tensors.toLongs(model.logits(x).argmax(new org.bytedeco.pytorch.LongOptional(1), false));
                    for (int i = 0; i < batch.n(); i++) {
                        if (predicted[i] == batch.labels()[i]) {
                            correct++;
                        }
                    }
                }
            }
        }
        return (double) correct / data.size();
    }

    private static void checkData(ImageDataset data) {
        if (!data.hasLabels()
                || data.channels() != 1
                || data.height() != FmnistClassifier.SIZE
                || data.width() != FmnistClassifier.SIZE) {
            throw new IllegalArgumentException("the classifier trains on labelled 1x28x28 images, got " + data);
        }
    }
}
