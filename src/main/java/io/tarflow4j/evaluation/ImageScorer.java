package io.tarflow4j.evaluation;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * Scores single images by exact likelihood, the anomaly-scoring use case: the bits/dim of each
 * image (the model's own density; for a class-conditional model with the mean class embedding,
 * as {@code eval bpd}), and for class-conditional models the bits/dim given each class and the
 * posterior p(class | image) under a uniform prior.
 */
public final class ImageScorer {
    private ImageScorer() {}

    /**
     * One image's scores.
     *
     * @param bitsPerDim bits/dim of the image (higher = less likely)
     * @param classBitsPerDim bits/dim given each class, or null for an unconditional model
     * @param posterior p(class | image) for each class, or null for an unconditional model
     */
    public record Score(double bitsPerDim, double[] classBitsPerDim, double[] posterior) {
        /** The most probable class, or -1 for an unconditional model. */
        public int predicted() {
            if (posterior == null) {
                return -1;
            }
            int best = 0;
            for (int k = 1; k < posterior.length; k++) {
                if (posterior[k] > posterior[best]) {
                    best = k;
                }
            }
            return best;
        }
    }

    /**
     * Scores images given as 8-bit CHW pixels of the model's shape, in batches.
     *
     * @param pixels one {@code C*H*W} byte array per image
     * @param noise dequantisation offsets, drawn image by image in list order
     */
    public static List<Score> score(TarFlow model, List<byte[]> pixels, int batchSize, Dequantizer noise) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        var c = model.config();
        int len = c.dims();
        for (int i = 0; i < pixels.size(); i++) {
            if (pixels.get(i).length != len) {
                throw new IllegalArgumentException("image " + i + " has " + pixels.get(i).length + " values, the model"
                        + " expects " + c.inChannels() + "x" + c.imageSize() + "x" + c.imageSize() + " = " + len);
            }
        }
        List<Score> out = new ArrayList<>(pixels.size());
        try (GradMode g = GradMode.off()) {
            for (int start = 0; start < pixels.size(); start += batchSize) {
                int n = Math.min(batchSize, pixels.size() - start);
                float[] p = new float[n * len];
                for (int i = 0; i < n; i++) {
                    byte[] img = pixels.get(start + i);
                    for (int k = 0; k < len; k++) {
                        p[i * len + k] = img[k] & 0xFF;
                    }
                }
                float[] u = noise.next(n * len);
                try (NativeScope scope = NativeScope.open()) {
                    long[] shape = {n, c.inChannels(), c.imageSize(), c.imageSize()};
                    Tensor images = model.place(BitsPerDim.dequantize(Tensors.fromFloats(p, shape),
                            Tensors.fromFloats(u, shape)));
                    float[] bpd = Tensors.toFloats(BitsPerDim.perImage(model, images, null));
                    ClassLikelihoods.Scores cls = c.conditional() ? ClassLikelihoods.evaluate(model, images) : null;
                    for (int i = 0; i < n; i++) {
                        double[] posterior = null;
                        if (cls != null) {
                            posterior = new double[c.numClasses()];
                            for (int k = 0; k < posterior.length; k++) {
                                posterior[k] = Math.exp(cls.logPosterior()[i][k]);
                            }
                        }
                        out.add(new Score(bpd[i], cls == null ? null : cls.bitsPerDim()[i], posterior));
                    }
                }
            }
        }
        return out;
    }
}
