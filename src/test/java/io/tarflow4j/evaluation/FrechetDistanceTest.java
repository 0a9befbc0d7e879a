package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class FrechetDistanceTest {

    /** The LCG x' = (1103515245 x + 12345) mod 2^31, values x / 2^31 - 0.5 (also used for the scipy figures). */
    private static double[] lcg(int count, long seed) {
        double[] out = new double[count];
        long x = seed;
        for (int i = 0; i < count; i++) {
            x = (1103515245L * x + 12345L) % (1L << 31);
            out[i] = x / (double) (1L << 31) - 0.5;
        }
        return out;
    }

    private static FeatureStatistics diag(double[] mean, double[] variances) {
        int d = mean.length;
        double[] cov = new double[d * d];
        for (int i = 0; i < d; i++) {
            cov[i * d + i] = variances[i];
        }
        return new FeatureStatistics(mean, cov, 100);
    }

    @Test
    void identicalDistributionsAreAtDistanceZero() {
        FeatureStatistics a = FeatureStatistics.of(toFloats(lcg(200 * 7, 3)), 200, 7);
        assertEquals(0.0, FrechetDistance.distance(a, a), 1e-9);
    }

    @Test
    void diagonalCovariancesHaveTheClosedForm() {
        double[] m1 = {0.5, -1, 2};
        double[] m2 = {0, 1, 2.5};
        double[] v1 = {1, 4, 0.25};
        double[] v2 = {9, 1, 0.01};
        double expected = 0.25 + 4 + 0.25;
        for (int i = 0; i < 3; i++) {
            expected += Math.pow(Math.sqrt(v1[i]) - Math.sqrt(v2[i]), 2);
        }
        assertEquals(expected, FrechetDistance.distance(diag(m1, v1), diag(m2, v2)), 1e-10);
    }

    @Test
    void rotatedCommonEigenbasisHasTheClosedForm() {
        // S1 = R diag(a) R^T, S2 = R diag(b) R^T with a 2-D rotation by 0.7 rad: d^2 = sum (sqrt a - sqrt b)^2
        double c = Math.cos(0.7);
        double s = Math.sin(0.7);
        double[] a = {2, 0.5};
        double[] b = {0.3, 3};
        FeatureStatistics s1 = new FeatureStatistics(new double[] {1, 2}, rotate(c, s, a), 10);
        FeatureStatistics s2 = new FeatureStatistics(new double[] {1, 2}, rotate(c, s, b), 10);
        double expected = Math.pow(Math.sqrt(2) - Math.sqrt(0.3), 2) + Math.pow(Math.sqrt(0.5) - Math.sqrt(3), 2);
        assertEquals(expected, FrechetDistance.distance(s1, s2), 1e-10);
    }

    private static double[] rotate(double c, double s, double[] e) {
        // R = [[c, -s], [s, c]]; R diag(e) R^T
        return new double[] {
            c * c * e[0] + s * s * e[1],
            c * s * e[0] - s * c * e[1],
            s * c * e[0] - c * s * e[1],
            s * s * e[0] + c * c * e[1]
        };
    }

    @Test
    void matchesScipyOnFixedData() {
        // Expected values from numpy 2.4 / scipy 1.17 (pytorch-fid's formula with scipy.linalg.sqrtm):
        //   X = lcg(40*5, seed 1) as float32, U = lcg(40*5, seed 2),
        //   Y = float32(1.5 U + 0.3 roll(U, 1, axis=1) + 0.2 j)
        int n = 40;
        int d = 5;
        double[] x = lcg(n * d, 1);
        double[] u = lcg(n * d, 2);
        float[] y = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                y[i * d + j] = (float) (1.5 * u[i * d + j] + 0.3 * u[i * d + (j + d - 1) % d] + 0.2 * j);
            }
        }
        FeatureStatistics a = FeatureStatistics.of(toFloats(x), n, d);
        FeatureStatistics b = FeatureStatistics.of(y, n, d);
        assertEquals(1.442831466486739, FrechetDistance.distance(a, b), 1e-9);
        assertEquals(0.58690459, b.mean()[3], 1e-8);
        assertEquals(0.002935709817816756, b.covariance()[1 * d + 3], 1e-9);
    }

    @Test
    void accumulatedBatchesEqualOneShot() {
        float[] f = toFloats(lcg(90 * 4, 5));
        for (int i = 0; i < f.length; i++) {
            f[i] += 1000; // a large mean next to the spread
        }
        FeatureStatistics whole = FeatureStatistics.of(f, 90, 4);
        try (FeatureStatistics.Accumulator acc = new FeatureStatistics.Accumulator(4)) {
            acc.add(java.util.Arrays.copyOfRange(f, 0, 40 * 4), 40);
            acc.add(java.util.Arrays.copyOfRange(f, 40 * 4, 90 * 4), 50);
            FeatureStatistics parts = acc.statistics();
            for (int i = 0; i < 16; i++) {
                assertEquals(whole.covariance()[i], parts.covariance()[i], 1e-9);
            }
            assertEquals(whole.mean()[2], parts.mean()[2], 1e-9);
        }
        // the variance of the uniform LCG values is about 1/12 despite the offset of 1000
        assertEquals(1 / 12.0, whole.covariance()[0], 0.03);
    }

    @Test
    void sqrtPsdSquaresBack() {
        try (NativeScope scope = NativeScope.open()) {
            double[] v = lcg(36, 9);
            Tensor a = Tensors.fromDoubles(v, 6, 6);
            Tensor spd = a.matmul(a.t());
            Tensor root = FrechetDistance.sqrtPsd(spd);
            assertEquals(0, Tensors.maxAbsDiff(root.matmul(root), spd), 1e-12);
            assertEquals(0, Tensors.maxAbsDiff(root, root.t()), 1e-14);
            assertEquals(ScalarType.Double, Tensors.dtype(root));
        }
    }

    @Test
    void refusesBadInput() {
        float[] f = new float[12];
        f[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> FeatureStatistics.of(f, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> FeatureStatistics.of(new float[3], 1, 3));
        FeatureStatistics a = diag(new double[] {0, 0}, new double[] {1, 1});
        FeatureStatistics b = diag(new double[] {0, 0, 0}, new double[] {1, 1, 1});
        assertThrows(IllegalArgumentException.class, () -> FrechetDistance.distance(a, b));
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
