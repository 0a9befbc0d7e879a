package io.tarflow4j.evaluation;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The one scoring path: every command that puts a likelihood on an image ({@code score},
 * {@code serve}'s {@code POST /api/score}, {@code eval bpd}, {@code eval classify},
 * {@code eval ood}) computes it here, from images dequantised by {@link Dequantizer} (noise per
 * image), under a {@link Prior}, as one of the {@link Likelihood} definitions.
 */
public final class ImageScorer {
    private ImageScorer() {}

    /**
     * Every likelihood figure of one image, in bits/dim (higher = less likely).
     *
     * @param unconditional {@link Likelihood#UNCONDITIONAL}: the mean class embedding (an
     *     unconditional model's only density)
     * @param marginal {@link Likelihood#MARGINAL}: {@code -log2 mean_y p(x|y) / D}; equals
     *     {@code unconditional} for an unconditional model
     * @param classBitsPerDim given each class, or null for an unconditional model
     * @param posterior p(class | image) under a uniform prior, or null for an unconditional model
     */
    public record Score(double unconditional, double marginal, double[] classBitsPerDim, double[] posterior) {
        /**
         * The figure of a definition.
         *
         * @throws IllegalArgumentException for {@link Likelihood#LABEL}, which needs a label
         */
        public double bitsPerDim(Likelihood kind) {
            return switch (kind) {
                case UNCONDITIONAL -> unconditional;
                case MARGINAL -> marginal;
                case LABEL ->
                    throw new IllegalArgumentException("a single image has no label: choose the"
                            + " unconditional or marginal likelihood, or read the class figures");
            };
        }

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
     * Scores images given as 8-bit CHW pixels of the model's shape, in batches of
     * {@code batchSize}; the result does not depend on the batch size or the order of the list.
     *
     * @param pixels one {@code C*H*W} byte array per image
     * @throws IllegalArgumentException when an image has the wrong number of values
     */
    public static List<Score> score(TarFlow model, List<byte[]> pixels, int batchSize, Dequantizer noise, Prior prior) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        TarFlowConfig c = model.config();
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
                float[] u = new float[n * len];
                noise.fill(p, n, len, 0, u);
                try (NativeScope scope = NativeScope.open()) {
                    long[] shape = {n, c.inChannels(), c.imageSize(), c.imageSize()};
                    out.addAll(List.of(scoreImages(
                            model,
                            BitsPerDim.dequantize(Tensors.fromFloats(p, shape), Tensors.fromFloats(u, shape)),
                            prior)));
                }
            }
        }
        return out;
    }

    /** Every figure of dequantised images (B, C, H, W): one forward row per image and one per class and image. */
    public static Score[] scoreImages(TarFlow model, Tensor images, Prior prior) {
        try (GradMode g = GradMode.off()) {
            Tensor placed = model.place(images);
            double[] unconditional = bitsPerDim(model, placed, Likelihood.UNCONDITIONAL, null, prior);
            ClassLikelihoods.Scores cls =
                    model.config().conditional() ? ClassLikelihoods.evaluate(model, placed, prior) : null;
            Score[] out = new Score[unconditional.length];
            for (int i = 0; i < out.length; i++) {
                if (cls == null) {
                    out[i] = new Score(unconditional[i], unconditional[i], null, null);
                } else {
                    double[] posterior = new double[cls.logPosterior()[i].length];
                    for (int k = 0; k < posterior.length; k++) {
                        posterior[k] = Math.exp(cls.logPosterior()[i][k]);
                    }
                    out[i] = new Score(unconditional[i], cls.marginalBitsPerDim()[i], cls.bitsPerDim()[i], posterior);
                }
            }
            return out;
        }
    }

    /**
     * Bits/dim of each dequantised image (B, C, H, W) under one definition.
     *
     * @param labels (B) labels for {@link Likelihood#LABEL}, else ignored (may be null)
     * @throws IllegalArgumentException for {@link Likelihood#LABEL} without labels
     */
    public static double[] bitsPerDim(TarFlow model, Tensor images, Likelihood kind, Tensor labels, Prior prior) {
        boolean conditional = model.config().conditional();
        try (GradMode g = GradMode.off()) {
            if (kind == Likelihood.MARGINAL && conditional) {
                return ClassLikelihoods.evaluate(model, images, prior).marginalBitsPerDim();
            }
            Tensor y = null;
            if (kind == Likelihood.LABEL && conditional) {
                if (labels == null) {
                    throw new IllegalArgumentException("the likelihood given the label needs labelled images");
                }
                y = labels.to(model.device(), ScalarType.Long);
            }
            float[] bpd = Tensors.toFloats(BitsPerDim.perImage(model, model.place(images), y, prior));
            double[] out = new double[bpd.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = bpd[i];
            }
            return out;
        }
    }

    /** Forward rows one image takes under a definition: K for the marginal of a K-class model, else 1. */
    public static int rowsPerImage(TarFlowConfig config, Likelihood kind) {
        return kind == Likelihood.MARGINAL && config.conditional() ? config.numClasses() : 1;
    }
}
