package io.tarflow4j.training;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.tensor.Runtime;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The per-step randomness of training: noise on the images and label dropout, both drawn from
 * a seed derived from the run's seed and the step, so that a resumed run draws exactly what an
 * uninterrupted one would.
 */
public final class Augmentation {
    private Augmentation() {}

    /** The seed of step {@code step} of a run seeded with {@code seed} (a SplitMix64 mix of both). */
    public static long stepSeed(long seed, long step) {
        long z = seed * 1_000_003L + step + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Noisy training images from clean ones (B, C, H, W) in [-1, 1] (as the dataset gives them:
     * {@code pixel / 255 * 2 - 1}). Gaussian: {@code x + sigma * N(0, 1)}; uniform: the 8-bit
     * pixels dequantised as {@code (pixels + U[0, 1)) / 256 * 2 - 1}. Draws from libtorch's
     * default generator, seeded with {@code stepSeed}.
     */
    public static Tensor noisy(Tensor images, NoiseSpec noise, long stepSeed) {
        Runtime.seed(stepSeed);
        if (noise.gaussian()) {
            return images.add(torch.randn_like(images).mul(s(noise.sigma())));
        }
        Tensor pixels = images.add(s(1)).mul(s(127.5)).round();
        return BitsPerDim.dequantize(pixels, torch.rand_like(pixels));
    }

    /**
     * A copy of {@code labels} in which each label is replaced by -1 (the model's "no class",
     * its mean class embedding) with probability {@code p}.
     */
    public static int[] dropLabels(int[] labels, double p, SplittableRandom random) {
        int[] out = labels.clone();
        if (p > 0) {
            for (int i = 0; i < out.length; i++) {
                if (random.nextDouble() < p) {
                    out[i] = -1;
                }
            }
        }
        return out;
    }
}
