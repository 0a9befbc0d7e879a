package io.tarflow4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 kernels over Java arrays with the JDK's Vector API (SIMD lanes of the CPU), for work
 * too small to pay libtorch's cost per call: a decode step at batch 1 is dozens of operations of
 * a few microseconds of arithmetic each. Load this class only when {@link VectorSupport#AVAILABLE}
 * (the JVM was started with {@code --add-modules jdk.incubator.vector}).
 *
 * <p>Vectors are (offset, length) runs of a {@code float[]}; matrices are row-major.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> LANES = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    /**
     * {@code y = b + x W^T} for one row: x (in) at {@code xOff}, y (out) at {@code yOff}, and the
     * weight stored transposed, {@code wt} (in x out) row-major, so that every input adds a
     * scaled weight row to y (the form the SIMD lanes take without a horizontal sum).
     */
    public static void linear(float[] wt, float[] b, float[] x, int xOff, float[] y, int yOff, int in, int out) {
        System.arraycopy(b, 0, y, yOff, out);
        int bound = LANES.loopBound(out);
        for (int i = 0; i < in; i++) {
            float xi = x[xOff + i];
            FloatVector xv = FloatVector.broadcast(LANES, xi);
            int row = i * out;
            int o = 0;
            for (; o < bound; o += LANES.length()) {
                FloatVector.fromArray(LANES, wt, row + o)
                        .fma(xv, FloatVector.fromArray(LANES, y, yOff + o))
                        .intoArray(y, yOff + o);
            }
            for (; o < out; o++) {
                y[yOff + o] += wt[row + o] * xi;
            }
        }
    }

    /** {@code sum_i a[aOff+i] * b[bOff+i]} over n values. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = LANES.loopBound(n);
        FloatVector acc = FloatVector.zero(LANES);
        int i = 0;
        for (; i < bound; i += LANES.length()) {
            acc = FloatVector.fromArray(LANES, a, aOff + i).fma(FloatVector.fromArray(LANES, b, bOff + i), acc);
        }
        // lanes summed in order: reduceLanes may order them differently in compiled and
        // interpreted code, and a result must not depend on the JIT
        float s = 0;
        for (int lane = 0; lane < LANES.length(); lane++) {
            s += acc.lane(lane);
        }
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code y[yOff..] += alpha * x[xOff..]} over n values. */
    public static void addScaled(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        int bound = LANES.loopBound(n);
        FloatVector av = FloatVector.broadcast(LANES, alpha);
        int i = 0;
        for (; i < bound; i += LANES.length()) {
            FloatVector.fromArray(LANES, x, xOff + i)
                    .fma(av, FloatVector.fromArray(LANES, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    /** {@code y[yOff..] += x[xOff..]} over n values. */
    public static void add(float[] y, int yOff, float[] x, int xOff, int n) {
        int bound = LANES.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES.length()) {
            FloatVector.fromArray(LANES, y, yOff + i)
                    .add(FloatVector.fromArray(LANES, x, xOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /**
     * Layer normalisation of x[xOff..xOff+n) into y[0..n): {@code (x - mean) / sqrt(var + eps) *
     * gain + bias}, with the biased variance as {@code torch.layer_norm}.
     */
    public static void layerNorm(float[] x, int xOff, float[] gain, float[] bias, double eps, float[] y, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[xOff + i];
        }
        float mean = (float) (sum / n);
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double d = x[xOff + i] - mean;
            sq += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(sq / n + eps));
        for (int i = 0; i < n; i++) {
            y[i] = (x[xOff + i] - mean) * inv * gain[i] + bias[i];
        }
    }

    /** Exact GELU in place over x[0..n): {@code x * (1 + erf(x / sqrt 2)) / 2}. */
    public static void gelu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float) (0.5 * v * (1 + erf(v * 0.7071067811865476)));
        }
    }

    /**
     * The error function to about 1e-7 (the Chebyshev fit of erfc by Press et al., Numerical
     * Recipes, section 6.2: fractional error below 1.2e-7), enough for float32 GELU.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double erfc = t
                * Math.exp(
                        -z * z
                                - 1.26551223
                                + t
                                        * (1.00002368
                                                + t
                                                        * (0.37409196
                                                                + t
                                                                        * (0.09678418
                                                                                + t
                                                                                        * (-0.18628806
                                                                                                + t
                                                                                                        * (0.27886807
                                                                                                                + t
                                                                                                                        * (-1.13520398
                                                                                                                                + t
                                                                                                                                        * (1.48851587
                                                                                                                                                + t
                                                                                                                                                        * (-0.82215223
                                                                                                                                                                + t
                                                                                                                                                                        * 0.17087277)))))))));
        return x >= 0 ? 1 - erfc : erfc - 1;
    }

    /** Softmax in place over s[0..n), stable (the maximum subtracted first). */
    public static void softmax(float[] s, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, s[i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(s[i] - max);
            s[i] = e;
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (int i = 0; i < n; i++) {
            s[i] *= inv;
        }
    }
}
