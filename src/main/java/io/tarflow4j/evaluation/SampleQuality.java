package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.SequentialBatches;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.sampling.Denoiser;
import io.tarflow4j.sampling.Inversion;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplingProgress;
import io.tarflow4j.sampling.SamplingStats;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Sample quality without downloaded weights: draws samples from a model, then
 * <ul>
 * <li>FD-FMNIST: the Frechet distance between the bundled {@link FmnistClassifier}'s 128
 * penultimate features of real test images and of the samples;</li>
 * <li>class accuracy (class-conditional models): the fraction of samples drawn for class k that
 * the classifier labels k, i.e. whether guidance makes class k look like class k;</li>
 * <li>optionally the standard FID with {@link InceptionV3Fid} and user-supplied weights.</li>
 * </ul>
 * Samples are drawn for classes 0, 1, ..., K-1, 0, 1, ... in turn, clamped to [-1, 1] and
 * quantised to 8-bit levels (as a saved PNG would be) before they are measured.
 */
public final class SampleQuality {
    private SampleQuality() {}

    /**
     * What to sample.
     *
     * @param count number of samples
     * @param batchSize samples per reverse pass
     * @param guidance classifier-free guidance
     * @param denoise apply the score-based denoising step after sampling
     * @param sigma the training noise std used by denoising
     * @param seed seeds the sampling noise
     */
    public record Settings(int count, int batchSize, Guidance guidance, boolean denoise, double sigma, long seed) {
        /** Validates. */
        public Settings {
            if (count < 2 || batchSize < 1) {
                throw new IllegalArgumentException(
                        "need at least 2 samples and batch >= 1, got " + count + ", " + batchSize);
            }
            if (denoise && !(sigma > 0)) {
                throw new IllegalArgumentException("denoising needs the training noise sigma > 0, got " + sigma);
            }
        }
    }

    /**
     * Outcome.
     *
     * @param frechetFmnist FD-FMNIST (squared distance in the classifier's feature space)
     * @param classAccuracy fraction of samples the classifier labels with their class (NaN when unconditional)
     * @param perClassAccuracy the same per class (empty when unconditional)
     * @param fid FID with Inception pool3 features, or NaN when not computed
     * @param samples number of samples
     * @param realImages number of real images the reference statistics came from
     * @param samplingSeconds wall time spent sampling
     */
    public record Result(
            double frechetFmnist,
            double classAccuracy,
            double[] perClassAccuracy,
            double fid,
            int samples,
            int realImages,
            double samplingSeconds) {}

    /**
     * Samples {@code settings.count()} images and measures them against {@code real}.
     *
     * @param inception the FID network, or null to skip FID
     * @param progress told the number of samples done
     * @param samplesOut receives each batch of samples (B*C*H*W floats in [-1, 1], the labels); may be null
     */
    public static Result evaluate(
            TarFlow model,
            FmnistClassifier classifier,
            InceptionV3Fid inception,
            ImageDataset real,
            Settings settings,
            LongConsumer progress,
            SampleSink samplesOut) {
        return evaluate(model, classifier, inception, real, settings, progress, Duration.ZERO, null, samplesOut);
    }

    /**
     * {@link #evaluate(TarFlow, FmnistClassifier, InceptionV3Fid, ImageDataset, Settings, LongConsumer, SampleSink)}
     * that also tells {@code sampling} (when not null) the batch, block and token being sampled
     * and the time left, at most every {@code interval} (see {@link SamplingProgress}).
     */
    public static Result evaluate(
            TarFlow model,
            FmnistClassifier classifier,
            InceptionV3Fid inception,
            ImageDataset real,
            Settings settings,
            LongConsumer progress,
            Duration interval,
            Consumer<SamplingProgress.Snapshot> sampling,
            SampleSink samplesOut) {
        var c = model.config();
        if (c.inChannels() != 1 || c.imageSize() != FmnistClassifier.SIZE) {
            throw new IllegalArgumentException("sample quality uses the Fashion-MNIST classifier: the model must make"
                    + " 1x28x28 images, it makes " + c.inChannels() + "x" + c.imageSize() + "x" + c.imageSize());
        }
        int k = c.numClasses();
        try (FeatureStatistics.Accumulator realFd = new FeatureStatistics.Accumulator(FmnistClassifier.FEATURES);
                FeatureStatistics.Accumulator fakeFd = new FeatureStatistics.Accumulator(FmnistClassifier.FEATURES);
                FeatureStatistics.Accumulator realFid = new FeatureStatistics.Accumulator(InceptionV3Fid.FEATURES);
                FeatureStatistics.Accumulator fakeFid = new FeatureStatistics.Accumulator(InceptionV3Fid.FEATURES)) {
            try (GradMode g = GradMode.off()) {
                for (Batch batch : SequentialBatches.of(real, 500)) {
                    try (NativeScope scope = NativeScope.open()) {
                        Tensor x = Tensors.fromFloats(
                                batch.images(), batch.n(), 1, FmnistClassifier.SIZE, FmnistClassifier.SIZE);
                        realFd.add(classifier.features(x));
                        if (inception != null) {
                            realFid.add(inception.features(x));
                        }
                    }
                }
            }
            Runtime.seed(settings.seed());
            SamplingProgress tracker = sampling == null
                    ? null
                    : new SamplingProgress(
                            (settings.count() + settings.batchSize() - 1) / settings.batchSize(),
                            c.numBlocks(),
                            c.numTokens(),
                            interval,
                            sampling);
            Sampler sampler = new Sampler(model);
            Map<Long, KvCache> caches = new HashMap<>();
            long[] correct = new long[Math.max(k, 1)];
            long[] total = new long[Math.max(k, 1)];
            double samplingSeconds = 0;
            int done = 0;
            while (done < settings.count()) {
                int n = Math.min(settings.batchSize(), settings.count() - done);
                KvCache cache = caches.computeIfAbsent(
                        settings.guidance().active() ? 2L * n : n,
                        rows -> KvCache.forModel(model, rows)); // outside the batch's scope: reused
                if (tracker != null) {
                    tracker.startBatch(done / settings.batchSize());
                }
                try (NativeScope scope = NativeScope.open()) {
                    int[] labels = new int[n];
                    for (int i = 0; i < n; i++) {
                        labels[i] = k > 0 ? (done + i) % k : 0;
                    }
                    Tensor y = k > 0 ? Tensors.labels(labels).to(model.device(), ScalarType.Long) : null;
                    long t0 = System.nanoTime();
                    Tensor noise = torch.randn(new long[] {n, c.numTokens(), c.tokenDim()}, model.options());
                    Tensor images = sample(model, sampler, noise, y, settings, cache, tracker);
                    samplingSeconds += (System.nanoTime() - t0) / 1e9;
                    Tensor x = quantize(images.detach().to(ScalarType.Float).cpu());
                    try (GradMode g = GradMode.off()) {
                        Tensor features = classifier.features(x);
                        fakeFd.add(features);
                        if (inception != null) {
                            fakeFid.add(inception.features(x));
                        }
                        if (k > 0) {
                            long[] predicted = Tensors.toLongs(
                                    classifier.logitsFromFeatures(features).argmax(new LongOptional(1), false));
                            for (int i = 0; i < n; i++) {
                                total[labels[i]]++;
                                if (predicted[i] == labels[i]) {
                                    correct[labels[i]]++;
                                }
                            }
                        }
                    }
                    if (samplesOut != null) {
                        samplesOut.accept(Tensors.toFloats(x), k > 0 ? labels : null, n);
                    }
                }
                done += n;
                if (progress != null) {
                    progress.accept(done);
                }
            }
            double fd = FrechetDistance.distance(realFd.statistics(), fakeFd.statistics());
            double fid = inception == null
                    ? Double.NaN
                    : FrechetDistance.distance(realFid.statistics(), fakeFid.statistics());
            double accuracy = Double.NaN;
            double[] perClass = new double[0];
            if (k > 0) {
                long sumCorrect = 0;
                perClass = new double[k];
                for (int j = 0; j < k; j++) {
                    sumCorrect += correct[j];
                    perClass[j] = total[j] == 0 ? Double.NaN : (double) correct[j] / total[j];
                }
                accuracy = (double) sumCorrect / done;
            }
            return new Result(fd, accuracy, perClass, fid, done, real.size(), samplingSeconds);
        }
    }

    /**
     * Draws images from noise: the sequential sampler with guidance (parallel row groups), then
     * denoising when asked. The one place sampling happens here.
     */
    static Tensor sample(
            TarFlow model,
            Sampler sampler,
            Tensor noise,
            Tensor y,
            Settings settings,
            KvCache cache,
            SamplingProgress progress) {
        Tensor images = sampler.reverse(
                noise,
                y,
                cache,
                Inversion.sequential(
                                settings.guidance(),
                                new SamplingStats(model.config().numBlocks()))
                        .withProgress(progress));
        if (settings.denoise()) {
            images = Denoiser.denoise(model, images, y, settings.sigma(), 1.0);
        }
        return images;
    }

    /** Clamps to [-1, 1] and rounds to the 256 levels of an 8-bit image. */
    static Tensor quantize(Tensor x) {
        return x.clamp(new org.bytedeco.pytorch.ScalarOptional(s(-1)), new org.bytedeco.pytorch.ScalarOptional(s(1)))
                .add(s(1))
                .mul(s(127.5))
                .round()
                .div(s(127.5))
                .sub(s(1));
    }

    /** Receives generated samples batch by batch. */
    @FunctionalInterface
    public interface SampleSink {
        /**
         * One batch.
         *
         * @param images n images, C*H*W floats each, in [-1, 1]
         * @param labels their classes, or null for an unconditional model
         * @param n the number of images
         */
        void accept(float[] images, int[] labels, int n);
    }
}
