package io.tarflow4j.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * One batch of images for training or evaluation. Equality compares the array contents.
 *
 * @param images {@code n * channels * height * width} values in [-1, 1], image after image, each
 *     in CHW order
 * @param labels one label per image, or {@code null} when the dataset is unlabelled
 * @param n the number of images
 * @param epoch the epoch the batch belongs to (0-based)
 * @param step the global step of the batch (0-based, counted over all epochs; the same on every
 *     rank of a distributed run)
 * @param indices the dataset index of each image
 */
public record Batch(float[] images, int[] labels, int n, int epoch, long step, int[] indices) {

    /** Checks that the arrays hold {@code n} images. */
    public Batch {
        Objects.requireNonNull(images, "images");
        Objects.requireNonNull(indices, "indices");
        if (indices.length != n
                || (labels != null && labels.length != n)
                || (n == 0 && images.length != 0)
                || (n > 0 && images.length % n != 0)) {
            throw new IllegalArgumentException("batch of " + n + " images has " + images.length + " values, "
                    + indices.length + " indices and " + (labels == null ? "no" : labels.length) + " labels");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b
                && n == b.n
                && epoch == b.epoch
                && step == b.step
                && Arrays.equals(images, b.images)
                && Arrays.equals(labels, b.labels)
                && Arrays.equals(indices, b.indices);
    }

    @Override
    public int hashCode() {
        return Objects.hash(n, epoch, step, Arrays.hashCode(images), Arrays.hashCode(labels), Arrays.hashCode(indices));
    }

    @Override
    public String toString() {
        return "Batch[step=" + step + ", epoch=" + epoch + ", n=" + n + ", indices="
                + Arrays.toString(Arrays.copyOf(indices, Math.min(8, n))) + (n > 8 ? "..." : "") + "]";
    }
}
