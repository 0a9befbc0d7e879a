package io.tarflow4j.evaluation;

/**
 * The Gaussian prior a likelihood is evaluated under. The two differ only for volume-preserving
 * (VP) models, whose prior variance {@code var} is learned during training (an EMA of
 * {@code mean(z^2)}); NVP models keep {@code var} at ones, where both give the same figure.
 */
public enum Prior {
    /**
     * {@code N(0, diag(var))} with the model's learned variance: the density the sampler draws
     * from ({@code x = reverse(noise * sqrt(var))}), the model's exact likelihood.
     */
    LEARNED,
    /**
     * {@code N(0, I)} whatever {@code var} holds: the reference's bits/dim evaluation
     * ({@code evaluate_bpd}), for comparing VP figures with the paper's code.
     */
    STANDARD;

    /** The flag value: {@code learned} or {@code standard}. */
    public String flag() {
        return FlagValues.of(this);
    }

    /**
     * Parses a flag value.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Prior parse(String value) {
        return FlagValues.parse(values(), value, "--prior");
    }
}
