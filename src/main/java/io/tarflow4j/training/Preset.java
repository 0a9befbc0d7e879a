package io.tarflow4j.training;

import io.tarflow4j.model.TarFlowConfig;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Named starting points for training: an architecture and a recipe. Every field can be
 * overridden (see {@link TrainingOptions.Builder}).
 *
 * <p>Where the numbers come from:
 * <ul>
 *   <li>{@code fmnist-small}: the reference's 10-minute CPU setting measured on this kind of
 *       machine (project baselines: patch 4, width 64, 4 blocks x 2 layers, batch 64, lr 2e-3,
 *       warm-up 200, Gaussian sigma 0.1, label drop 0.1, class-conditional, 10 minutes).</li>
 *   <li>{@code mnist-toy}: the reference notebook's MNIST model (patch 4, width 128, 4 blocks x 4
 *       layers, batch 256, lr 2e-3, sigma 0.1); warm-up 1 epoch (234 steps) and 4 epochs
 *       (936 steps) of Fashion-MNIST as in the project's parity recipe.</li>
 *   <li>{@code imagenet64}, {@code imagenet128}, {@code afhq256}: architecture and noise from the
 *       paper's table of models (Zhai et al. 2025): ImageNet 64 conditional patch 2, width 768,
 *       8 blocks x 8 layers, sigma 0.05; ImageNet 128 patch 4, width 1024, 8 x 8, sigma 0.15;
 *       AFHQ 256 patch 8, width 768, 8 x 8, 3 classes, sigma 0.07. Batch size, learning rate,
 *       warm-up and step count are NOT from that table: they are our defaults for a first run
 *       (batch 256, lr 1e-4, warm-up 1,000 steps, 100,000 steps, label drop 0.1) and should be
 *       set for the hardware at hand. These need {@code --data}.</li>
 * </ul>
 *
 * @param name the preset's command-line name
 * @param imageSize square image size the data is brought to (0: keep the data's size)
 * @param channels image channels the data is brought to (0: keep the data's)
 * @param patchSize patch side
 * @param width Transformer width
 * @param blocks flow blocks
 * @param layersPerBlock Transformer layers per block
 * @param numClasses classes of the preset's model on its own data (Fashion-MNIST's 10 for the
 *     Fashion-MNIST presets); training takes the class count of the data it is given
 * @param conditional whether the model is class-conditional
 * @param batch images per step
 * @param lr peak learning rate
 * @param warmupSteps linear warm-up steps
 * @param steps total steps (0: set by the time budget)
 * @param minutes time budget in minutes (0: none, train {@code steps})
 * @param noise training noise
 * @param dropLabel probability of replacing a label by -1 (the unconditional branch)
 * @param data default dataset spec, or null when {@code --data} is required
 * @param sampleEvery write a sample grid every this many steps (0: only at the end)
 * @param threads libtorch intra-op threads (0: all cores). fmnist-small uses 1: its matrices are
 *     so small that a second OpenMP thread gains little and, on a shared 2-core machine, its
 *     spin-waiting made steps several times slower (measured: 466 ms/step with 1 thread vs
 *     2,179 ms/step with 2 under a load of ~12); the data loader's thread uses the other core
 */
public record Preset(
        String name,
        int imageSize,
        int channels,
        int patchSize,
        int width,
        int blocks,
        int layersPerBlock,
        int numClasses,
        boolean conditional,
        int batch,
        double lr,
        long warmupSteps,
        long steps,
        double minutes,
        NoiseSpec noise,
        double dropLabel,
        String data,
        long sampleEvery,
        int threads) {

    /** The class-conditional Fashion-MNIST model of the 10-minute CPU main job. */
    public static final Preset FMNIST_SMALL = new Preset(
            "fmnist-small",
            28,
            1,
            4,
            64,
            4,
            2,
            10,
            true,
            64,
            2e-3,
            200,
            0,
            10,
            NoiseSpec.gaussian(0.1),
            0.1,
            "fashion-mnist",
            1000,
            1);

    /** The reference notebook's MNIST-sized model, on the bundled Fashion-MNIST. */
    public static final Preset MNIST_TOY = new Preset(
            "mnist-toy",
            28,
            1,
            4,
            128,
            4,
            4,
            10,
            true,
            256,
            2e-3,
            234,
            936,
            0,
            NoiseSpec.gaussian(0.1),
            0.1,
            "fashion-mnist",
            312,
            0);

    /** The paper's ImageNet 64x64 conditional model. */
    public static final Preset IMAGENET64 = new Preset(
            "imagenet64",
            64,
            3,
            2,
            768,
            8,
            8,
            1000,
            true,
            256,
            1e-4,
            1000,
            100_000,
            0,
            NoiseSpec.gaussian(0.05),
            0.1,
            null,
            5000,
            0);

    /** The paper's ImageNet 128x128 conditional model. */
    public static final Preset IMAGENET128 = new Preset(
            "imagenet128",
            128,
            3,
            4,
            1024,
            8,
            8,
            1000,
            true,
            256,
            1e-4,
            1000,
            100_000,
            0,
            NoiseSpec.gaussian(0.15),
            0.1,
            null,
            5000,
            0);

    /** The paper's AFHQ 256x256 conditional model (3 classes). */
    public static final Preset AFHQ256 = new Preset(
            "afhq256",
            256,
            3,
            8,
            768,
            8,
            8,
            3,
            true,
            256,
            1e-4,
            1000,
            100_000,
            0,
            NoiseSpec.gaussian(0.07),
            0.1,
            null,
            5000,
            0);

    /**
     * Whether training mirrors images left-right at random by default: yes for the paper's image
     * presets, as the reference's training script does for all its image datasets (a random
     * horizontal flip in its data transform); no for the Fashion-MNIST presets, whose reference
     * recipe has no augmentation.
     *
     * @return true for imagenet64, imagenet128 and afhq256
     */
    public boolean flips() {
        return name.equals(IMAGENET64.name) || name.equals(IMAGENET128.name) || name.equals(AFHQ256.name);
    }

    /**
     * The model this preset trains on its own data ({@link TrainingOptions#modelConfig} with the
     * preset's image size, channels and classes): what the benchmarks build with random weights.
     */
    public TarFlowConfig architecture() {
        return TarFlowConfig.of(
                channels, imageSize, patchSize, width, blocks, layersPerBlock, true, conditional ? numClasses : 0);
    }

    private static final Preset[] ALL = {FMNIST_SMALL, MNIST_TOY, IMAGENET64, IMAGENET128, AFHQ256};

    /**
     * The preset called {@code name}.
     *
     * @throws IllegalArgumentException listing the known presets
     */
    public static Preset named(String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        for (Preset p : ALL) {
            if (p.name.equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "': expected one of " + names());
    }

    /** The known preset names, comma-separated. */
    public static String names() {
        return Arrays.stream(ALL).map(Preset::name).collect(Collectors.joining(", "));
    }
}
