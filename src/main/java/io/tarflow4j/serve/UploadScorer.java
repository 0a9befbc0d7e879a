package io.tarflow4j.serve;

import io.tarflow4j.evaluation.AnomalyMethod;
import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.ImageScorer;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.Prior;
import io.tarflow4j.model.TarFlowConfig;
import java.util.List;

/**
 * Scores an uploaded image for {@code POST /api/score} through the one scoring path,
 * {@link ImageScorer}, so an image gets the numbers {@code tarflow score} gives it with the same
 * seed: the unconditional bits/dim (the default of every command), the marginal bits/dim and, for
 * a conditional model, the figures of every class with the Bayes posterior (uniform class prior),
 * and the {@link #ANOMALY} anomaly score.
 */
public final class UploadScorer {
    /** Seed of the dequantisation noise (noise per image, so the same image always gets the same score). */
    public static final long DEQUANTIZATION_SEED = 0;
    /** The anomaly score shown beside bits/dim. */
    public static final AnomalyMethod ANOMALY = AnomalyMethod.COMPLEXITY;

    private final ServedModel served;
    private final Prior prior;

    /** A scorer for the served model under its learned prior. */
    public UploadScorer(ServedModel served) {
        this(served, Prior.LEARNED);
    }

    /** A scorer for the served model under {@code prior}. */
    public UploadScorer(ServedModel served, Prior prior) {
        this.served = served;
        this.prior = prior;
    }

    /** Scores an image already at the model's channels and size. Call on the model worker thread. */
    public ScoreResult score(UploadedImage image) {
        long start = System.nanoTime();
        TarFlowConfig c = served.model().config();
        if (image.channels() != c.inChannels() || image.size() != c.imageSize()) {
            throw new IllegalArgumentException("image is " + image.channels() + "x" + image.size() + "x"
                    + image.size() + ", the model takes " + c.inChannels() + "x" + c.imageSize() + "x"
                    + c.imageSize());
        }
        byte[] pixels = image.pixels();
        ImageScorer.Score s = ImageScorer.score(
                        served.model(), List.of(pixels), 1, Dequantizer.uniform(DEQUANTIZATION_SEED), prior)
                .get(0);
        double bpd = s.bitsPerDim(Likelihood.UNCONDITIONAL);
        double anomaly = ANOMALY.score(bpd, pixels, c.inChannels(), c.imageSize(), c.imageSize(), null);
        double[] logLik = null;
        if (s.classBitsPerDim() != null) {
            logLik = new double[s.classBitsPerDim().length];
            for (int k = 0; k < logLik.length; k++) {
                logLik[k] = BitsPerDim.logProbability(s.classBitsPerDim()[k], pixels.length);
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        return new ScoreResult(
                bpd, s.marginal(), s.classBitsPerDim(), logLik, s.posterior(), s.predicted(), anomaly, millis);
    }

    /** What the response says about the dequantisation. */
    public static String dequantization() {
        return Dequantizer.describe(false, DEQUANTIZATION_SEED);
    }
}
