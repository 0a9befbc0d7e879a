package io.tarflow4j.data;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** A dataset's batches in index order, for evaluation: the sequential counterpart of {@link BatchPlan}. */
public final class SequentialBatches {
    private SequentialBatches() {}

    /**
     * Returns the dataset's batches in index order, once, for evaluation: no shuffling, no flips,
     * the last batch partial when the size is not a multiple of the batch size. Each batch has
     * epoch 0 and its index as step. Batches are built on the caller's thread as it iterates.
     *
     * @param dataset the images
     * @param batchSize the images per batch
     * @return an iterable that can be iterated any number of times
     */
    public static Iterable<Batch> of(ImageDataset dataset, int batchSize) {
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
}
