package io.tarflow4j.evaluation;

import java.io.PrintWriter;
import java.util.function.LongConsumer;

/**
 * A one-line progress bar on a stream (stderr):
 * {@code [######    ] 6000/10000 images, 12.3 s, 488 images/s, ETA 0:08}.
 * Redrawn in place with a carriage return at most a few times a second; finished with a newline.
 */
public final class ProgressBar implements LongConsumer, AutoCloseable {
    private static final int WIDTH = 30;
    private final PrintWriter out;
    private final long total;
    private final String unit;
    private final long start = System.nanoTime();
    private long lastDraw;
    private long done;

    /** A bar for {@code total} items called {@code unit} on {@code out}. */
    public ProgressBar(PrintWriter out, long total, String unit) {
        this.out = out;
        this.total = Math.max(total, 1);
        this.unit = unit;
    }

    /** Records that {@code count} items are done (a running total) and redraws when due. */
    @Override
    public void accept(long count) {
        done = count;
        long now = System.nanoTime();
        if (now - lastDraw > 200_000_000L || count >= total) {
            lastDraw = now;
            draw();
        }
    }

    private void draw() {
        int filled = (int) Math.min(WIDTH, WIDTH * done / total);
        double seconds = (System.nanoTime() - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        String eta = done >= total || done == 0 ? "" : String.format(", ETA %s", clock((total - done) / rate));
        out.print("\r[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total + " " + unit
                + String.format(", %.1f s, %.0f %s/s", seconds, rate, unit) + eta + "   ");
        out.flush();
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600
                ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }

    /** Ends the line. */
    @Override
    public void close() {
        draw();
        out.println();
    }
}
