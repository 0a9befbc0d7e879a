package io.tarflow4j.training;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.evaluation.BitsPerDim;
import java.io.IOException;

/**
 * What a run says about its steps: a {@code step} record in the metrics every
 * {@code logEvery} steps and at the last, {@code skip} and {@code stopped} records, and the
 * progress line with speed and ETA. Without a metrics log (ranks other than 0) only the progress
 * line, which such ranks silence.
 */
final class StepLog {
    /** Nats per dimension the training loss leaves out: the Gaussian constant and the 8-bit bins. */
    private static final double NATS_OFFSET = BitsPerDim.HALF_LN_2PI + BitsPerDim.LN128;

    private final TrainingOptions options;
    private final MetricsLog metrics;
    private final ProgressLine progress;
    private long windowStart;
    private long windowStep;
    /** Throughput of the last logged window, NaN before the first. */
    private double imagesPerSecond = Double.NaN;

    /**
     * @param metrics the metrics log, or null for none
     * @param startStep the step the run starts after
     * @param start {@link System#nanoTime} at the start
     */
    StepLog(TrainingOptions options, MetricsLog metrics, ProgressLine progress, long startStep, long start) {
        this.options = options;
        this.metrics = metrics;
        this.progress = progress;
        this.windowStep = startStep;
        this.windowStart = start;
    }

    /** A step skipped for a non-finite loss or gradient norm ({@code --skip-nonfinite}). */
    void skipped(long step, Trainer.StepResult r) throws IOException {
        ObjectNode rec = MetricsLog.record("skip");
        rec.put("step", step);
        rec.put("loss", r.loss());
        rec.put("grad_norm", r.gradNorm());
        write(rec);
        progress.message("step " + step + ": non-finite loss " + r.loss() + " or gradient norm " + r.gradNorm()
                + ", step skipped (--skip-nonfinite)");
    }

    /** The run stops at {@code step} for {@code reason}. */
    void stopped(long step, String reason) throws IOException {
        ObjectNode rec = MetricsLog.record("stopped");
        rec.put("step", step);
        rec.put("reason", reason);
        write(rec);
        progress.finish();
    }

    /**
     * Step {@code step} of {@code total} ended at {@code now} ({@link System#nanoTime}).
     *
     * @param elapsedSeconds training time so far, over all resumed parts
     * @param etaSeconds estimated time to the last step
     */
    void stepped(long step, long total, Trainer.StepResult r, long now, double elapsedSeconds, double etaSeconds)
            throws IOException {
        boolean logged = step % options.logEvery() == 0 || step == total;
        double windowSeconds = (now - windowStart) / 1e9;
        double windowIps = (step - windowStep) * (double) options.batch() / Math.max(windowSeconds, 1e-9);
        if (logged) {
            imagesPerSecond = windowIps;
            ObjectNode rec = MetricsLog.record("step");
            rec.put("step", step);
            rec.put("loss", r.loss());
            rec.put("bpd_estimate", bpdEstimate(r.loss()));
            rec.put("lr", r.lr());
            rec.put("grad_norm", r.gradNorm());
            rec.put("images_per_s", round(windowIps));
            rec.put("elapsed_s", round(elapsedSeconds));
            write(rec);
            windowStart = now;
            windowStep = step;
        }
        progress.step(
                String.format(
                        "step %d/%d  loss %.4f  bpd~%.3f  lr %.2e  %s  elapsed %s  ETA %s",
                        step,
                        total,
                        r.loss(),
                        bpdEstimate(r.loss()),
                        r.lr(),
                        ProgressLine.speed(
                                Double.isNaN(imagesPerSecond) ? windowIps : imagesPerSecond, options.batch()),
                        ProgressLine.duration(elapsedSeconds),
                        ProgressLine.duration(etaSeconds)),
                logged);
    }

    /** Leaves {@code nanos} of work that is not training out of the speed. */
    void pause(long nanos) {
        windowStart += nanos;
    }

    private void write(ObjectNode rec) throws IOException {
        if (metrics != null) {
            metrics.write(rec);
        }
    }

    /** Bits/dim of a training loss (nats per dimension of the noisy image, before the 8-bit bins). */
    private static double bpdEstimate(double loss) {
        return (loss + NATS_OFFSET) / BitsPerDim.LN2;
    }

    /** {@code v} to three decimals, as the metrics record times and speeds. */
    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
