package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Mean and covariance of feature vectors, in float64, as {@code numpy.mean(f, 0)} and
 * {@code numpy.cov(f, rowvar=False)} (divisor n - 1) compute them for the Frechet distance.
 *
 * @param mean the mean feature vector (d)
 * @param covariance the covariance, row-major (d*d)
 * @param count number of feature vectors
 */
public record FeatureStatistics(double[] mean, double[] covariance, long count) {

    /** Checks the sizes. */
    public FeatureStatistics {
        if ((long) mean.length * mean.length != covariance.length) {
            throw new IllegalArgumentException(
                    "covariance has " + covariance.length + " values, expected " + mean.length + "^2");
        }
    }

    /** Feature dimension d. */
    public int dimension() {
        return mean.length;
    }

    /** The mean as a float64 tensor (d). */
    public Tensor meanTensor() {
        return Tensors.fromDoubles(mean, mean.length);
    }

    /** The covariance as a float64 tensor (d, d). */
    public Tensor covarianceTensor() {
        return Tensors.fromDoubles(covariance, mean.length, mean.length);
    }

    /** Statistics of {@code n} feature vectors of dimension {@code d} held row by row. */
    public static FeatureStatistics of(float[] features, int n, int d) {
        Accumulator a = new Accumulator(d);
        a.add(features, n);
        return a.statistics();
    }

    /**
     * Accumulates feature batches in float64: the sum and the sum of outer products of the
     * features minus a shift (the first batch's mean), which keeps the covariance accurate when
     * the mean is large next to the spread.
     */
    public static final class Accumulator implements AutoCloseable {
        private final int d;
        private Tensor shift;
        private Tensor sum;
        private Tensor outer;
        private long count;

        /** An empty accumulator of dimension {@code d}. */
        public Accumulator(int d) {
            if (d < 1) {
                throw new IllegalArgumentException("feature dimension must be >= 1, got " + d);
            }
            this.d = d;
        }

        /** Adds {@code n} feature vectors held row by row (n * d floats). */
        public void add(float[] features, int n) {
            if ((long) n * d != features.length) {
                throw new IllegalArgumentException(features.length + " values are not " + n + " vectors of " + d);
            }
            try (NativeScope scope = NativeScope.open()) {
                add(Tensors.fromFloats(features, n, d));
            }
        }

        /** Adds the rows of a (n, d) tensor. */
        public void add(Tensor features) {
            if (features.dim() != 2 || features.size(1) != d) {
                throw new IllegalArgumentException("features have shape "
                        + java.util.Arrays.toString(Tensors.shape(features)) + ", expected (n, " + d + ")");
            }
            if (features.size(0) == 0) {
                return;
            }
            try (GradMode g = GradMode.off();
                    NativeScope scope = NativeScope.open()) {
                Tensor x = features.detach().to(ScalarType.Double).cpu();
                if (!Double.isFinite(Tensors.item(x.sum()))) {
                    throw new IllegalArgumentException("features contain NaN or infinite values");
                }
                if (shift == null) {
                    shift = keep(scope, x.mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
                    sum = keep(scope, torch.zeros(new long[] {d}, new TensorOptions(ScalarType.Double)));
                    outer = keep(scope, torch.zeros(new long[] {d, d}, new TensorOptions(ScalarType.Double)));
                }
                Tensor centred = x.sub(shift);
                sum.add_(centred.sum(0));
                outer.add_(centred.t().matmul(centred));
                count += x.size(0);
            }
        }

        private static Tensor keep(NativeScope scope, Tensor t) {
            scope.keep(t);
            t.retainReference();
            return t;
        }

        /** The number of vectors added. */
        public long count() {
            return count;
        }

        /** Mean and covariance (divisor n - 1) of what was added; needs at least two vectors. */
        public FeatureStatistics statistics() {
            if (count < 2) {
                throw new IllegalArgumentException("a covariance needs at least 2 feature vectors, got " + count);
            }
            try (GradMode g = GradMode.off();
                    NativeScope scope = NativeScope.open()) {
                Tensor m = sum.div(s(count));
                Tensor cov = outer.sub(torch.outer(m, m).mul(s(count))).div(s(count - 1));
                cov = cov.add(cov.t()).mul(s(0.5));
                return new FeatureStatistics(Tensors.toDoubles(m.add(shift)), Tensors.toDoubles(cov), count);
            }
        }

        @Override
        public void close() {
            if (shift != null) {
                shift.releaseReference();
                sum.releaseReference();
                outer.releaseReference();
                shift = null;
            }
        }
    }
}
