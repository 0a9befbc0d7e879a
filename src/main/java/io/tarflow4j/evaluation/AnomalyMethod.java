package io.tarflow4j.evaluation;

/**
 * Anomaly scores of one image from its bits/dim (higher = more anomalous). Raw likelihood ranks
 * simple out-of-distribution images as normal (Nalisnick et al., ICLR 2019: their likelihood is
 * dominated by low-level pixel statistics); the complexity correction removes that part by
 * subtracting what a universal lossless compressor needs for the same image, and the combined
 * test adds back what the correction loses (images far less likely than normal ones, such as noise).
 */
public enum AnomalyMethod {
    /** The image's bits/dim under the model. */
    RAW {
        @Override
        public double score(double bitsPerDim, double compressedBitsPerDim, AnomalyReference reference) {
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
        public double score(double bitsPerDim, double compressedBitsPerDim, AnomalyReference reference) {
            return bitsPerDim - compressedBitsPerDim;
        }
    },
    /**
     * Fisher's combination (as Bergamin et al., AISTATS 2022, combine test statistics) of the
     * upper-tail empirical p-values of {@link #RAW} and {@link #COMPLEXITY} against an
     * {@link AnomalyReference} of normal images: {@code -2 (ln p_raw + ln p_complexity)}. Flags
     * images that either score flags strongly: simple images (complexity) and noise (raw).
     */
    COMBINED {
        @Override
        public double score(double bitsPerDim, double compressedBitsPerDim, AnomalyReference reference) {
            if (reference == null) {
                throw new IllegalArgumentException("the combined anomaly score needs a reference of normal images");
            }
            double complexity = COMPLEXITY.score(bitsPerDim, compressedBitsPerDim, null);
            return -2 * (Math.log(reference.rawP(bitsPerDim)) + Math.log(reference.complexityP(complexity)));
        }

        @Override
        public boolean needsReference() {
            return true;
        }
    };

    /**
     * The score of one image.
     *
     * @param bitsPerDim the image's bits/dim under the model
     * @param compressedBitsPerDim its {@link ContextCoder} bits/dim
     * @param reference normal images' statistics, for the methods that need it (else may be null)
     */
    public abstract double score(double bitsPerDim, double compressedBitsPerDim, AnomalyReference reference);

    /** The score of one image given its 8-bit CHW pixels (compressed here). */
    public double score(
            double bitsPerDim, byte[] pixels, int channels, int height, int width, AnomalyReference reference) {
        return score(bitsPerDim, ContextCoder.bitsPerDim(pixels, channels, height, width), reference);
    }

    /** Whether the method needs an {@link AnomalyReference}. */
    public boolean needsReference() {
        return false;
    }

    /** The flag value and JSON name: {@code raw}, {@code complexity}, {@code combined}. */
    public String flag() {
        return FlagValues.of(this);
    }

    /** Every flag value, comma-separated (for help and errors). */
    public static String choices() {
        return FlagValues.choices(values());
    }

    /**
     * Parses a flag value.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static AnomalyMethod parse(String value) {
        return FlagValues.parse(values(), value, "--method");
    }
}
