package io.tarflow4j.evaluation;

import java.util.Arrays;

/**
 * How well an anomaly score separates in-distribution images (negatives) from
 * out-of-distribution ones (positives), higher scores meaning more anomalous.
 *
 * @param auroc area under the ROC curve: the probability that an out-of-distribution image scores
 *     higher than an in-distribution one (ties count one half); 0.5 is chance
 * @param aupr area under the precision-recall curve with the out-of-distribution images as
 *     positives (average precision, ties grouped); chance is the share of positives
 * @param fpr95 the share of in-distribution images scored at or above the threshold that flags
 *     95% of the out-of-distribution images (false-positive rate at 95% true positives)
 */
public record OodMetrics(double auroc, double aupr, double fpr95) {

    /**
     * The metrics of two sets of scores.
     *
     * @throws IllegalArgumentException when a set is empty or holds NaN
     */
    public static OodMetrics of(double[] in, double[] out) {
        if (in.length == 0 || out.length == 0) {
            throw new IllegalArgumentException(
                    "need in- and out-of-distribution scores, got " + in.length + " and " + out.length);
        }
        for (double[] set : new double[][] {in, out}) {
            for (double v : set) {
                if (Double.isNaN(v)) {
                    throw new IllegalArgumentException("an anomaly score is NaN");
                }
            }
        }
        double[] a = in.clone();
        double[] b = out.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        return new OodMetrics(auroc(a, b), aupr(a, b), fpr95(a, b));
    }

    /** Mann-Whitney U over sorted arrays: count pairs out > in, ties one half. */
    private static double auroc(double[] in, double[] out) {
        double pairs = 0;
        int below = 0;
        for (double v : out) {
            while (below < in.length && in[below] < v) {
                below++;
            }
            int equalTo = below;
            while (equalTo < in.length && in[equalTo] == v) {
                equalTo++;
            }
            pairs += below + 0.5 * (equalTo - below);
        }
        return pairs / ((double) in.length * out.length);
    }

    /** Average precision, walking thresholds from the highest score down, ties as one step. */
    private static double aupr(double[] in, double[] out) {
        int i = in.length - 1;
        int o = out.length - 1;
        long tp = 0;
        long fp = 0;
        double ap = 0;
        while (o >= 0) {
            double t = Math.max(out[o], i >= 0 ? in[i] : Double.NEGATIVE_INFINITY);
            long newTp = 0;
            while (o >= 0 && out[o] == t) {
                newTp++;
                o--;
            }
            while (i >= 0 && in[i] == t) {
                fp++;
                i--;
            }
            tp += newTp;
            if (newTp > 0) {
                ap += (double) newTp / out.length * tp / (tp + fp);
            }
        }
        return ap;
    }

    private static double fpr95(double[] in, double[] out) {
        int needed = (int) Math.ceil(0.95 * out.length);
        double threshold = out[out.length - needed];
        int from = Arrays.binarySearch(in, threshold);
        if (from < 0) {
            from = -from - 1;
        } else {
            while (from > 0 && in[from - 1] == threshold) {
                from--;
            }
        }
        return (double) (in.length - from) / in.length;
    }
}
