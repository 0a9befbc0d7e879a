package io.tarflow4j.serve;

import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The one place the server scores images: the exact likelihood of the 8-bit image, dequantised
 * with uniform noise from a fixed seed (the reference's evaluation, {@link BitsPerDim}); for a
 * conditional model {@code log p(x|y)} for every class from one batched forward pass, with the
 * same noise for every class, and the class posterior by Bayes' rule with a uniform prior.
 * Swap this class's body for the evaluation package's scorer without touching the server.
 */
public final class ImageScorer {
    /** Seed of the dequantisation noise, so the same image always gets the same score. */
    public static final long DEQUANTIZATION_SEED = 0;

    private static final double LN2 = Math.log(2);

    private final ServedModel served;

    /** A scorer for the served model. */
    public ImageScorer(ServedModel served) {
        this.served = served;
    }

    /** Scores an image already at the model's channels and size. Call on the model worker thread. */
    public ScoreResult score(UploadedImage image) {
        long start = System.nanoTime();
        TarFlow model = served.model();
        TarFlowConfig c = model.config();
        if (image.channels() != c.inChannels() || image.size() != c.imageSize()) {
            throw new IllegalArgumentException("image is " + image.channels() + "x" + image.size() + "x"
                    + image.size() + ", the model takes " + c.inChannels() + "x" + c.imageSize() + "x"
                    + c.imageSize());
        }
        byte[] pixels = image.pixels();
        int dims = pixels.length;
        float[] values = new float[dims];
        float[] uniform = new float[dims];
        SplittableRandom random = new SplittableRandom(DEQUANTIZATION_SEED);
        for (int i = 0; i < dims; i++) {
            values[i] = pixels[i] & 0xFF;
            uniform[i] = (float) random.nextDouble();
        }
        int classes = c.numClasses();
        int rows = Math.max(1, classes);
        float[] bpd;
        try (NativeScope scope = NativeScope.open(); GradMode g = GradMode.off()) {
            long[] one = {1, c.inChannels(), c.imageSize(), c.imageSize()};
            Tensor x = BitsPerDim.dequantize(Tensors.fromFloats(values, one), Tensors.fromFloats(uniform, one));
            x = model.place(x.expand(rows, c.inChannels(), c.imageSize(), c.imageSize()).contiguous());
            Tensor y = null;
            if (classes > 0) {
                int[] labels = new int[classes];
                for (int k = 0; k < classes; k++) {
                    labels[k] = k;
                }
                y = Tensors.labels(labels).to(model.device(), ScalarType.Long);
            }
            bpd = Tensors.toFloats(BitsPerDim.perImage(model, x, y));
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (classes == 0) {
            return new ScoreResult(bpd[0], null, null, millis);
        }
        double[] logLik = new double[classes];
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < classes; k++) {
            logLik[k] = -bpd[k] * dims * LN2;
            max = Math.max(max, logLik[k]);
        }
        double sum = 0;
        double[] posterior = new double[classes];
        for (int k = 0; k < classes; k++) {
            posterior[k] = Math.exp(logLik[k] - max);
            sum += posterior[k];
        }
        for (int k = 0; k < classes; k++) {
            posterior[k] /= sum;
        }
        double logMarginal = max + Math.log(sum) - Math.log(classes);
        return new ScoreResult(-logMarginal / (dims * LN2), logLik, posterior, millis);
    }
}
