package io.tarflow4j.serve;

/**
 * The likelihood of one image under the served model.
 *
 * @param bitsPerDim bits per dimension of the image, unconditional (for a conditional model with
 *     the mean class embedding), as {@code tarflow score} reports it by default
 * @param marginalBitsPerDim bits per dimension of the marginal {@code p(x) = mean_y p(x|y)}
 *     (uniform class prior); equals {@code bitsPerDim} for an unconditional model
 * @param classBitsPerDim for a conditional model, the bits per dimension given every class y,
 *     else null
 * @param logLikelihoods for a conditional model, {@code log p(x|y)} in nats for every class y
 *     (the probability of the whole 8-bit image), else null
 * @param posterior for a conditional model, {@code p(y|x)} for every class (the Bayes classifier
 *     with a uniform prior), else null
 * @param predicted the most probable class, -1 for an unconditional model
 * @param anomaly the {@link UploadScorer#ANOMALY} score (higher = more unusual)
 * @param millis time the model took, in milliseconds
 */
public record ScoreResult(
        double bitsPerDim,
        double marginalBitsPerDim,
        double[] classBitsPerDim,
        double[] logLikelihoods,
        double[] posterior,
        int predicted,
        double anomaly,
        long millis) {}
