package io.tarflow4j.evaluation;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.SequentialBatches;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.Objects;
import java.util.function.LongConsumer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Bits per dimension of a whole dataset under a model, as the reference evaluates it: 8-bit
 * pixels dequantised with uniform noise (bins of 1/128 on [-1, 1]), the exact likelihood of each
 * image ({@link ImageScorer#bitsPerDim}), averaged. The noise is derived from a seed and each
 * image's pixels ({@link Dequantizer}), so the figure is repeatable and an image's value is the one
 * {@code score} gives it; with {@code draws > 1} each image's bits/dim is averaged over that many
 * noise draws.
 *
 * <p>The input buffer of a batch is allocated once and refilled, so that a long evaluation does
 * not page-fault a fresh input for every batch.
 */
public final class DatasetBpd {
    private DatasetBpd() {}

    /**
     * The result of an evaluation.
     *
     * @param mean mean bits/dim over images
     * @param standardError standard error of the mean over images
     * @param images number of images
     * @param perImage bits/dim of each image (averaged over draws), in dataset order
     */
    public record Result(double mean, double standardError, int images, double[] perImage) {}

    /**
     * How a dataset is evaluated. Start from {@link #of(int, Dequantizer)} and change fields with the
     * {@code with} methods.
     *
     * @param batchSize images per batch (the input buffer's rows)
     * @param noise the dequantisation offsets
     * @param draws noise draws per image, averaged (must be 1 for a fixed noise such as the bin
     *     centre)
     * @param likelihood the definition; {@link Likelihood#LABEL} needs a labelled dataset
     * @param prior the Gaussian prior (differs only for VP models)
     * @param rowsPerPass forward rows per pass within a batch (an image takes
     *     {@link ImageScorer#rowsPerImage} rows), each pass in its own scope so that its
     *     intermediates are freed before the next; 0 chooses {@link #autoRowsPerPass}. The result
     *     does not depend on it (images are independent).
     * @param progress told the number of images done after each batch, or null
     */
    public record Options(
            int batchSize,
            Dequantizer noise,
            int draws,
            Likelihood likelihood,
            Prior prior,
            int rowsPerPass,
            LongConsumer progress) {
        /** Validates every field. */
        public Options {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            if (draws < 1) {
                throw new IllegalArgumentException("draws must be >= 1, got " + draws);
            }
            if (rowsPerPass < 0) {
                throw new IllegalArgumentException("rows per pass must be >= 0 (0: automatic), got " + rowsPerPass);
            }
            Objects.requireNonNull(noise, "noise");
            Objects.requireNonNull(likelihood, "likelihood");
            Objects.requireNonNull(prior, "prior");
            if (!noise.random() && draws > 1) {
                throw new IllegalArgumentException(
                        "several draws need random noise; the bin centre is one fixed point");
            }
        }

        /**
         * The reference's evaluation in batches of {@code batchSize} with the offsets of
         * {@code noise} (the reference's: {@link Dequantizer#uniform}): one draw, the unconditional
         * likelihood under the learned prior, automatic passes, no progress.
         */
        public static Options of(int batchSize, Dequantizer noise) {
            return new Options(batchSize, noise, 1, Likelihood.UNCONDITIONAL, Prior.LEARNED, 0, null);
        }

        /** A copy with {@code v} noise draws per image. */
        public Options withDraws(int v) {
            return new Options(batchSize, noise, v, likelihood, prior, rowsPerPass, progress);
        }

        /** A copy with another likelihood definition. */
        public Options withLikelihood(Likelihood v) {
            return new Options(batchSize, noise, draws, v, prior, rowsPerPass, progress);
        }

        /** A copy with another prior. */
        public Options withPrior(Prior v) {
            return new Options(batchSize, noise, draws, likelihood, v, rowsPerPass, progress);
        }

        /** A copy with {@code v} forward rows per pass (0: automatic). */
        public Options withRowsPerPass(int v) {
            return new Options(batchSize, noise, draws, likelihood, prior, v, progress);
        }

        /** A copy that tells {@code v} the images done after each batch. */
        public Options withProgress(LongConsumer v) {
            return new Options(batchSize, noise, draws, likelihood, prior, rowsPerPass, v);
        }
    }

    /**
     * Images per forward pass when none is given: as many as keep the largest intermediate tensor
     * (the MLP's hidden activations, T x expansion*width floats per image) under
     * {@value #LARGEST_TENSOR_MB} MiB, the most glibc serves from memory the process keeps (the
     * launcher's {@code glibc.malloc.mmap_threshold}). Larger blocks are mapped afresh and
     * page-faulted at every pass, which costs more than the pass (BENCHMARKS.md, bits/dim
     * evaluation).
     */
    public static int autoRowsPerPass(io.tarflow4j.model.TarFlowConfig c) {
        long perImage = Math.max(1, (long) c.numTokens() * Math.max(3, c.mlpExpansion()) * c.width() * 4L);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, LARGEST_TENSOR_MB * (1L << 20) / perImage));
    }

    /** Largest intermediate tensor of one automatic pass, in MiB (see {@link #autoRowsPerPass}). */
    public static final long LARGEST_TENSOR_MB = 32;

    /** Evaluates {@code model} on {@code data} as {@code options} say. */
    public static Result evaluate(TarFlow model, ImageDataset data, Options options) {
        Likelihood kind = options.likelihood();
        int draws = options.draws();
        int batchSize = options.batchSize();
        Dequantizer noise = options.noise();
        int pass = Math.max(
                1,
                (options.rowsPerPass() == 0 ? autoRowsPerPass(model.config()) : options.rowsPerPass())
                        / ImageScorer.rowsPerImage(model.config(), kind));
        if (kind == Likelihood.LABEL && !data.hasLabels()) {
            throw new IllegalArgumentException("the likelihood given the label needs a labelled dataset; this one"
                    + " has no labels (use unconditional or marginal)");
        }
        checkShape(model, data);
        int n = data.size();
        double[] bpd = new double[n];
        int perImage = data.imageLength();
        int done = 0;
        try (GradMode g = GradMode.off();
                InputBuffer input = new InputBuffer(batchSize, perImage, data)) {
            for (Batch batch : SequentialBatches.of(data, batchSize)) {
                try (NativeScope scope = NativeScope.open()) {
                    Tensor pixels = input.pixels(batch);
                    Tensor y = kind == Likelihood.LABEL ? Tensors.labels(batch.labels()) : null;
                    for (int d = 0; d < draws; d++) {
                        Tensor images = model.place(BitsPerDim.dequantize(pixels, input.noise(batch.n(), noise, d)));
                        for (int from = 0; from < batch.n(); from += pass) {
                            int rows = Math.min(pass, batch.n() - from);
                            try (NativeScope forward = NativeScope.open()) {
                                double[] values = ImageScorer.bitsPerDim(
                                        model,
                                        images.narrow(0, from, rows),
                                        kind,
                                        y == null ? null : y.narrow(0, from, rows),
                                        options.prior());
                                for (int i = 0; i < rows; i++) {
                                    bpd[done + from + i] += values[i] / draws;
                                }
                            }
                        }
                    }
                }
                done += batch.n();
                if (options.progress() != null) {
                    options.progress().accept(done);
                }
            }
        }
        return summarize(bpd);
    }

    /** Mean and standard error of per-image values. */
    static Result summarize(double[] bpd) {
        int n = bpd.length;
        double mean = 0;
        for (double v : bpd) {
            mean += v;
        }
        mean /= n;
        double ss = 0;
        for (double v : bpd) {
            ss += (v - mean) * (v - mean);
        }
        double se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0;
        return new Result(mean, se, n, bpd);
    }

    /** Fails with a clear message when the dataset's images do not have the model's shape. */
    static void checkShape(TarFlow model, ImageDataset data) {
        var c = model.config();
        if (data.channels() != c.inChannels() || data.height() != c.imageSize() || data.width() != c.imageSize()) {
            throw new IllegalArgumentException("dataset images are " + data.channels() + "x" + data.height() + "x"
                    + data.width() + " (CxHxW), the model expects " + c.inChannels() + "x" + c.imageSize() + "x"
                    + c.imageSize() + " (load the data with --image-size/--channels to convert)");
        }
    }

    /** Dataset floats x/255*2-1 back to integer pixel values 0..255 (as floats). */
    static float[] toPixels(float[] scaled) {
        float[] p = new float[scaled.length];
        toPixels(scaled, p, scaled.length);
        return p;
    }

    private static void toPixels(float[] scaled, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = Math.round((scaled[i] + 1f) * 127.5f);
        }
    }

    /**
     * Two CPU float tensors (pixels and noise) for the largest batch, allocated once; each batch
     * is copied into their first rows and viewed with narrow.
     */
    static final class InputBuffer implements AutoCloseable {
        private final Tensor pixels;
        private final Tensor noise;
        private final float[] scratch;
        private final float[] offsets;
        private final int perImage;

        InputBuffer(int batchSize, int perImage, ImageDataset data) {
            long[] shape = {batchSize, data.channels(), data.height(), data.width()};
            TensorOptions f32 = new TensorOptions(ScalarType.Float);
            this.pixels = torch.empty(shape, f32, new MemoryFormatOptional());
            this.noise = torch.empty(shape, f32, new MemoryFormatOptional());
            pixels.retainReference();
            noise.retainReference();
            this.scratch = new float[Math.multiplyExact(batchSize, perImage)];
            this.offsets = new float[scratch.length];
            this.perImage = perImage;
        }

        /** The batch's pixel values 0..255 as float32 (B, C, H, W). */
        Tensor pixels(Batch batch) {
            int count = batch.n() * perImage;
            toPixels(batch.images(), scratch, count);
            Tensors.copyInto(pixels, scratch, count);
            return pixels.narrow(0, 0, batch.n());
        }

        /** Draw {@code draw}'s dequantisation offsets of the last {@link #pixels} batch of {@code n} images (B, C, H, W). */
        Tensor noise(int n, Dequantizer dequantizer, int draw) {
            int count = n * perImage;
            dequantizer.fill(scratch, n, perImage, draw, offsets);
            Tensors.copyInto(noise, offsets, count);
            return noise.narrow(0, 0, n);
        }

        @Override
        public void close() {
            pixels.releaseReference();
            noise.releaseReference();
        }
    }
}
