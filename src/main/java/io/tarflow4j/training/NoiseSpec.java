package io.tarflow4j.training;

import io.tarflow4j.io.Excerpt;
import java.util.Locale;

/**
 * The noise added to training images.
 *
 * <p>{@code gaussian:SIGMA}: {@code x + sigma * N(0, 1)} on images in [-1, 1] (the paper's noise
 * augmentation; samples are then denoised with the score). {@code uniform}: uniform
 * dequantisation {@code (pixels + U[0, 1)) / 256 * 2 - 1} of the 8-bit pixels, so the training
 * loss estimates bits/dim of the data itself.
 *
 * @param kind Gaussian noise or uniform dequantisation
 * @param sigma the Gaussian std (0 for uniform)
 */
public record NoiseSpec(Kind kind, double sigma) {

    /** The two kinds of noise. */
    public enum Kind {
        /** additive Gaussian noise of std sigma */
        GAUSSIAN,
        /** uniform dequantisation of 8-bit pixels */
        UNIFORM
    }

    /** Validates sigma for the kind. */
    public NoiseSpec {
        if (kind == null) {
            throw new IllegalArgumentException("noise kind is required");
        }
        if (kind == Kind.GAUSSIAN && !(sigma > 0 && Double.isFinite(sigma))) {
            throw new IllegalArgumentException("Gaussian noise sigma must be finite and > 0, got " + sigma);
        }
        if (kind == Kind.UNIFORM && sigma != 0) {
            throw new IllegalArgumentException("uniform dequantisation has no sigma, got " + sigma);
        }
    }

    /** Gaussian noise of std {@code sigma}. */
    public static NoiseSpec gaussian(double sigma) {
        return new NoiseSpec(Kind.GAUSSIAN, sigma);
    }

    /** Uniform dequantisation. */
    public static NoiseSpec uniform() {
        return new NoiseSpec(Kind.UNIFORM, 0);
    }

    /**
     * Parses {@code gaussian:SIGMA} (or a bare number, taken as the Gaussian sigma) or
     * {@code uniform}.
     *
     * @throws IllegalArgumentException saying what was expected
     */
    public static NoiseSpec parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("uniform")) {
            return uniform();
        }
        String number = t.startsWith("gaussian:") ? t.substring("gaussian:".length()) : t;
        try {
            return gaussian(Double.parseDouble(number));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "noise '" + Excerpt.of(text) + "': expected gaussian:SIGMA (for example gaussian:0.1) or uniform");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("noise '" + Excerpt.of(text) + "': " + e.getMessage());
        }
    }

    /** Whether this is Gaussian noise (whose samples are worth denoising). */
    public boolean gaussian() {
        return kind == Kind.GAUSSIAN;
    }

    /** The form {@link #parse} reads and checkpoints record: {@code gaussian:0.1} or {@code uniform}. */
    @Override
    public String toString() {
        return kind == Kind.UNIFORM ? "uniform" : "gaussian:" + sigma;
    }
}
