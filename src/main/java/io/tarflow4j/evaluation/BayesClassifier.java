package io.tarflow4j.evaluation;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.SequentialBatches;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.NativeScope;
import java.util.function.LongConsumer;
import org.bytedeco.pytorch.Tensor;

/**
 * The generative classifier of a class-conditional TarFlow on a labelled dataset:
 * {@code argmax_y p(x | y)} (uniform prior), with the test accuracy and the confusion matrix.
 * Pixels are dequantised exactly as {@link DatasetBpd} does (seeded uniform noise per image or
 * the bin centre).
 */
public final class BayesClassifier {
    private BayesClassifier() {}

    /**
     * The outcome.
     *
     * @param accuracy fraction of images whose most likely class is their label
     * @param confusion {@code confusion[label][predicted]} counts
     * @param images images classified
     * @param meanBitsPerDimTrueClass mean bits/dim of the images given their own label
     */
    public record Result(double accuracy, long[][] confusion, int images, double meanBitsPerDimTrueClass) {
        /** Recall of each class (the diagonal over the row sums; NaN for a class with no images). */
        public double[] perClassAccuracy() {
            double[] out = new double[confusion.length];
            for (int k = 0; k < out.length; k++) {
                long total = 0;
                for (long v : confusion[k]) {
                    total += v;
                }
                out[k] = total == 0 ? Double.NaN : (double) confusion[k][k] / total;
            }
            return out;
        }
    }

    /**
     * Classifies every image of {@code data}.
     *
     * @param batchSize images per batch; forward passes hold at most about
     *     {@code DatasetBpd.autoRowsPerPass} rows (K per image)
     * @throws IllegalArgumentException when the model is unconditional, the data unlabelled, or a
     *     label is outside the model's classes
     */
    public static Result evaluate(
            TarFlow model, ImageDataset data, int batchSize, Dequantizer noise, LongConsumer progress) {
        return evaluate(model, data, batchSize, noise, Prior.LEARNED, progress);
    }

    /**
     * Classifies every image of {@code data} with class likelihoods under {@code prior}.
     *
     * @throws IllegalArgumentException when the model is unconditional, the data unlabelled, or a
     *     label is outside the model's classes
     */
    public static Result evaluate(
            TarFlow model, ImageDataset data, int batchSize, Dequantizer noise, Prior prior, LongConsumer progress) {
        int k = model.config().numClasses();
        if (k < 1) {
            throw new IllegalArgumentException(
                    "the model is unconditional: Bayes classification needs a" + " class-conditional model");
        }
        if (!data.hasLabels()) {
            throw new IllegalArgumentException(
                    "the dataset has no labels: classification accuracy needs labelled data");
        }
        if (data.numClasses() > k) {
            throw new IllegalArgumentException(
                    "the dataset has " + data.numClasses() + " classes, the model only " + k);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        DatasetBpd.checkShape(model, data);
        long[][] confusion = new long[k][k];
        long correct = 0;
        double bpdTrue = 0;
        int done = 0;
        try (DatasetBpd.InputBuffer input = new DatasetBpd.InputBuffer(batchSize, data.imageLength(), data)) {
            for (Batch batch : SequentialBatches.of(data, batchSize)) {
                try (NativeScope scope = NativeScope.open()) {
                    Tensor pixels = input.pixels(batch);
                    Tensor images = BitsPerDim.dequantize(pixels, input.noise(batch.n(), noise, 0));
                    // each image takes K rows: keep a pass within the bits/dim memory budget
                    int pass = Math.max(1, DatasetBpd.autoRowsPerPass(model.config()) / k);
                    for (int from = 0; from < batch.n(); from += pass) {
                        int rows = Math.min(pass, batch.n() - from);
                        try (NativeScope forward = NativeScope.open()) {
                            ClassLikelihoods.Scores scores =
                                    ClassLikelihoods.evaluate(model, images.narrow(0, from, rows), prior);
                            for (int i = 0; i < rows; i++) {
                                int label = batch.labels()[from + i];
                                int predicted = scores.predicted(i);
                                confusion[label][predicted]++;
                                if (label == predicted) {
                                    correct++;
                                }
                                bpdTrue += scores.bitsPerDim()[i][label];
                            }
                        }
                    }
                }
                done += batch.n();
                if (progress != null) {
                    progress.accept(done);
                }
            }
        }
        return new Result((double) correct / done, confusion, done, bpdTrue / done);
    }

    /** Confusion matrix as aligned text: rows are true labels, columns predictions. */
    public static String format(long[][] confusion, java.util.List<String> names) {
        StringBuilder sb = new StringBuilder();
        int k = confusion.length;
        sb.append(String.format("%-14s", "true\\pred"));
        for (int j = 0; j < k; j++) {
            sb.append(String.format("%7d", j));
        }
        sb.append('\n');
        for (int i = 0; i < k; i++) {
            String name = i < names.size() ? names.get(i) : Integer.toString(i);
            sb.append(String.format("%-14s", i + " " + (name.length() > 11 ? name.substring(0, 11) : name)));
            for (int j = 0; j < k; j++) {
                sb.append(String.format("%7d", confusion[i][j]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
