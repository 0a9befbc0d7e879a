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
 *     so small that a second OpenMP thread gains little and slows steps when the cores are shared
 *     (BENCHMARKS.md, launcher settings: threads); the data loader's thread uses the other core
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
    public static final Preset FMNIST_SMALL = builder("fmnist-small")
            .image(28, 1)
            .patch(4)
            .width(64)
            .blocks(4, 2)
            .classes(10, true)
            .batch(64)
            .lr(2e-3, 200)
            .length(0, 10)
            .noise(NoiseSpec.gaussian(0.1), 0.1)
            .data("fashion-mnist")
            .sampleEvery(1000)
            .threads(1)
            .build();

    /** The reference notebook's MNIST-sized model, on the bundled Fashion-MNIST. */
    public static final Preset MNIST_TOY = builder("mnist-toy")
            .image(28, 1)
            .patch(4)
            .width(128)
            .blocks(4, 4)
            .classes(10, true)
            .batch(256)
            .lr(2e-3, 234)
            .length(936, 0)
            .noise(NoiseSpec.gaussian(0.1), 0.1)
            .data("fashion-mnist")
            .sampleEvery(312)
            .threads(0)
            .build();

    /** The paper's ImageNet 64x64 conditional model. */
    public static final Preset IMAGENET64 = builder("imagenet64")
            .image(64, 3)
            .patch(2)
            .width(768)
            .blocks(8, 8)
            .classes(1000, true)
            .batch(256)
            .lr(1e-4, 1000)
            .length(100_000, 0)
            .noise(NoiseSpec.gaussian(0.05), 0.1)
            .data(null)
            .sampleEvery(5000)
            .threads(0)
            .build();

    /** The paper's ImageNet 128x128 conditional model. */
    public static final Preset IMAGENET128 = builder("imagenet128")
            .image(128, 3)
            .patch(4)
            .width(1024)
            .blocks(8, 8)
            .classes(1000, true)
            .batch(256)
            .lr(1e-4, 1000)
            .length(100_000, 0)
            .noise(NoiseSpec.gaussian(0.15), 0.1)
            .data(null)
            .sampleEvery(5000)
            .threads(0)
            .build();

    /** The paper's AFHQ 256x256 conditional model (3 classes). */
    public static final Preset AFHQ256 = builder("afhq256")
            .image(256, 3)
            .patch(8)
            .width(768)
            .blocks(8, 8)
            .classes(3, true)
            .batch(256)
            .lr(1e-4, 1000)
            .length(100_000, 0)
            .noise(NoiseSpec.gaussian(0.07), 0.1)
            .data(null)
            .sampleEvery(5000)
            .threads(0)
            .build();

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

    /** A preset named {@code name}, its fields set by name (see the record's components). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** A builder holding this preset's fields under another name, to change some of them. */
    public Builder toBuilder(String newName) {
        return builder(newName)
                .image(imageSize, channels)
                .patch(patchSize)
                .width(width)
                .blocks(blocks, layersPerBlock)
                .classes(numClasses, conditional)
                .batch(batch)
                .lr(lr, warmupSteps)
                .length(steps, minutes)
                .noise(noise, dropLabel)
                .data(data)
                .sampleEvery(sampleEvery)
                .threads(threads);
    }

    /** Sets a preset's fields by name, so that each preset reads as what it sets. */
    public static final class Builder {
        private final String name;
        private int imageSize;
        private int channels;
        private int patchSize;
        private int width;
        private int blocks;
        private int layersPerBlock;
        private int numClasses;
        private boolean conditional;
        private int batch;
        private double lr;
        private long warmupSteps;
        private long steps;
        private double minutes;
        private NoiseSpec noise;
        private double dropLabel;
        private String data;
        private long sampleEvery;
        private int threads;

        private Builder(String name) {
            this.name = name;
        }

        /** Square image size and channels the data is brought to (0: keep the data's). */
        public Builder image(int size, int channels) {
            this.imageSize = size;
            this.channels = channels;
            return this;
        }

        /** Patch side. */
        public Builder patch(int patchSize) {
            this.patchSize = patchSize;
            return this;
        }

        /** Transformer width. */
        public Builder width(int width) {
            this.width = width;
            return this;
        }

        /** Flow blocks and Transformer layers per block. */
        public Builder blocks(int blocks, int layersPerBlock) {
            this.blocks = blocks;
            this.layersPerBlock = layersPerBlock;
            return this;
        }

        /** Classes on the preset's own data, and whether the model is class-conditional. */
        public Builder classes(int numClasses, boolean conditional) {
            this.numClasses = numClasses;
            this.conditional = conditional;
            return this;
        }

        /** Images per step. */
        public Builder batch(int batch) {
            this.batch = batch;
            return this;
        }

        /** Peak learning rate and linear warm-up steps. */
        public Builder lr(double peak, long warmupSteps) {
            this.lr = peak;
            this.warmupSteps = warmupSteps;
            return this;
        }

        /** Total steps (0: set by the time budget) and time budget in minutes (0: none). */
        public Builder length(long steps, double minutes) {
            this.steps = steps;
            this.minutes = minutes;
            return this;
        }

        /** Training noise and the probability of dropping a label. */
        public Builder noise(NoiseSpec noise, double dropLabel) {
            this.noise = noise;
            this.dropLabel = dropLabel;
            return this;
        }

        /** Default dataset spec, or null when {@code --data} is required. */
        public Builder data(String data) {
            this.data = data;
            return this;
        }

        /** Write a sample grid every this many steps (0: only at the end). */
        public Builder sampleEvery(long steps) {
            this.sampleEvery = steps;
            return this;
        }

        /** libtorch intra-op threads (0: all cores). */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** The preset. */
        public Preset build() {
            return new Preset(
                    name,
                    imageSize,
                    channels,
                    patchSize,
                    width,
                    blocks,
                    layersPerBlock,
                    numClasses,
                    conditional,
                    batch,
                    lr,
                    warmupSteps,
                    steps,
                    minutes,
                    noise,
                    dropLabel,
                    data,
                    sampleEvery,
                    threads);
        }
    }
}
