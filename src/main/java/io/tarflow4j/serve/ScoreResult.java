package io.tarflow4j.serve;

/**
 * The likelihood of one image under the served model.
 *
 * @param bitsPerDim bits per dimension of the image: for a conditional model of the marginal
 *     {@code p(x) = mean_y p(x|y)} (uniform class prior), else of {@code p(x)}
 * @param logLikelihoods for a conditional model, {@code log p(x|y)} in nats for every class y
 *     (the whole 8-bit image), else null
 * @param posterior for a conditional model, {@code p(y|x)} for every class (the Bayes classifier
 *     with a uniform prior), else null
 * @param millis time the model took, in milliseconds
 */
public record ScoreResult(double bitsPerDim, double[] logLikelihoods, double[] posterior, long millis) {}
