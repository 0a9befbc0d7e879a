package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Class-conditional likelihoods of images under a class-conditional TarFlow, and the generative
 * Bayes classifier they give: {@code p(y | x) = p(x | y) p(y) / sum_k p(x | k) p(k)} with a
 * uniform prior p(y) = 1/K.
 *
 * <p>All K classes are evaluated in one forward pass: each image is repeated K times (rows
 * {@code i*K .. i*K+K-1} hold image i with labels 0..K-1), so a batch of B images is one forward
 * of B*K rows.
 */
public final class ClassLikelihoods {
    private ClassLikelihoods() {}

    /**
     * Per-class scores of a batch.
     *
     * @param bitsPerDim bits/dim of image i given class k at {@code [i][k]}
     * @param logPosterior natural log of p(k | x_i) at {@code [i][k]} (uniform prior)
     * @param marginalBitsPerDim bits/dim of image i under {@code p(x) = mean_k p(x | k)}
     * @param dims values per image, to turn bits/dim back into total log-likelihoods
     */
    public record Scores(double[][] bitsPerDim, double[][] logPosterior, double[] marginalBitsPerDim, int dims) {
        /** Number of images. */
        public int images() {
            return bitsPerDim.length;
        }

        /** The most probable class of image i (ties: the lowest index). */
        public int predicted(int i) {
            double[] row = logPosterior[i];
            int best = 0;
            for (int k = 1; k < row.length; k++) {
                if (row[k] > row[best]) {
                    best = k;
                }
            }
            return best;
        }

        /** Log-probability in nats of the 8-bit image i given class k (see {@link BitsPerDim#logProbability}). */
        public double logLikelihood(int i, int k) {
            return BitsPerDim.logProbability(bitsPerDim[i][k], dims);
        }
    }

    /**
     * Scores dequantised images (B, C, H, W) in [-1, 1] against every class of the model under
     * its learned prior.
     *
     * @throws IllegalArgumentException when the model is unconditional
     */
    public static Scores evaluate(TarFlow model, Tensor images) {
        return evaluate(model, images, Prior.LEARNED);
    }

    /**
     * Scores dequantised images (B, C, H, W) in [-1, 1] against every class of the model.
     *
     * @throws IllegalArgumentException when the model is unconditional
     */
    public static Scores evaluate(TarFlow model, Tensor images, Prior prior) {
        int k = model.config().numClasses();
        if (k < 1) {
            throw new IllegalArgumentException("the model is unconditional: class likelihoods need a"
                    + " class-conditional model (trained with labels)");
        }
        long b = images.size(0);
        int dims = model.config().dims();
        try (GradMode g = GradMode.off()) {
            Tensor repeated = images.repeat_interleave(
                    k, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional());
            Tensor labels = torch.arange(s(k), new org.bytedeco.pytorch.TensorOptions(ScalarType.Long))
                    .repeat(b)
                    .to(model.device(), ScalarType.Long);
            Tensor bpd = BitsPerDim.perImage(model, model.place(repeated), labels, prior)
                    .reshape(b, k)
                    .to(ScalarType.Double);
            Tensor logLik = bpd.mul(s(-BitsPerDim.LN2 * dims)); // BitsPerDim.logProbability, per row
            Tensor logPosterior = torch.log_softmax(logLik, 1);
            // -log2 mean_k p(x|k) per dimension: logsumexp over classes minus ln K
            Tensor marginal = torch.logsumexp(logLik, new long[] {1}, false)
                    .sub(s(Math.log(k)))
                    .div(s(-BitsPerDim.LN2 * dims));
            return new Scores(
                    toRows(bpd, (int) b, k),
                    toRows(logPosterior, (int) b, k),
                    column(toRows(marginal.reshape(b, 1), (int) b, 1)),
                    dims);
        }
    }

    private static double[] column(double[][] rows) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i][0];
        }
        return out;
    }

    private static double[][] toRows(Tensor t, int rows, int cols) {
        double[] flat = Tensors.toDoubles(t);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, i * cols, out[i], 0, cols);
        }
        return out;
    }
}
