package io.tarflow4j.sampling;

/**
 * How the GS-Jacobi sampler inverts one flow block.
 *
 * <p>The T-1 tokens a block produces (token 0 is its input) are split into {@code segments}
 * consecutive segments of nearly equal length, solved one after another (Gauss-Seidel); inside a
 * segment, Jacobi passes recompute every token of the segment from the current guess until the
 * largest change of any element is below {@code tolerance} or {@code maxIterations} passes ran.
 * With {@code maxIterations} at least the segment length the result is exact (token k of a
 * segment is exact after k passes); {@code segments = T-1} is the sequential sampler.
 *
 * @param segments number of Gauss-Seidel segments, at least 1 (capped at T-1 when used)
 * @param maxIterations Jacobi passes per segment at most, at least 1
 * @param guess the starting point
 * @param tolerance stop when max |x_new - x_old| over the segment is below this (0: run all passes)
 */
public record BlockStrategy(int segments, int maxIterations, InitialGuess guess, double tolerance) {

    /** Validates the settings. */
    public BlockStrategy {
        if (segments < 1) {
            throw new IllegalArgumentException("segments must be >= 1, got " + segments);
        }
        if (maxIterations < 1) {
            throw new IllegalArgumentException("max iterations must be >= 1, got " + maxIterations);
        }
        if (guess == null) {
            throw new IllegalArgumentException("initial guess must be zeros or input");
        }
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("tolerance must be finite and >= 0, got " + tolerance);
        }
    }

    /** The exact strategy: one segment, T passes at most, stopping when nothing changes. */
    public static BlockStrategy exact(int tokens) {
        return new BlockStrategy(1, tokens, InitialGuess.INPUT, 0);
    }
}
