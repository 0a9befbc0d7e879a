package io.tarflow4j.sampling;

import java.util.Locale;

/**
 * The starting point of a block's Jacobi iteration (the paper's {@code guess_list}). Token 0 of
 * a block is its own input either way (the affine map of the first token is the identity).
 */
public enum InitialGuess {
    /** Every other token starts at zero. */
    ZEROS,
    /** Every token starts at the block's input (the latent being inverted). */
    INPUT;

    /** Parses {@code zeros} or {@code input} (any case). */
    public static InitialGuess parse(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "zeros", "zero" -> ZEROS;
            case "input" -> INPUT;
            default -> throw new IllegalArgumentException("initial guess '" + name + "': expected zeros or input");
        };
    }

    /** The name used in strategy files. */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
