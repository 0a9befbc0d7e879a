package io.tarflow4j.evaluation;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Anomaly scores of one image from its bits/dim (higher = more anomalous). Raw likelihood ranks
 * simple out-of-distribution images as normal (Nalisnick et al., ICLR 2019: their likelihood is
 * dominated by low-level pixel statistics); the complexity correction removes that part by
 * subtracting what a universal lossless compressor needs for the same image.
 */
public enum AnomalyMethod {
    /** The image's bits/dim under the model. */
    RAW {
        @Override
        public double score(double bitsPerDim, byte[] pixels, int channels, int height, int width) {
            return bitsPerDim;
        }
    },
    /**
     * Input complexity (Serra et al., ICLR 2020): the model's bits/dim minus the compressed size
     * of the same 8-bit image in bits/dim, with {@link ContextCoder} as the compressor. A
     * log-likelihood ratio of the model against a generic local image model.
     */
    COMPLEXITY {
        @Override
        public double score(double bitsPerDim, byte[] pixels, int channels, int height, int width) {
            return bitsPerDim - ContextCoder.bitsPerDim(pixels, channels, height, width);
        }
    };

    /**
     * The score of one image.
     *
     * @param bitsPerDim the image's bits/dim under the model
     * @param pixels its 8-bit CHW values (what the model scored)
     */
    public abstract double score(double bitsPerDim, byte[] pixels, int channels, int height, int width);

    /** The flag value and JSON name: {@code raw}, {@code complexity}. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Every flag value, comma-separated (for help and errors). */
    public static String choices() {
        return Arrays.stream(values()).map(AnomalyMethod::flag).collect(Collectors.joining(", "));
    }

    /**
     * Parses a flag value.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static AnomalyMethod parse(String value) {
        for (AnomalyMethod m : values()) {
            if (m.flag().equals(value.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("--method must be one of " + choices() + ", got '" + value + "'");
    }
}
