package io.tarflow4j.evaluation;

/**
 * Which density of a class-conditional model a bits/dim figure is of. For an unconditional model
 * all three name its one density.
 */
public enum Likelihood {
    /**
     * {@code p(x)} with the mean class embedding: the model's unconditional branch (the one label
     * dropout trains; the reference evaluates conditional models this way, with no label). The
     * default of every command.
     */
    UNCONDITIONAL,
    /**
     * {@code p(x) = mean_y p(x | y)}, the mixture over classes with a uniform prior: one forward
     * row per class.
     */
    MARGINAL,
    /** {@code p(x | y)} given each image's own label (labelled datasets only). */
    LABEL;

    /** The flag value: {@code unconditional}, {@code marginal} or {@code label}. */
    public String flag() {
        return FlagValues.of(this);
    }

    /**
     * Parses a flag value.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Likelihood parse(String value) {
        return FlagValues.parse(values(), value, "--likelihood");
    }
}
