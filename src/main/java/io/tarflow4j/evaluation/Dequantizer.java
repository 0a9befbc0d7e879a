package io.tarflow4j.evaluation;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The dequantisation offsets added to 8-bit pixels before their likelihood is evaluated:
 * {@code x = (k + u) / 128 - 1} for pixel value k. Either uniform noise u in [0, 1) derived from
 * a seed and the image itself, or the bin centre u = 0.5 for every pixel (a deterministic score
 * that depends on no seed).
 *
 * <p>Seeded noise is a function of the seed, the image's pixel values (a 64-bit hash of them) and
 * the draw number: an image gets the same noise, and so the same figure, in every command
 * ({@code score}, {@code serve}, {@code eval bpd}, {@code eval classify}, {@code eval ood}),
 * whatever batch or list position it is in. Identical images in a dataset get identical noise.
 * Over a dataset of distinct images this is the reference's protocol (independent uniform noise
 * per pixel), so dataset means agree with it within their standard error.
 *
 * <p>Recorded offsets can also be replayed, image after image in the order asked (for
 * reproducing an evaluation whose noise was saved, such as a reference fixture's
 * {@code bpd.uniform}); only that mode depends on order and is not thread-safe.
 */
public final class Dequantizer {
    private final Long seed;
    private final float[] recorded;
    private int position;

    private Dequantizer(Long seed, float[] recorded) {
        this.seed = seed;
        this.recorded = recorded;
    }

    /** Uniform noise from {@code seed} and each image's content. */
    public static Dequantizer uniform(long seed) {
        return new Dequantizer(seed, null);
    }

    /** The bin centre, u = 0.5 for every pixel. */
    public static Dequantizer center() {
        return new Dequantizer(null, null);
    }

    /**
     * Replays recorded offsets in order; fails when more are asked for than recorded.
     *
     * @throws IllegalArgumentException when an offset is outside [0, 1)
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
        return seed != null || recorded != null;
    }

    /**
     * Fills {@code u[uFrom .. uFrom + len)} with the offsets of one image.
     *
     * @param pixels integer pixel values 0..255 (as floats); the image is {@code pixels[from .. from + len)}
     * @param draw the draw number (0 for a single draw; averaging several uses 0, 1, ...)
     */
    public void fillImage(float[] pixels, int from, int len, int draw, float[] u, int uFrom) {
        if (recorded != null) {
            if (position + len > recorded.length) {
                throw new IllegalStateException(
                        "asked for " + (position + len) + " recorded offsets, only " + recorded.length + " were given");
            }
            System.arraycopy(recorded, position, u, uFrom, len);
            position += len;
        } else if (seed == null) {
            Arrays.fill(u, uFrom, uFrom + len, 0.5f);
        } else {
            SplittableRandom random = new SplittableRandom(key(pixels, from, len, draw));
            for (int i = 0; i < len; i++) {
                u[uFrom + i] = (float) random.nextDouble();
            }
        }
    }

    /** Fills the offsets of {@code n} consecutive images of {@code len} values each (see {@link #fillImage}). */
    public void fill(float[] pixels, int n, int len, int draw, float[] u) {
        for (int i = 0; i < n; i++) {
            fillImage(pixels, i * len, len, draw, u, i * len);
        }
    }

    /** The offsets of one image given as 8-bit values, draw 0. */
    public float[] forImage(byte[] pixels) {
        float[] p = new float[pixels.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = pixels[i] & 0xFF;
        }
        float[] u = new float[p.length];
        fillImage(p, 0, p.length, 0, u, 0);
        return u;
    }

    private long key(float[] pixels, int from, int len, int draw) {
        long h = 0xcbf29ce484222325L ^ len; // FNV-1a over the pixel values
        for (int i = from; i < from + len; i++) {
            h = (h ^ (int) pixels[i]) * 0x100000001b3L;
        }
        return mix(mix(mix(seed) ^ h) + draw);
    }

    private static long mix(long z) { // Stafford's variant 13 of the 64-bit finaliser
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A one-line description for reports: {@code uniform(seed=0, per image)} or {@code center}. */
    public static String describe(boolean center, long seed) {
        return center ? "center" : "uniform(seed=" + seed + ", per image from its pixels)";
    }
}
