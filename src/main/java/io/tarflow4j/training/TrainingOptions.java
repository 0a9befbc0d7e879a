package io.tarflow4j.training;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Precision;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * Everything a training run is told. Build with {@link #builder(Preset)}, which starts from a
 * preset's architecture and recipe; each setter overrides one field. Validation messages name
 * the command-line flag of the field.
 *
 * @param preset the preset the run started from (recorded in the checkpoint)
 * @param data training data spec ({@code fashion-mnist}, an IDX file or an image folder)
 * @param testData data for the final bits/dim, or null for none
 * @param imageSize square image size the data is brought to (0: keep)
 * @param channels image channels the data is brought to (0: keep)
 * @param patchSize patch side
 * @param width Transformer width
 * @param layersPerBlock Transformer layers in each flow block, one entry per block (see
 *     {@link TarFlowConfig#layersPerBlock()})
 * @param headDim attention head size
 * @param nvp affine (true) or volume-preserving (false) blocks
 * @param conditional class-conditional model (needs labelled data)
 * @param steps total optimizer steps, or 0 when {@code minutes} sets them
 * @param minutes time budget in minutes (0: none); the total steps are estimated from the
 *     measured speed during warm-up and then fixed (see {@link Trainer})
 * @param out output folder, or null for {@code runs/PRESET} (a fresh dated folder when taken)
 * @param resume folder of a run to continue, or null
 * @param seed seed of the initialisation, the data order, the noise and the label dropout
 * @param batch images per step
 * @param lr peak learning rate
 * @param noise training noise
 * @param dropLabel probability of replacing a label by -1 (conditional models)
 * @param warmupSteps linear warm-up steps
 * @param weightDecay AdamW weight decay
 * @param beta1 AdamW beta1
 * @param beta2 AdamW beta2
 * @param gradClip clip the gradient norm to this value (0: off)
 * @param emaDecay EMA decay of the weights (0: no EMA); the EMA weights then sample and evaluate
 * @param sampleEvery write a sample grid every this many steps (0: only at the end)
 * @param checkpointEvery write the checkpoint every this many steps (and at the end)
 * @param evalAt steps after which the test bits/dim is measured (besides the end)
 * @param evalBatch images per evaluation batch
 * @param logEvery metrics line every this many steps
 * @param threads libtorch intra-op threads
 * @param device {@code cpu} or {@code cuda[:N]}
 * @param skipNonFinite skip steps with a non-finite loss or gradient instead of stopping
 * @param flip mirror training images left-right at random
 * @param stopAfter stop after this step with a checkpoint, as if interrupted (0: run to the end);
 *     the schedule still spans the total steps, so {@code --resume} continues the same run
 * @param precision arithmetic of the training step (float32, or bf16 mixed precision)
 * @param activationCheckpointing recompute each Transformer layer in the backward pass instead of
 *     keeping its activations (less memory, one more forward pass of compute; same gradients)
 * @param samples write sample figures (the periodic grids and the final figure)
 */
public record TrainingOptions(
        String preset,
        String data,
        String testData,
        int imageSize,
        int channels,
        int patchSize,
        int width,
        List<Integer> layersPerBlock,
        int headDim,
        boolean nvp,
        boolean conditional,
        long steps,
        double minutes,
        Path out,
        Path resume,
        long seed,
        int batch,
        double lr,
        NoiseSpec noise,
        double dropLabel,
        long warmupSteps,
        double weightDecay,
        double beta1,
        double beta2,
        double gradClip,
        double emaDecay,
        long sampleEvery,
        long checkpointEvery,
        List<Long> evalAt,
        int evalBatch,
        int logEvery,
        int threads,
        String device,
        boolean skipNonFinite,
        boolean flip,
        long stopAfter,
        Precision precision,
        boolean activationCheckpointing,
        boolean samples) {

    /** Validates every field, naming its flag. */
    public TrainingOptions {
        evalAt = List.copyOf(evalAt);
        layersPerBlock = List.copyOf(layersPerBlock);
        require(data != null && !data.isBlank(), "--data is required for preset " + preset);
        require(imageSize >= 0, "--image-size must be >= 0 (0 keeps the data's size), got " + imageSize);
        require(channels == 0 || channels == 1 || channels == 3, "--channels must be 1 or 3, got " + channels);
        require(patchSize >= 1, "--patch must be >= 1, got " + patchSize);
        require(width >= 1, "--width must be >= 1, got " + width);
        require(!layersPerBlock.isEmpty(), "--blocks must be >= 1, got 0");
        for (int layers : layersPerBlock) {
            require(layers >= 1, "--layers must be >= 1, got " + layers);
        }
        require(headDim >= 1 && width % headDim == 0, "--head-dim must divide --width " + width + ", got " + headDim);
        require(steps >= 0, "--steps must be >= 1, got " + steps);
        require(minutes >= 0 && Double.isFinite(minutes), "--minutes must be > 0, got " + minutes);
        require(steps > 0 || minutes > 0, "give --steps (>= 1) or --minutes (> 0)");
        require(batch >= 1, "--batch must be >= 1, got " + batch);
        require(lr > 0 && Double.isFinite(lr), "--lr must be finite and > 0, got " + lr);
        require(noise != null, "--noise is required");
        require(dropLabel >= 0 && dropLabel < 1, "--drop-label must be in [0, 1), got " + dropLabel);
        require(warmupSteps >= 0, "--warmup must be >= 0, got " + warmupSteps);
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "--weight-decay must be >= 0, got " + weightDecay);
        require(beta1 >= 0 && beta1 < 1, "--beta1 must be in [0, 1), got " + beta1);
        require(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1), got " + beta2);
        require(gradClip >= 0 && Double.isFinite(gradClip), "--grad-clip must be >= 0 (0 = off), got " + gradClip);
        require(emaDecay >= 0 && emaDecay < 1, "--ema must be in [0, 1) (0 = off), got " + emaDecay);
        require(sampleEvery >= 0, "--sample-every must be >= 0 (0 = only at the end), got " + sampleEvery);
        require(checkpointEvery >= 1, "--checkpoint-every must be >= 1, got " + checkpointEvery);
        for (long s : evalAt) {
            require(s >= 1, "--eval-at steps must be >= 1, got " + s);
        }
        require(evalBatch >= 1, "--eval-batch must be >= 1, got " + evalBatch);
        require(logEvery >= 1, "--log-every must be >= 1, got " + logEvery);
        require(threads >= 1, "--threads must be >= 1, got " + threads);
        require(device != null && !device.isBlank(), "--device must be cpu or cuda[:N]");
        require(stopAfter >= 0, "--stop-after must be >= 1, got " + stopAfter);
        require(precision != null, "--precision must be float32 or bf16");
    }

    /** A builder holding {@code preset}'s settings and the common defaults. */
    public static Builder builder(Preset preset) {
        return new Builder(preset);
    }

    /** Flow blocks. */
    public int blocks() {
        return layersPerBlock.size();
    }

    /**
     * The model these options train on images of {@code channels} x {@code imageSize}^2 with
     * {@code numClasses} classes (ignored for an unconditional model).
     */
    public TarFlowConfig modelConfig(int channels, int imageSize, int numClasses) {
        return new TarFlowConfig(
                channels, imageSize, patchSize, width, layersPerBlock, headDim, 4, nvp, conditional ? numClasses : 0);
    }

    /** The model these options train on {@code data}: its channels, (square) size and classes. */
    public TarFlowConfig modelConfig(ImageDataset data) {
        return modelConfig(data.channels(), data.height(), data.numClasses());
    }

    /** A builder holding these options, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder(Preset.FMNIST_SMALL);
        b.preset = preset;
        b.data = data;
        b.testData = testData;
        b.testDataSet = true;
        b.imageSize = imageSize;
        b.channels = channels;
        b.patchSize = patchSize;
        b.width = width;
        b.layersPerBlock(layersPerBlock);
        b.headDim = headDim;
        b.nvp = nvp;
        b.conditional = conditional;
        b.steps = steps;
        b.minutes = minutes;
        b.out = out;
        b.resume = resume;
        b.seed = seed;
        b.batch = batch;
        b.lr = lr;
        b.noise = noise;
        b.dropLabel = dropLabel;
        b.warmupSteps = warmupSteps;
        b.weightDecay = weightDecay;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.gradClip = gradClip;
        b.emaDecay = emaDecay;
        b.sampleEvery = sampleEvery;
        b.checkpointEvery = checkpointEvery;
        b.evalAt = evalAt;
        b.evalBatch = evalBatch;
        b.logEvery = logEvery;
        b.threads = threads;
        b.device = device;
        b.skipNonFinite = skipNonFinite;
        b.flip = flip;
        b.stopAfter = stopAfter;
        b.precision = precision;
        b.activationCheckpointing = activationCheckpointing;
        b.samples = samples;
        return b;
    }

    /** Whether the number of steps comes from the time budget. */
    public boolean timeBudgeted() {
        return steps == 0;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * Builder for {@link TrainingOptions}. Defaults beyond the preset: seed 0, weight decay 1e-4,
     * AdamW (0.9, 0.95), no clipping, no EMA, head 64, NVP, checkpoint every 500 steps, metrics
     * every 10 steps, evaluation batch 250, threads = the preset's or all cores, CPU, stop on a
     * non-finite loss, flips as the preset says ({@link Preset#flips()}); the test split of the
     * bundled Fashion-MNIST when training on it.
     */
    public static final class Builder {
        private String preset;
        private String data;
        private String testData;
        private int imageSize;
        private int channels;
        private int patchSize;
        private int width;
        private int blocks;
        private int layersPerBlock;
        /** Per-block layer counts when given as a list (then {@code blocks} and {@code layersPerBlock} follow it). */
        private List<Integer> perBlock;

        private int headDim = 64;
        private boolean nvp = true;
        private Precision precision = Precision.FLOAT32;
        private boolean conditional;
        private long steps;
        private double minutes;
        private Path out;
        private Path resume;
        private long seed;
        private int batch;
        private double lr;
        private NoiseSpec noise;
        private double dropLabel;
        private long warmupSteps;
        private double weightDecay = 1e-4;
        private double beta1 = 0.9;
        private double beta2 = 0.95;
        private double gradClip;
        private double emaDecay;
        private long sampleEvery;
        private long checkpointEvery = 500;
        private List<Long> evalAt = List.of();
        private int evalBatch = 250;
        private int logEvery = 10;
        private int threads = java.lang.Runtime.getRuntime().availableProcessors();
        private String device = "cpu";
        private boolean skipNonFinite;
        private boolean flip;
        private long stopAfter;
        private boolean testDataSet;
        private boolean activationCheckpointing;
        private boolean samples = true;

        private Builder(Preset p) {
            preset = p.name();
            data = p.data();
            imageSize = p.imageSize();
            channels = p.channels();
            patchSize = p.patchSize();
            width = p.width();
            blocks = p.blocks();
            layersPerBlock = p.layersPerBlock();
            conditional = p.conditional();
            steps = p.steps();
            minutes = p.minutes();
            batch = p.batch();
            lr = p.lr();
            noise = p.noise();
            dropLabel = p.dropLabel();
            flip = p.flips();
            warmupSteps = p.warmupSteps();
            sampleEvery = p.sampleEvery();
            if (p.threads() > 0) {
                threads = p.threads();
            }
        }

        /** The preset name recorded in checkpoints (the settings stay as they are). */
        public Builder preset(String v) {
            preset = v;
            return this;
        }
        /** Training data spec. */
        public Builder data(String v) {
            data = v;
            return this;
        }
        /** Test data spec for the final bits/dim (null: none; default: the bundled test split when training on the bundled data). */
        public Builder testData(String v) {
            testData = v;
            testDataSet = true;
            return this;
        }
        /** Image size the data is brought to (0: keep). */
        public Builder imageSize(int v) {
            imageSize = v;
            return this;
        }
        /** Channels the data is brought to (0: keep). */
        public Builder channels(int v) {
            channels = v;
            return this;
        }
        /** Patch side. */
        public Builder patchSize(int v) {
            patchSize = v;
            return this;
        }
        /** Transformer width. */
        public Builder width(int v) {
            width = v;
            return this;
        }
        /** Flow blocks, each with the same layer count (the first block's when a list was given). */
        public Builder blocks(int v) {
            blocks = v;
            perBlock = null;
            return this;
        }
        /** Layers in every block. */
        public Builder layersPerBlock(int v) {
            layersPerBlock = v;
            perBlock = null;
            return this;
        }
        /** Layers of each block, one entry per block (sets the number of blocks). */
        public Builder layersPerBlock(List<Integer> v) {
            perBlock = List.copyOf(v);
            blocks = perBlock.size();
            layersPerBlock = perBlock.isEmpty() ? 0 : perBlock.get(0);
            return this;
        }
        /** Attention head size. */
        public Builder headDim(int v) {
            headDim = v;
            return this;
        }
        /** Affine (true) or volume-preserving (false) blocks. */
        public Builder nvp(boolean v) {
            nvp = v;
            return this;
        }
        /** Class-conditional or not. */
        public Builder conditional(boolean v) {
            conditional = v;
            return this;
        }
        /** Total steps; clears the time budget. */
        public Builder steps(long v) {
            steps = v;
            minutes = 0;
            return this;
        }
        /** Time budget in minutes; clears the step count. */
        public Builder minutes(double v) {
            minutes = v;
            steps = 0;
            return this;
        }
        /** Output folder. */
        public Builder out(Path v) {
            out = v;
            return this;
        }
        /** Run folder to resume. */
        public Builder resume(Path v) {
            resume = v;
            return this;
        }
        /** Seed. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }
        /** Images per step. */
        public Builder batch(int v) {
            batch = v;
            return this;
        }
        /** Peak learning rate. */
        public Builder lr(double v) {
            lr = v;
            return this;
        }
        /** Training noise. */
        public Builder noise(NoiseSpec v) {
            noise = v;
            return this;
        }
        /** Label-drop probability. */
        public Builder dropLabel(double v) {
            dropLabel = v;
            return this;
        }
        /** Warm-up steps. */
        public Builder warmupSteps(long v) {
            warmupSteps = v;
            return this;
        }
        /** AdamW weight decay. */
        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }
        /** AdamW betas, in PyTorch's order. */
        public Builder betas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }
        /** AdamW beta1. */
        public Builder beta1(double v) {
            beta1 = v;
            return this;
        }
        /** AdamW beta2. */
        public Builder beta2(double v) {
            beta2 = v;
            return this;
        }
        /** Gradient-norm clip (0: off). */
        public Builder gradClip(double v) {
            gradClip = v;
            return this;
        }
        /** EMA decay (0: off). */
        public Builder emaDecay(double v) {
            emaDecay = v;
            return this;
        }
        /** Sample grid interval (0: only at the end). */
        public Builder sampleEvery(long v) {
            sampleEvery = v;
            return this;
        }
        /** Checkpoint interval. */
        public Builder checkpointEvery(long v) {
            checkpointEvery = v;
            return this;
        }
        /** Steps after which to measure the test bits/dim. */
        public Builder evalAt(List<Long> v) {
            evalAt = v;
            return this;
        }
        /** Evaluation batch size. */
        public Builder evalBatch(int v) {
            evalBatch = v;
            return this;
        }
        /** Metrics interval. */
        public Builder logEvery(int v) {
            logEvery = v;
            return this;
        }
        /** libtorch threads. */
        public Builder threads(int v) {
            threads = v;
            return this;
        }
        /** Device. */
        public Builder device(String v) {
            device = v;
            return this;
        }
        /** Skip non-finite steps instead of stopping. */
        public Builder skipNonFinite(boolean v) {
            skipNonFinite = v;
            return this;
        }
        /** Stop after this step with a checkpoint (0: run to the end). */
        public Builder stopAfter(long v) {
            stopAfter = v;
            return this;
        }
        /** Random horizontal flips. */
        public Builder flip(boolean v) {
            flip = v;
            return this;
        }
        /** Arithmetic of the training step (default float32). */
        public Builder precision(Precision v) {
            precision = v;
            return this;
        }
        /** Recompute each layer in the backward pass (default off). */
        public Builder activationCheckpointing(boolean v) {
            activationCheckpointing = v;
            return this;
        }
        /** Write sample figures (default on). */
        public Builder samples(boolean v) {
            samples = v;
            return this;
        }

        /** Validates and builds. */
        public TrainingOptions build() {
            String test = testDataSet ? testData : "fashion-mnist".equals(data) ? "fashion-mnist-test" : null;
            require(perBlock != null || blocks >= 1, "--blocks must be >= 1, got " + blocks);
            List<Integer> layers = perBlock != null ? perBlock : Collections.nCopies(blocks, layersPerBlock);
            return new TrainingOptions(
                    preset,
                    data,
                    test,
                    imageSize,
                    channels,
                    patchSize,
                    width,
                    layers,
                    headDim,
                    nvp,
                    conditional,
                    steps,
                    minutes,
                    out,
                    resume,
                    seed,
                    batch,
                    lr,
                    noise,
                    dropLabel,
                    warmupSteps,
                    weightDecay,
                    beta1,
                    beta2,
                    gradClip,
                    emaDecay,
                    sampleEvery,
                    checkpointEvery,
                    evalAt,
                    evalBatch,
                    logEvery,
                    threads,
                    device,
                    skipNonFinite,
                    flip,
                    stopAfter,
                    precision,
                    activationCheckpointing,
                    samples);
        }
    }
}
