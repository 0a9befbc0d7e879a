package io.tarflow4j.training;

/**
 * Training met a NaN or infinite loss or gradient and stopped before the optimizer step; the
 * last checkpoint on disk is the last good one and was not touched.
 */
public final class NonFiniteLossException extends IllegalStateException {
    private final long step;

    /** A failure at optimizer step {@code step} (1-based). */
    public NonFiniteLossException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The step whose loss or gradient was not finite. */
    public long step() {
        return step;
    }
}
