package io.tarflow4j.evaluation;

import java.util.Arrays;

/**
 * The in-distribution reference of the calibrated anomaly methods: the bits/dim and the
 * complexity score of held-out normal images (for a model trained on Fashion-MNIST, images of its
 * training split), sorted, so that a new image's statistics become empirical p-values.
 */
public final class AnomalyReference {
    private final double[] bitsPerDim;
    private final double[] complexity;

    private AnomalyReference(double[] bitsPerDim, double[] complexity) {
        this.bitsPerDim = bitsPerDim;
        this.complexity = complexity;
    }

    /**
     * A reference from the statistics of normal images.
     *
     * @param bitsPerDim each image's bits/dim under the model
     * @param compressedBitsPerDim each image's {@link ContextCoder} bits/dim
     * @throws IllegalArgumentException when empty, of different lengths, or not finite
     */
    public static AnomalyReference of(double[] bitsPerDim, double[] compressedBitsPerDim) {
        if (bitsPerDim.length == 0 || bitsPerDim.length != compressedBitsPerDim.length) {
            throw new IllegalArgumentException("the anomaly reference needs the same number (> 0) of bits/dim and"
                    + " compressed sizes, got " + bitsPerDim.length + " and " + compressedBitsPerDim.length);
        }
        double[] b = bitsPerDim.clone();
        double[] c = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            c[i] = b[i] - compressedBitsPerDim[i];
            if (!Double.isFinite(c[i])) {
                throw new IllegalArgumentException("reference image " + i + " has a non-finite score");
            }
        }
        Arrays.sort(b);
        Arrays.sort(c);
        return new AnomalyReference(b, c);
    }

    /** Number of reference images. */
    public int size() {
        return bitsPerDim.length;
    }

    /** Upper-tail empirical p-value of an image's bits/dim: {@code (#{reference >= x} + 1) / (n + 1)}. */
    double rawP(double bpd) {
        return upperTail(bitsPerDim, bpd);
    }

    /** Upper-tail empirical p-value of a complexity score (higher = more anomalous). */
    double complexityP(double score) {
        return upperTail(complexity, score);
    }

    private static double upperTail(double[] sorted, double x) {
        return (sorted.length - countBelow(sorted, x) + 1.0) / (sorted.length + 1);
    }

    /** Values {@code < x} in a sorted array. */
    private static int countBelow(double[] sorted, double x) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
