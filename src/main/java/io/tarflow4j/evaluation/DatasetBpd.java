package io.tarflow4j.evaluation;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Bits per dimension of a whole dataset under a model, as the reference evaluates it: 8-bit
 * pixels dequantised with uniform noise (bins of 1/128 on [-1, 1]), the exact likelihood of each
 * image, averaged. The noise comes from a fixed seed, so the figure is repeatable; with
 * {@code draws > 1} each image's bits/dim is averaged over that many noise draws.
 */
public final class DatasetBpd {
    private DatasetBpd() {}

    /**
     * The result of an evaluation.
     *
     * @param mean mean bits/dim over images
     * @param standardError standard error of the mean over images
     * @param images number of images
     * @param perImage bits/dim of each image (averaged over draws), in dataset order
     */
    public record Result(double mean, double standardError, int images, double[] perImage) {}

    /**
     * Evaluates {@code model} on {@code data}.
     *
     * @param conditional pass the dataset's labels to a class-conditional model (else the mean
     *     class embedding is used, as the reference's unconditional evaluation)
     * @param progress told the number of images done after each batch (may be null)
     */
    public static Result evaluate(TarFlow model, ImageDataset data, int batchSize, long seed, int draws,
            boolean conditional, LongConsumer progress) {
        if (draws < 1) {
            throw new IllegalArgumentException("draws must be >= 1, got " + draws);
        }
        int n = data.size();
        double[] bpd = new double[n];
        SplittableRandom random = new SplittableRandom(seed);
        int done = 0;
        try (GradMode g = GradMode.off()) {
            for (Batch batch : BatchLoader.batches(data, batchSize)) {
                try (NativeScope scope = NativeScope.open()) {
                    long[] shape = {batch.n(), data.channels(), data.height(), data.width()};
                    Tensor pixels = model.place(Tensors.fromFloats(toPixels(batch.images()), shape));
                    Tensor y = conditional && batch.labels() != null && model.config().conditional()
                            ? Tensors.labels(batch.labels()).to(model.device(), ScalarType.Long)
                            : null;
                    for (int d = 0; d < draws; d++) {
                        float[] u = new float[Math.toIntExact(pixels.numel())];
                        for (int i = 0; i < u.length; i++) {
                            u[i] = (float) random.nextDouble();
                        }
                        Tensor images = BitsPerDim.dequantize(pixels, model.place(Tensors.fromFloats(u, shape)));
                        float[] values = Tensors.toFloats(BitsPerDim.perImage(model, images, y));
                        for (int i = 0; i < values.length; i++) {
                            bpd[done + i] += values[i] / draws;
                        }
                    }
                }
                done += batch.n();
                if (progress != null) {
                    progress.accept(done);
                }
            }
        }
        double mean = 0;
        for (double v : bpd) {
            mean += v;
        }
        mean /= n;
        double ss = 0;
        for (double v : bpd) {
            ss += (v - mean) * (v - mean);
        }
        double se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0;
        return new Result(mean, se, n, bpd);
    }

    /** Dataset floats x/255*2-1 back to integer pixel values 0..255 (as floats). */
    private static float[] toPixels(float[] scaled) {
        float[] p = new float[scaled.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.round((scaled[i] + 1f) * 127.5f);
        }
        return p;
    }
}
