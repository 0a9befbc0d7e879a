package io.tarflow4j.training;

/**
 * Turns a time budget into a number of steps for the cosine schedule, from the measured speed.
 *
 * <p>The first three steps of a process are not timed (JIT and allocator warm-up). Until the end
 * of the learning-rate warm-up (at least 20 steps) the step time is the mean over the timed
 * steps; after that it is an exponential moving average (rate 1/100) seeded with that mean, so
 * that the total follows a shared machine's changing speed without jitter. After every step the
 * total is {@code step + floor(remaining budget / step time)}; training ends when it reaches the
 * current step. Warm-up learning rates do not depend on the total, and after warm-up a change of
 * the total by a few steps moves the cosine's learning rate by a fraction of a percent.
 */
public final class StepBudget {
    private static final int UNTIMED = 3;
    private static final double EMA_RATE = 0.01;

    private final double budgetSeconds;
    private final long meanUntil;
    private final long startStep;
    private long total;
    private long timedFromNanos;
    private long lastNanos;
    private double stepSeconds = Double.NaN;

    /**
     * A budget of {@code minutes} for a run whose warm-up lasts {@code warmupSteps}, starting
     * (or resuming) after {@code startStep}.
     */
    public StepBudget(double minutes, long warmupSteps, long startStep) {
        if (!(minutes > 0)) {
            throw new IllegalArgumentException("--minutes must be > 0, got " + minutes);
        }
        this.budgetSeconds = minutes * 60;
        this.meanUntil = Math.max(warmupSteps, 20);
        this.startStep = startStep;
        this.total = Math.max(startStep + 1, meanUntil * 100);
    }

    /** The current estimate of the total steps (at least one more than the last recorded step until done). */
    public long total() {
        return total;
    }

    /** The measured seconds per step (NaN before the fourth step). */
    public double stepSeconds() {
        return stepSeconds;
    }

    /**
     * Records that {@code step} ended at {@code nowNanos} with {@code elapsedSeconds} of the
     * budget used (over all resumed parts), and updates the total.
     */
    public void record(long step, long nowNanos, double elapsedSeconds) {
        long timed = step - startStep - UNTIMED;
        if (timed == 0) {
            timedFromNanos = nowNanos;
        } else if (timed > 0) {
            if (step <= meanUntil || Double.isNaN(stepSeconds)) {
                stepSeconds = (nowNanos - timedFromNanos) / 1e9 / timed;
            } else {
                stepSeconds += EMA_RATE * ((nowNanos - lastNanos) / 1e9 - stepSeconds);
            }
            long more = (long) Math.max(0, Math.floor((budgetSeconds - elapsedSeconds) / stepSeconds));
            total = step + more;
        }
        lastNanos = nowNanos;
    }

    /** Whether the budget is used up after {@code step}. */
    public boolean done(long step) {
        return step >= total;
    }
}
