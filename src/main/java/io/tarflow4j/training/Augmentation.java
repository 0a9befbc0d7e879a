package io.tarflow4j.training;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.tensor.Runtime;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.MemoryFormatOptional;
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
        long n = images.size(0);
        return noisy(images, noise, stepSeed, 0, n);
    }

    /**
     * {@link #noisy(Tensor, NoiseSpec, long)} for the images at positions {@code offset ..
     * offset + B} of a global batch of {@code globalBatch} images (one rank's shard in
     * data-parallel training): the noise of the whole global batch is drawn as one process would
     * draw it and this shard's rows are used, so every image gets the noise it would get in a
     * single process, whatever the number of ranks.
     */
    public static Tensor noisy(Tensor images, NoiseSpec noise, long stepSeed, long offset, long globalBatch) {
        long n = images.size(0);
        if (offset < 0 || globalBatch < offset + n) {
            throw new IllegalArgumentException(
                    "shard " + offset + ".." + (offset + n) + " does not fit a global batch of " + globalBatch);
        }
        Runtime.seed(stepSeed);
        if (noise.gaussian()) {
            return images.add(draw(images, offset, globalBatch, true).mul(s(noise.sigma())));
        }
        Tensor pixels = images.add(s(1)).mul(s(127.5)).round();
        return BitsPerDim.dequantize(pixels, draw(pixels, offset, globalBatch, false));
    }

    /** Standard normal or U[0, 1) values shaped like {@code like}: rows {@code offset..} of a global draw. */
    private static Tensor draw(Tensor like, long offset, long globalBatch, boolean normal) {
        long n = like.size(0);
        if (globalBatch == n) {
            return normal ? torch.randn_like(like) : torch.rand_like(like);
        }
        long[] shape = like.sizes().vec().get();
        shape[0] = globalBatch;
        Tensor global = torch.empty(shape, like.options(), new MemoryFormatOptional());
        global = normal ? global.normal_() : global.uniform_();
        return global.narrow(0, offset, n);
    }

    /**
     * A copy of {@code labels} in which each label is replaced by -1 (the model's "no class",
     * its mean class embedding) with probability {@code p}.
     */
    public static int[] dropLabels(int[] labels, double p, SplittableRandom random) {
        return dropLabels(labels, p, random, 0);
    }

    /**
     * {@link #dropLabels(int[], double, SplittableRandom)} for the labels at positions
     * {@code offset..} of a global batch (one rank's shard): the draws of the {@code offset}
     * labels before them are skipped, so each label is dropped as in a single process.
     */
    public static int[] dropLabels(int[] labels, double p, SplittableRandom random, int offset) {
        int[] out = labels.clone();
        if (p > 0) {
            for (int i = 0; i < offset; i++) {
                random.nextDouble();
            }
            for (int i = 0; i < out.length; i++) {
                if (random.nextDouble() < p) {
                    out[i] = -1;
                }
            }
        }
        return out;
    }
}
