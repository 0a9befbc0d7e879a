package io.tarflow4j.data;

import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Produces the training batches of a {@link BatchPlan}, endlessly from a start step, on a
 * background daemon thread that keeps a few batches ready in a bounded queue. A loader started at
 * step {@code k} yields exactly the batches from step {@code k} on that a loader started at 0
 * would.
 *
 * <p>{@link #next()} is meant for one consumer thread. An exception on the background thread is
 * rethrown by the next call to {@link #next()}, wrapped in an {@link IllegalStateException} whose
 * cause is the original.
 */
public final class BatchLoader implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Batch END = new Batch(new float[0], null, 0, -1, -1, new int[0]);

    private final BatchPlan plan;
    private final long startStep;
    private final UnaryOperator<Batch> map;
    private final BlockingQueue<Batch> queue;
    private final Thread thread;
    private volatile boolean closed;
    private volatile Throwable failure;
    private RuntimeException delivered;

    private BatchLoader(Builder b) {
        this.plan = new BatchPlan(b);
        this.startStep = b.startStep;
        this.map = b.map;
        this.queue = new ArrayBlockingQueue<>(b.prefetch);
        this.thread = new Thread(this::produce, "tarflow4j-batches-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Starts configuring a loader over a dataset.
     *
     * @param dataset the images to load
     * @return a builder with batch size 64, seed 0, no flip, drop-last, rank 0 of 1, start step 0,
     *     prefetch 3
     */
    public static Builder builder(ImageDataset dataset) {
        return new Builder(dataset);
    }

    /** The plan this loader prefetches. */
    public BatchPlan plan() {
        return plan;
    }

    /**
     * Returns the next batch, waiting for the background thread if it is behind.
     *
     * @return the batch of the next global step
     * @throws IllegalStateException when the loader is closed, the waiting thread is interrupted
     *     (its interrupt flag is kept), or the background thread failed (the cause is its exception)
     */
    public Batch next() {
        if (delivered != null) {
            throw delivered;
        }
        if (closed) {
            throw new IllegalStateException("batch loader is closed");
        }
        try {
            Batch batch;
            while ((batch = queue.poll(200, TimeUnit.MILLISECONDS)) == null) {
                if (closed) {
                    throw new IllegalStateException("batch loader is closed");
                }
                if (!thread.isAlive() && queue.isEmpty()) {
                    throw new IllegalStateException("batch loader thread " + thread.getName() + " ended unexpectedly");
                }
            }
            if (batch == END) {
                Throwable cause = failure;
                delivered = new IllegalStateException(
                        "batch loader thread " + thread.getName() + " failed: " + cause, cause);
                throw delivered;
            }
            return batch;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        }
    }

    /** Stops the background thread and waits (briefly) for it to end. Idempotent. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queue.clear();
    }

    /** Returns the background thread (for tests). */
    Thread thread() {
        return thread;
    }

    private void produce() {
        long step = startStep;
        try {
            while (!closed) {
                Batch batch = plan.batchAt(step++);
                if (map != null) {
                    batch = Objects.requireNonNull(map.apply(batch), "map returned null");
                }
                queue.put(batch);
            }
        } catch (InterruptedException e) {
            // close() interrupts the thread: just end
        } catch (Throwable t) {
            failure = t;
            try {
                queue.put(END);
            } catch (InterruptedException e) {
                // closing anyway
            }
        }
    }

    /** Configures a {@link BatchLoader}; {@link #build()} starts its thread. */
    public static final class Builder {
        final ImageDataset dataset;
        int batchSize = 64;
        long seed;
        boolean flip;
        boolean dropLast = true;
        int rank;
        int worldSize = 1;
        private long startStep;
        private int prefetch = 3;
        private UnaryOperator<Batch> map;

        private Builder(ImageDataset dataset) {
            this.dataset = Objects.requireNonNull(dataset, "dataset");
        }

        /**
         * Sets the images per batch on this rank.
         *
         * @param size positive
         * @return this builder
         */
        public Builder batchSize(int size) {
            if (size <= 0) {
                throw new IllegalArgumentException("batch size must be positive, got " + size);
            }
            this.batchSize = size;
            return this;
        }

        /**
         * Sets the seed of the shuffles and flips; all ranks must use the same.
         *
         * @param value the seed
         * @return this builder
         */
        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        /**
         * Sets whether each image is mirrored left to right with probability 1/2.
         *
         * @param enabled whether to flip
         * @return this builder
         */
        public Builder flip(boolean enabled) {
            this.flip = enabled;
            return this;
        }

        /**
         * Sets whether the last, partial global batch of each epoch is dropped (the default).
         *
         * @param enabled whether to drop it
         * @return this builder
         */
        public Builder dropLast(boolean enabled) {
            this.dropLast = enabled;
            return this;
        }

        /**
         * Sets this process's part in distributed training.
         *
         * @param rankIndex this rank, in {@code [0, worldSize)}
         * @param ranks the number of ranks
         * @return this builder
         */
        public Builder shard(int rankIndex, int ranks) {
            if (ranks <= 0 || rankIndex < 0 || rankIndex >= ranks) {
                throw new IllegalArgumentException(
                        "expected 0 <= rank < worldSize, got rank " + rankIndex + " of " + ranks);
            }
            this.rank = rankIndex;
            this.worldSize = ranks;
            return this;
        }

        /**
         * Sets the global step of the first batch, to resume an interrupted run.
         *
         * @param step 0 or more
         * @return this builder
         */
        public Builder startStep(long step) {
            if (step < 0) {
                throw new IllegalArgumentException("start step must be >= 0, got " + step);
            }
            this.startStep = step;
            return this;
        }

        /**
         * Sets how many batches the background thread keeps ready.
         *
         * @param batches 1 or more (2 to 4 is plenty)
         * @return this builder
         */
        public Builder prefetch(int batches) {
            if (batches <= 0) {
                throw new IllegalArgumentException("prefetch must be positive, got " + batches);
            }
            this.prefetch = batches;
            return this;
        }

        /**
         * Sets a function applied to every batch on the background thread, e.g. extra augmentation.
         *
         * @param function the function, or {@code null} for none
         * @return this builder
         */
        public Builder map(UnaryOperator<Batch> function) {
            this.map = function;
            return this;
        }

        /**
         * Creates the plan alone, without a thread (start step, prefetch and map do not apply).
         *
         * @throws IllegalArgumentException when the dataset holds no global batch
         */
        public BatchPlan plan() {
            return new BatchPlan(this);
        }

        /**
         * Creates the loader and starts its background thread.
         *
         * @return the loader; close it to stop the thread
         * @throws IllegalArgumentException when the dataset holds no global batch
         */
        public BatchLoader build() {
            return new BatchLoader(this);
        }
    }
}
