package io.tarflow4j.sampling;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Where a sampling run stands (batch, block, token) and how long the rest will take, reported to a
 * listener at most once per interval. A large model samples for minutes (one 1024-token image of
 * the afhq256 preset inverts 8 blocks of 1023 tokens each), so the run says early how long it will
 * take and then how far it is.
 *
 * <p>The unit of work is one token step of one block. The time left is the time so far scaled
 * by the steps left; later tokens attend over more keys, so early estimates run a little short.
 * The first report comes once {@link #ESTIMATE_AFTER} (or the interval, when shorter) has
 * passed and is marked
 * {@link Snapshot#estimate()}: the listener can announce the expected total there.
 *
 * <p>Thread-safe: the sampler reports from the thread that inverts the first group of rows.
 */
public final class SamplingProgress {
    /** The time measured before the first estimate. */
    public static final Duration ESTIMATE_AFTER = Duration.ofSeconds(2);

    /** Runs expected to take at least this long (seconds) announce their estimate ({@link Snapshot#line()}). */
    public static final double ANNOUNCE_SECONDS = 60;

    /** How often the commands report (sample, eval samples, the server's log). */
    public static final Duration REPORT_EVERY = Duration.ofSeconds(10);

    private final int batches;
    private final int blocks;
    private final int steps;
    private final long intervalNanos;
    private final Consumer<Snapshot> listener;
    private final LongSupplier clock;
    private final long start;
    private long lastReport;
    private boolean estimated;
    private int batch;
    private int block;
    private int token;

    /**
     * A tracker for {@code batches} batches of a model with {@code blocks} blocks of
     * {@code tokens} tokens (T-1 steps per block), reporting at most every {@code interval}.
     */
    public SamplingProgress(int batches, int blocks, int tokens, Duration interval, Consumer<Snapshot> listener) {
        this(batches, blocks, tokens, interval, listener, System::nanoTime);
    }

    SamplingProgress(
            int batches, int blocks, int tokens, Duration interval, Consumer<Snapshot> listener, LongSupplier clock) {
        if (batches < 1 || blocks < 1 || tokens < 2) {
            throw new IllegalArgumentException("progress needs >= 1 batch, >= 1 block and >= 2 tokens, got " + batches
                    + ", " + blocks + ", " + tokens);
        }
        this.batches = batches;
        this.blocks = blocks;
        this.steps = tokens - 1;
        this.intervalNanos = interval.toNanos();
        this.listener = listener;
        this.clock = clock;
        this.start = clock.getAsLong();
        this.lastReport = start;
    }

    /** Batch {@code index} (from 0) starts. */
    public synchronized void startBatch(int index) {
        batch = index;
        block = 0;
        token = 0;
    }

    /** The {@code index}-th block in sampling order (from 0) starts. */
    synchronized void startBlock(int index) {
        block = index;
        token = 0;
        maybeReport();
    }

    /** {@code done} token steps of the current block are finished (1 .. T-1). */
    synchronized void tokens(int done) {
        token = done;
        maybeReport();
    }

    /** Where the run stands now. */
    public synchronized Snapshot snapshot() {
        return snapshot(false);
    }

    private Snapshot snapshot(boolean estimate) {
        long now = clock.getAsLong();
        double elapsed = (now - start) / 1e9;
        long total = (long) batches * blocks * steps;
        long done = ((long) batch * blocks + block) * steps + token;
        double left = done == 0 ? Double.NaN : elapsed * (total - done) / done;
        return new Snapshot(
                batch + 1, batches, Math.min(block + 1, blocks), blocks, token, steps, elapsed, left, estimate);
    }

    private void maybeReport() {
        long now = clock.getAsLong();
        if (!estimated) {
            if (now - start < Math.min(ESTIMATE_AFTER.toNanos(), intervalNanos)
                    || token == 0 && block == 0 && batch == 0) {
                return;
            }
            estimated = true;
            lastReport = now;
            listener.accept(snapshot(true));
        } else if (now - lastReport >= intervalNanos) {
            lastReport = now;
            listener.accept(snapshot(false));
        }
    }

    /**
     * One report.
     *
     * @param batch the current batch, from 1
     * @param batches batches in the run
     * @param block the current block in sampling order, from 1
     * @param blocks blocks per image
     * @param token token steps of the current block finished
     * @param tokens token steps per block (T-1)
     * @param elapsedSeconds time since the run started
     * @param secondsLeft estimated time to the end (NaN before any step is done)
     * @param estimate whether this is the first report, which carries the up-front estimate
     */
    public record Snapshot(
            int batch,
            int batches,
            int block,
            int blocks,
            int token,
            int tokens,
            double elapsedSeconds,
            double secondsLeft,
            boolean estimate) {

        /**
         * What to tell a user: the estimate when the run will take a minute or more, then the
         * progress; null for nothing (a short run's estimate).
         */
        public String line() {
            if (estimate) {
                return totalSeconds() >= ANNOUNCE_SECONDS ? describeEstimate() : null;
            }
            return "sampling: " + describe();
        }

        /** The estimated length of the whole run, in seconds. */
        public double totalSeconds() {
            return elapsedSeconds + secondsLeft;
        }

        /** E.g. {@code batch 1/1, block 3/8, token 512/1023, 2m10s elapsed, about 4m50s left}. */
        public String describe() {
            return String.format(
                    Locale.ROOT,
                    "batch %d/%d, block %d/%d, token %d/%d, %s elapsed, about %s left",
                    batch,
                    batches,
                    block,
                    blocks,
                    token,
                    tokens,
                    duration(elapsedSeconds),
                    duration(secondsLeft));
        }

        /** The up-front estimate, e.g. {@code estimated sampling time: about 9m30s (8 blocks x 1023 tokens, 1 batch)}. */
        public String describeEstimate() {
            return String.format(
                    Locale.ROOT,
                    "estimated sampling time: about %s (%d blocks x %d tokens, %d batch%s)," + " from the first %s",
                    duration(totalSeconds()),
                    blocks,
                    tokens,
                    batches,
                    batches == 1 ? "" : "es",
                    duration(elapsedSeconds));
        }

        /** Seconds as {@code 4.2s}, {@code 3m05s} or {@code 1h02m}. */
        static String duration(double seconds) {
            if (Double.isNaN(seconds)) {
                return "?";
            }
            if (seconds < 60) {
                return String.format(Locale.ROOT, "%.1fs", seconds);
            }
            long s = Math.round(seconds);
            if (s < 3600) {
                return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
            }
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        }
    }
}
