package io.tarflow4j.data;

import java.util.SplittableRandom;

/**
 * The training batches as a pure function of the global step: {@link #batchAt(long)} depends only
 * on the dataset, the settings and the step. Each epoch uses a permutation of the dataset drawn
 * from the seed and the epoch number, and the optional horizontal flip of each image is drawn
 * from the seed, the epoch and the image's position in that permutation, so a run resumed at step
 * {@code k} sees exactly the batches an uninterrupted one would; earlier epochs are skipped by
 * arithmetic.
 *
 * <p>For distributed training each of {@code worldSize} ranks has a plan with the same seed and
 * its own rank. A global step consumes {@code batchSize * worldSize} consecutive entries of the
 * epoch's permutation, and rank {@code r} gets the {@code r}-th contiguous part, so the ranks'
 * batches are disjoint and together form the batch a single process with batch size
 * {@code batchSize * worldSize} would get. Without drop-last, the last, partial global batch of an
 * epoch is split as evenly as possible (a rank may then get fewer, even zero, images).
 *
 * <p>Made by {@link BatchLoader.Builder#plan()}; {@link BatchLoader} prefetches it on a
 * background thread. Safe to call from several threads.
 */
public final class BatchPlan {
    private static final long FLIP_SALT = 0x5DEECE66DL;

    private final ImageDataset dataset;
    private final int batchSize;
    private final long seed;
    private final boolean flip;
    private final int rank;
    private final int worldSize;
    private final int stepsPerEpoch;
    private volatile Permutation cached;

    private record Permutation(int epoch, int[] order) {}

    /** A plan of the settings {@code b} holds (validated there). */
    BatchPlan(BatchLoader.Builder b) {
        this.dataset = b.dataset;
        this.batchSize = b.batchSize;
        this.seed = b.seed;
        this.flip = b.flip;
        this.rank = b.rank;
        this.worldSize = b.worldSize;
        long global = (long) batchSize * worldSize;
        int n = dataset.size();
        long steps = b.dropLast ? n / global : (n + global - 1) / global;
        if (steps == 0) {
            throw new IllegalArgumentException("dataset of " + n + " images holds no "
                    + (b.dropLast ? "full " : "") + "global batch of " + global + " (batch " + batchSize
                    + " x world size " + worldSize + ")");
        }
        this.stepsPerEpoch = (int) steps;
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
     * Computes the batch of a global step for this plan's rank.
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
}
