package io.tarflow4j.training;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The human-readable progress of training on a stream (stderr): refreshed in place with a
 * carriage return on a terminal (at most a few times a second), otherwise as plain lines at
 * metrics steps, at most one every {@value #PLAIN_INTERVAL_SECONDS} seconds (logs stay short).
 */
public final class ProgressLine {
    /** Minimum seconds between plain progress lines. */
    public static final int PLAIN_INTERVAL_SECONDS = 10;

    private final PrintStream out;
    private final boolean inPlace;
    private long lastPrintNanos;
    private int lastLength;

    /** Progress on {@code out}, in place when {@code inPlace}. */
    public ProgressLine(PrintStream out, boolean inPlace) {
        this.out = out;
        this.inPlace = inPlace;
    }

    /** Whether this process's stderr is a terminal (Linux: fd 2 is a tty device). */
    public static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Reports a step; {@code logged} says whether it is a metrics step (printed as a plain line
     * when not in place).
     */
    public void step(String text, boolean logged) {
        if (inPlace) {
            long now = System.nanoTime();
            if (logged || now - lastPrintNanos > 250_000_000L) {
                String pad = text.length() < lastLength ? " ".repeat(lastLength - text.length()) : "";
                out.print("\r" + text + pad);
                out.flush();
                lastPrintNanos = now;
                lastLength = text.length();
            }
        } else if (logged) {
            long now = System.nanoTime();
            if (lastPrintNanos == 0 || now - lastPrintNanos >= PLAIN_INTERVAL_SECONDS * 1_000_000_000L) {
                out.println(text);
                lastPrintNanos = now;
            }
        }
    }

    /** Prints a message on its own line (ending an in-place line first). */
    public void message(String text) {
        if (inPlace && lastLength > 0) {
            out.println();
            lastLength = 0;
        }
        out.println(text);
    }

    /** Ends an in-place line. */
    public void finish() {
        if (inPlace && lastLength > 0) {
            out.println();
            lastLength = 0;
        }
    }

    /**
     * Training speed for the progress line: {@code 123 img/s}, or {@code 42.0 s/step} when steps
     * are slow (under {@value #SLOW_IMAGES_PER_SECOND} images a second, where whole images per
     * second would read 0).
     */
    public static String speed(double imagesPerSecond, int batch) {
        if (imagesPerSecond >= SLOW_IMAGES_PER_SECOND || !(imagesPerSecond > 0)) {
            return String.format("%.0f img/s", imagesPerSecond);
        }
        double stepSeconds = batch / imagesPerSecond;
        return stepSeconds >= 10
                ? String.format("%.0f s/step", stepSeconds)
                : String.format("%.2f s/step", stepSeconds);
    }

    /** Below this many images a second the progress line shows seconds per step. */
    public static final int SLOW_IMAGES_PER_SECOND = 10;

    /** Seconds as {@code 1h02m03s}, {@code 4m05s} or {@code 6s}. */
    public static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format("%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60);
        }
        return s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
