package io.tarflow4j.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Produces shuffled training batches, endlessly, on a background daemon thread that keeps a few
 * batches ready in a bounded queue.
 *
 * <p>The batches are a pure function of the dataset, the settings and the global step (see
 * {@link #batchAt(long)}): each epoch uses a permutation of the dataset drawn from the seed and the
 * epoch number, and the optional horizontal flip of each image is drawn from the seed, the epoch
 * and the image's position in that permutation. A loader started at step {@code k} therefore
 * yields exactly the batches from step {@code k} on that a loader started at 0 would, which makes
 * an interrupted and resumed run see the same data; earlier epochs are skipped by arithmetic.
 *
 * <p>For distributed training each of {@code worldSize} ranks builds a loader with the same seed
 * and its own rank. A global step consumes {@code batchSize * worldSize} consecutive entries of
 * the epoch's permutation, and rank {@code r} gets the {@code r}-th contiguous part, so the ranks'
 * batches are disjoint and together form the batch a single process with batch size
 * {@code batchSize * worldSize} would get. Without drop-last, the last, partial global batch of an
 * epoch is split as evenly as possible (a rank may then get fewer, even zero, images).
 *
 * <p>{@link #next()} is meant for one consumer thread. An exception on the background thread is
 * rethrown by the next call to {@link #next()}, wrapped in an {@link IllegalStateException} whose
 * cause is the original.
 */
public final class BatchLoader implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final long FLIP_SALT = 0x5DEECE66DL;
    private static final Batch END = new Batch(new float[0], null, 0, -1, -1, new int[0]);

    private final ImageDataset dataset;
    private final int batchSize;
    private final long seed;
    private final boolean flip;
    private final boolean dropLast;
    private final int rank;
    private final int worldSize;
    private final long startStep;
    private final UnaryOperator<Batch> map;
    private final int stepsPerEpoch;
    private final BlockingQueue<Batch> queue;
    private final Thread thread;
    private volatile boolean closed;
    private volatile Throwable failure;
    private volatile Permutation cached;
    private RuntimeException delivered;

    private record Permutation(int epoch, int[] order) {
    }

    private BatchLoader(Builder b) {
        this.dataset = b.dataset;
        this.batchSize = b.batchSize;
        this.seed = b.seed;
        this.flip = b.flip;
        this.dropLast = b.dropLast;
        this.rank = b.rank;
        this.worldSize = b.worldSize;
        this.startStep = b.startStep;
        this.map = b.map;
        long global = (long) batchSize * worldSize;
        int n = dataset.size();
        long steps = dropLast ? n / global : (n + global - 1) / global;
        if (steps == 0) {
            throw new IllegalArgumentException("dataset of " + n + " images holds no "
                    + (dropLast ? "full " : "") + "global batch of " + global + " (batch " + batchSize
                    + " x world size " + worldSize + ")");
        }
        this.stepsPerEpoch = (int) steps;
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

    /**
     * Returns the global steps in one epoch.
     *
     * @return {@code N / (batchSize * worldSize)}, rounded down with drop-last, up without
     */
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /**
     * Computes the batch of a global step for this loader's rank directly, without the background
     * thread (the optional {@code map} of the builder is not applied).
     *
     * @param step the global step, 0 or more
     * @return the batch
     */
    public Batch batchAt(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        int epoch = Math.toIntExact(step / stepsPerEpoch);
        int k = (int) (step % stepsPerEpoch);
        int[] order = permutation(epoch);
        long globalStart = (long) k * batchSize * worldSize;
        long globalEnd = Math.min(order.length, globalStart + (long) batchSize * worldSize);
        long count = globalEnd - globalStart;
        int lo = (int) (globalStart + count * rank / worldSize);
        int hi = (int) (globalStart + count * (rank + 1) / worldSize);
        int n = hi - lo;
        int len = dataset.imageLength();
        float[] images = new float[n * len];
        int[] labels = dataset.hasLabels() ? new int[n] : null;
        int[] indices = new int[n];
        long flipBase = mix(mix(seed ^ FLIP_SALT) + epoch);
        for (int j = 0; j < n; j++) {
            int index = order[lo + j];
            indices[j] = index;
            if (labels != null) {
                labels[j] = dataset.label(index);
            }
            boolean mirror = flip && mix(flipBase + lo + j) < 0;
            dataset.copyImage(index, images, j * len, mirror);
        }
        return new Batch(images, labels, n, epoch, step, indices);
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
                delivered = new IllegalStateException("batch loader thread " + thread.getName() + " failed: "
                        + cause, cause);
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
                Batch batch = batchAt(step++);
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

    private int[] permutation(int epoch) {
        Permutation p = cached;
        if (p != null && p.epoch() == epoch) {
            return p.order();
        }
        int n = dataset.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(mix(mix(seed) + epoch));
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        cached = new Permutation(epoch, order);
        return order;
    }

    /** The SplitMix64 finaliser: a bijective mix of 64 bits. */
    private static long mix(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Returns the dataset's batches in index order, once, for evaluation: no shuffling, no flips,
     * the last batch partial when the size is not a multiple of the batch size. Each batch has
     * epoch 0 and its index as step. Batches are built on the caller's thread as it iterates.
     *
     * @param dataset the images
     * @param batchSize the images per batch
     * @return an iterable that can be iterated any number of times
     */
    public static Iterable<Batch> batches(ImageDataset dataset, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        return () -> new Iterator<>() {
            private int start;
            private long step;

            @Override
            public boolean hasNext() {
                return start < dataset.size();
            }

            @Override
            public Batch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                int n = Math.min(batchSize, dataset.size() - start);
                int len = dataset.imageLength();
                float[] images = new float[n * len];
                int[] labels = dataset.hasLabels() ? new int[n] : null;
                int[] indices = new int[n];
                for (int j = 0; j < n; j++) {
                    indices[j] = start + j;
                    dataset.copyImage(start + j, images, j * len, false);
                    if (labels != null) {
                        labels[j] = dataset.label(start + j);
                    }
                }
                start += n;
                return new Batch(images, labels, n, 0, step++, indices);
            }
        };
    }

    /** Configures a {@link BatchLoader}; {@link #build()} starts its thread. */
    public static final class Builder {
        private final ImageDataset dataset;
        private int batchSize = 64;
        private long seed;
        private boolean flip;
        private boolean dropLast = true;
        private int rank;
        private int worldSize = 1;
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
                throw new IllegalArgumentException("expected 0 <= rank < worldSize, got rank " + rankIndex
                        + " of " + ranks);
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
