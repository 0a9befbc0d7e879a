package io.tarflow4j.training;

/**
 * The reference's learning-rate schedule: linear warm-up from {@link #MIN_LR} to the peak over
 * {@code warmupSteps}, then a half cosine from the peak back to {@link #MIN_LR} at
 * {@code totalSteps}.
 *
 * <p>Optimizer steps are numbered from 1, as the reference's schedule counter: step k uses
 * {@code lr(k) = min + k / W * (peak - min)} for k &lt;= W and
 * {@code min + 0.5 * (1 + cos(pi * (k - W) / (total - W))) * (peak - min)} after.
 *
 * @param peakLr the learning rate at the end of warm-up
 * @param warmupSteps W, 0 or more
 * @param totalSteps the step at which the cosine reaches the minimum, at least 1 and at least W
 */
public record LearningRateSchedule(double peakLr, long warmupSteps, long totalSteps) {
    /** The learning rate at the start of warm-up and at the end of the cosine. */
    public static final double MIN_LR = 1e-6;

    /** Validates the settings. */
    public LearningRateSchedule {
        if (!(peakLr > 0) || !Double.isFinite(peakLr)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + peakLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
    }

    /** The learning rate of optimizer step {@code step} (1-based). */
    public double lr(long step) {
        if (step < 1) {
            throw new IllegalArgumentException("steps are numbered from 1, got " + step);
        }
        if (step <= warmupSteps) {
            return MIN_LR + (double) step / warmupSteps * (peakLr - MIN_LR);
        }
        if (totalSteps <= warmupSteps) {
            return peakLr;
        }
        double t = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        return MIN_LR + 0.5 * (1 + Math.cos(Math.PI * t)) * (peakLr - MIN_LR);
    }
}
