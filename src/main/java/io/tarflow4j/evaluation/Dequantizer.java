package io.tarflow4j.evaluation;

import java.util.SplittableRandom;

/**
 * The dequantisation offsets added to 8-bit pixels before their likelihood is evaluated:
 * {@code x = (k + u) / 128 - 1} for pixel value k. Either uniform noise u in [0, 1) from a fixed
 * seed, drawn pixel by pixel in image order (so one seed gives one repeatable figure, the same
 * stream {@code eval bpd}, {@code eval classify} and {@code score} use), or the bin centre
 * u = 0.5 for every pixel (a deterministic score that depends on no seed).
 *
 * Recorded offsets can also be replayed.
 *
 * <p>Not thread-safe: one instance per evaluation.
 */
public final class Dequantizer {
    private final SplittableRandom random;
    private final float[] recorded;
    private int position;

    private Dequantizer(SplittableRandom random, float[] recorded) {
        this.random = random;
        this.recorded = recorded;
    }

    /** Uniform noise from {@code seed}: the reference's evaluation. */
    public static Dequantizer uniform(long seed) {
        return new Dequantizer(new SplittableRandom(seed), null);
    }

    /** The bin centre, u = 0.5 for every pixel. */
    public static Dequantizer center() {
        return new Dequantizer(null, null);
    }

    /**
     * Replays recorded offsets in order (to reproduce an evaluation whose noise was saved, such
     * as a reference fixture's {@code bpd.uniform}); fails when more are asked for than recorded.
     */
    public static Dequantizer replay(float[] offsets) {
        for (float u : offsets) {
            if (!(u >= 0 && u < 1)) {
                throw new IllegalArgumentException("dequantisation offsets must lie in [0, 1), found " + u);
            }
        }
        return new Dequantizer(null, offsets.clone());
    }

    /** Whether this draws random noise (false for the bin centre). */
    public boolean random() {
        return random != null || recorded != null;
    }

    /** Fills {@code u} with the next offsets in [0, 1). */
    public void fill(float[] u) {
        if (recorded != null) {
            if (position + u.length > recorded.length) {
                throw new IllegalStateException("asked for " + (position + u.length) + " recorded offsets, only "
                        + recorded.length + " were given");
            }
            System.arraycopy(recorded, position, u, 0, u.length);
            position += u.length;
            return;
        }
        if (random == null) {
            java.util.Arrays.fill(u, 0.5f);
            return;
        }
        for (int i = 0; i < u.length; i++) {
            u[i] = (float) random.nextDouble();
        }
    }

    /** A new array of {@code n} offsets. */
    public float[] next(int n) {
        float[] u = new float[n];
        fill(u);
        return u;
    }

    /** A one-line description for reports: {@code uniform(seed=0)} or {@code center}. */
    public static String describe(boolean center, long seed) {
        return center ? "center" : "uniform(seed=" + seed + ")";
    }
}
