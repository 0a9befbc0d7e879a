package io.tarflow4j.sampling;

import io.tarflow4j.model.Guidance;
import java.util.List;

/**
 * What to sample and how. Build with {@link #builder()}:
 *
 * <pre>{@code
 * SamplingOptions o = SamplingOptions.builder().count(64).classes(List.of(3)).guidance(1.0)
 *         .denoise(true).sigma(0.1).sampler(SamplerType.JACOBI).build();
 * }</pre>
 *
 * @param count number of images, at least 1
 * @param classes class labels to sample; with K classes the count is split class by class
 *     ({@code count / K} each, the first {@code count % K} classes one more); empty: no label (the
 *     mean class embedding of a conditional model, or an unconditional model)
 * @param guidance classifier-free guidance (weight, target, unguided attention temperature,
 *     annealing); {@link Guidance#NONE} for none
 * @param noiseTemperature multiplies the prior noise (1 = the model's prior), &gt; 0
 * @param denoise whether to apply score-based denoising to the samples
 * @param denoiseScale multiplies the denoising step (1 = the reference's step)
 * @param sigma training noise std for denoising (NaN: not known; denoising then fails)
 * @param seed seed of the prior noise
 * @param sampler sequential or GS-Jacobi
 * @param strategy the GS-Jacobi strategy, or null for {@link JacobiStrategy#defaultFor}
 * @param batchSize images per batch, at least 1
 * @param trace whether to keep the images after every block (and before denoising)
 * @param parallelism groups of rows of a batch inverted at the same time on their own threads;
 *     0 (the default) for one per CPU core on the CPU and one on a GPU
 */
public record SamplingOptions(
        int count,
        List<Integer> classes,
        Guidance guidance,
        double noiseTemperature,
        boolean denoise,
        double denoiseScale,
        double sigma,
        long seed,
        SamplerType sampler,
        JacobiStrategy strategy,
        int batchSize,
        boolean trace,
        int parallelism) {

    /** Validates the settings that do not depend on the model. */
    public SamplingOptions {
        if (count < 1) {
            throw new IllegalArgumentException("sample count must be >= 1, got " + count);
        }
        classes = classes == null ? List.of() : List.copyOf(classes);
        for (int c : classes) {
            if (c < 0) {
                throw new IllegalArgumentException("class labels must be >= 0, got " + c);
            }
        }
        if (guidance == null) {
            guidance = Guidance.NONE;
        }
        if (!(noiseTemperature > 0) || Double.isInfinite(noiseTemperature)) {
            throw new IllegalArgumentException("noise temperature must be finite and > 0, got " + noiseTemperature);
        }
        if (!(denoiseScale >= 0) || Double.isInfinite(denoiseScale)) {
            throw new IllegalArgumentException("denoise scale must be finite and >= 0, got " + denoiseScale);
        }
        if (!Double.isNaN(sigma) && (!(sigma > 0) || Double.isInfinite(sigma))) {
            throw new IllegalArgumentException("noise sigma must be finite and > 0, got " + sigma);
        }
        if (denoise && Double.isNaN(sigma)) {
            throw new IllegalArgumentException("denoising needs the training noise sigma (the checkpoint records"
                    + " none: pass it with --sigma)");
        }
        if (sampler == null) {
            sampler = SamplerType.SEQUENTIAL;
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (parallelism < 0) {
            throw new IllegalArgumentException(
                    "parallel row groups must be >= 0 (0 = one per CPU core), got " + parallelism);
        }
    }

    /** A builder with the defaults: 64 images, no class, no guidance, sequential, batch 64, seed 0. */
    public static Builder builder() {
        return new Builder();
    }

    /** These options with another noise seed. */
    public SamplingOptions withSeed(long newSeed) {
        return new SamplingOptions(
                count,
                classes,
                guidance,
                noiseTemperature,
                denoise,
                denoiseScale,
                sigma,
                newSeed,
                sampler,
                strategy,
                batchSize,
                trace,
                parallelism);
    }

    /** The label of every sample (class by class), or null when no classes were asked for. */
    public int[] labels() {
        if (classes.isEmpty()) {
            return null;
        }
        int k = classes.size();
        int[] labels = new int[count];
        int i = 0;
        for (int c = 0; c < k; c++) {
            int n = perClass(c);
            for (int j = 0; j < n; j++) {
                labels[i++] = classes.get(c);
            }
        }
        return labels;
    }

    /** How many samples the c-th listed class gets. */
    public int perClass(int c) {
        int k = Math.max(1, classes.size());
        return count / k + (c < count % k ? 1 : 0);
    }

    /** Builder for {@link SamplingOptions}. */
    public static final class Builder {
        private int count = 64;
        private List<Integer> classes = List.of();
        private double weight;
        private Guidance.Target target = Guidance.Target.BOTH;
        private double attnTemp = 1.0;
        private boolean annealed;
        private double noiseTemperature = 1.0;
        private boolean denoise;
        private double denoiseScale = 1.0;
        private double sigma = Double.NaN;
        private long seed;
        private SamplerType sampler = SamplerType.SEQUENTIAL;
        private JacobiStrategy strategy;
        private int batchSize = 64;
        private boolean trace;
        private int parallelism;

        private Builder() {}

        /** Number of images. */
        public Builder count(int n) {
            this.count = n;
            return this;
        }

        /** One class. */
        public Builder classLabel(int c) {
            this.classes = List.of(c);
            return this;
        }

        /** Several classes (one grid row each); empty for none. */
        public Builder classes(List<Integer> c) {
            this.classes = c;
            return this;
        }

        /** Guidance weight (the CLI's {@code --cfg}); 0 for none. */
        public Builder guidance(double w) {
            this.weight = w;
            return this;
        }

        /** Which affine parameters guidance mixes. */
        public Builder guideTarget(Guidance.Target t) {
            this.target = t;
            return this;
        }

        /** Attention temperature of the unguided branch. */
        public Builder attnTemp(double t) {
            this.attnTemp = t;
            return this;
        }

        /** Annealed guidance weight {@code (i+1)/(T-1) * w}. */
        public Builder annealed(boolean a) {
            this.annealed = a;
            return this;
        }

        /** Multiplies the prior noise. */
        public Builder noiseTemperature(double t) {
            this.noiseTemperature = t;
            return this;
        }

        /** Score-based denoising on or off. */
        public Builder denoise(boolean d) {
            this.denoise = d;
            return this;
        }

        /** Multiplies the denoising step. */
        public Builder denoiseScale(double s) {
            this.denoiseScale = s;
            return this;
        }

        /** Training noise std for denoising. */
        public Builder sigma(double s) {
            this.sigma = s;
            return this;
        }

        /** Seed of the prior noise. */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Sequential or GS-Jacobi. */
        public Builder sampler(SamplerType t) {
            this.sampler = t;
            return this;
        }

        /** GS-Jacobi strategy (null: the default). */
        public Builder strategy(JacobiStrategy s) {
            this.strategy = s;
            return this;
        }

        /** Images per batch. */
        public Builder batchSize(int b) {
            this.batchSize = b;
            return this;
        }

        /** Keep the sampling trace. */
        public Builder trace(boolean t) {
            this.trace = t;
            return this;
        }

        /** Groups of rows inverted at the same time (0: one per CPU core on the CPU, one on a GPU). */
        public Builder parallelism(int groups) {
            this.parallelism = groups;
            return this;
        }

        /** The options, validated. */
        public SamplingOptions build() {
            return new SamplingOptions(
                    count,
                    classes,
                    new Guidance(weight, target, attnTemp, annealed),
                    noiseTemperature,
                    denoise,
                    denoiseScale,
                    sigma,
                    seed,
                    sampler,
                    strategy,
                    batchSize,
                    trace,
                    parallelism);
        }
    }
}
