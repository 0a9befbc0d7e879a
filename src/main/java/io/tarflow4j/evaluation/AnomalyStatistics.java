package io.tarflow4j.evaluation;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlow;
import java.util.function.LongConsumer;

/**
 * What every anomaly method reads of a set of images: each image's bits/dim under the model and
 * its {@link ContextCoder} bits/dim.
 *
 * @param bitsPerDim per image, in dataset order
 * @param compressedBitsPerDim per image, in dataset order
 */
public record AnomalyStatistics(double[] bitsPerDim, double[] compressedBitsPerDim) {

    /**
     * The statistics of a dataset, its bits/dim computed as {@link DatasetBpd} does (one noise draw).
     *
     * @param progress told the number of images done after each batch (may be null)
     */
    public static AnomalyStatistics of(
            TarFlow model,
            ImageDataset data,
            int batchSize,
            Dequantizer noise,
            Likelihood kind,
            Prior prior,
            LongConsumer progress) {
        double[] bpd = DatasetBpd.evaluate(
                        model,
                        data,
                        DatasetBpd.Options.of(batchSize, noise)
                                .withLikelihood(kind)
                                .withPrior(prior)
                                .withProgress(progress))
                .perImage();
        double[] compressed = new double[data.size()];
        for (int i = 0; i < compressed.length; i++) {
            compressed[i] = ContextCoder.bitsPerDim(data.imageBytes(i), data.channels(), data.height(), data.width());
        }
        return new AnomalyStatistics(bpd, compressed);
    }

    /** Each image's score under {@code method} ({@code reference} may be null for methods without one). */
    public double[] scores(AnomalyMethod method, AnomalyReference reference) {
        double[] out = new double[bitsPerDim.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = method.score(bitsPerDim[i], compressedBitsPerDim[i], reference);
        }
        return out;
    }

    /** These images as the reference of normal images. */
    public AnomalyReference reference() {
        return AnomalyReference.of(bitsPerDim, compressedBitsPerDim);
    }
}
