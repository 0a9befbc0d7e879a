package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class OodMetricsTest {

    @Test
    void separatedReversedAndTiedScores() {
        OodMetrics perfect = OodMetrics.of(new double[] {1, 2, 3}, new double[] {4, 5});
        assertEquals(new OodMetrics(1, 1, 0), perfect);
        OodMetrics reversed = OodMetrics.of(new double[] {4, 5}, new double[] {1, 2, 3});
        assertEquals(0, reversed.auroc());
        assertEquals(1, reversed.fpr95());
        OodMetrics tied = OodMetrics.of(new double[] {1, 1}, new double[] {1, 1, 1});
        assertEquals(0.5, tied.auroc());
        assertEquals(0.6, tied.aupr(), 1e-12, "one threshold: precision 3/5 at recall 1");
        assertEquals(1, tied.fpr95());
        assertThrows(IllegalArgumentException.class, () -> OodMetrics.of(new double[0], new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> OodMetrics.of(new double[] {Double.NaN}, new double[] {1}));
    }

    @Test
    void agreesWithPairCountingAndThresholdSweeps() {
        Random r = new Random(9);
        double[] in = new double[300];
        double[] out = new double[200];
        for (int i = 0; i < in.length; i++) {
            in[i] = Math.round(r.nextGaussian() * 4) / 4.0; // ties
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.round((r.nextGaussian() + 1) * 4) / 4.0;
        }
        double pairs = 0;
        for (double a : in) {
            for (double b : out) {
                pairs += b > a ? 1 : b == a ? 0.5 : 0;
            }
        }
        OodMetrics m = OodMetrics.of(in, out);
        assertEquals(pairs / (in.length * out.length), m.auroc(), 1e-12);
        // average precision: sum over distinct thresholds t (descending) of (recall(t) - recall(prev)) * precision(t)
        java.util.TreeSet<Double> thresholds = new java.util.TreeSet<>();
        for (double v : out) {
            thresholds.add(v);
        }
        double ap = 0;
        double prevRecall = 0;
        for (double t : thresholds.descendingSet()) {
            long tp = java.util.Arrays.stream(out).filter(v -> v >= t).count();
            long fp = java.util.Arrays.stream(in).filter(v -> v >= t).count();
            double recall = (double) tp / out.length;
            ap += (recall - prevRecall) * tp / (tp + fp);
            prevRecall = recall;
        }
        assertEquals(ap, m.aupr(), 1e-12);
        // the highest threshold flagging at least 95% of the out-of-distribution scores
        double[] sorted = out.clone();
        java.util.Arrays.sort(sorted);
        double t = sorted[sorted.length - (int) Math.ceil(0.95 * sorted.length)];
        assertEquals((double) java.util.Arrays.stream(in).filter(v -> v >= t).count() / in.length, m.fpr95(), 1e-12);
    }
}
