package io.tarflow4j.sampling;

import io.tarflow4j.model.BlockInverter;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Draws images from a TarFlow: prior noise, every block inverted (sequentially with the KV
 * cache, or by GS-Jacobi iteration), optional score-based denoising.
 *
 * <p>The noise of all {@code count} images is drawn first from the seed (Java's
 * {@link Random#nextGaussian}), so a seed gives the same images whatever the batch size and
 * sampler (up to the sampler's tolerance). Guided and unguided branches run as one batch.
 */
public final class Sampler {
    private final TarFlow model;

    /** A sampler for {@code model}. */
    public Sampler(TarFlow model) {
        this.model = model;
    }

    /**
     * Checks options against the model: class labels in range, guidance that does something,
     * a strategy with one entry per block.
     *
     * @throws IllegalArgumentException explaining what to change
     */
    public void validate(SamplingOptions o) {
        TarFlowConfig c = model.config();
        if (!o.classes().isEmpty()) {
            if (!c.conditional()) {
                throw new IllegalArgumentException(
                        "the model is unconditional: it takes no class labels" + " (drop --class/--classes)");
            }
            for (int k : o.classes()) {
                if (k >= c.numClasses()) {
                    throw new IllegalArgumentException("class " + k + " is out of range: the model has "
                            + c.numClasses() + " classes (0.." + (c.numClasses() - 1) + ")");
                }
            }
        }
        Guidance g = o.guidance();
        if (g.active()
                && g.attnTemp() == 1.0
                && (!c.conditional() || o.classes().isEmpty())) {
            String what = c.conditional()
                    ? "without class labels both branches use the mean class embedding"
                    : "the model is unconditional, so both branches see the same input";
            throw new IllegalArgumentException("guidance would do nothing: " + what + " and the unguided"
                    + " branch runs at attention temperature 1. Set --attn-temp to a value other than 1"
                    + " (e.g. 0.3, the paper's unconditional guidance)"
                    + (c.conditional() ? " or choose --class/--classes" : ""));
        }
        if (o.sampler() == SamplerType.JACOBI && o.strategy() != null) {
            o.strategy().requireBlocks(c.numBlocks());
        }
    }

    /** Samples {@code o.count()} images. */
    public SampleResult sample(SamplingOptions o) {
        return sample(o, Duration.ZERO, null);
    }

    /**
     * Samples {@code o.count()} images, telling {@code progress} (when not null) where the run
     * stands at most every {@code interval} (see {@link SamplingProgress}).
     */
    public SampleResult sample(SamplingOptions o, Duration interval, Consumer<SamplingProgress.Snapshot> progress) {
        validate(o);
        TarFlowConfig c = model.config();
        SamplingProgress tracker = progress == null
                ? null
                : new SamplingProgress(
                        (o.count() + o.batchSize() - 1) / o.batchSize(),
                        c.numBlocks(),
                        c.numTokens(),
                        interval,
                        progress);
        // one scope for the call: the KV caches are allocated once and reused by every batch
        try (NativeScope call = NativeScope.open()) {
            return sampleBatches(o, new HashMap<>(), tracker);
        }
    }

    private SampleResult sampleBatches(SamplingOptions o, Map<Long, KvCache> caches, SamplingProgress progress) {
        long t0 = System.nanoTime();
        TarFlowConfig c = model.config();
        int tokens = c.numTokens();
        int dim = c.tokenDim();
        int imageSize = c.inChannels() * c.imageSize() * c.imageSize();
        float[] noise = noise(o.seed(), (long) o.count() * tokens * dim, o.noiseTemperature());
        int[] labels = o.labels();
        JacobiStrategy strategy = o.sampler() == SamplerType.JACOBI
                ? (o.strategy() != null ? o.strategy() : JacobiStrategy.defaultFor(c.numBlocks(), tokens))
                : null;
        float[] images = new float[o.count() * imageSize];
        int stages = c.numBlocks() + 1 + (o.denoise() ? 1 : 0);
        List<float[]> trace = new ArrayList<>();
        if (o.trace()) {
            for (int s = 0; s < stages; s++) {
                trace.add(new float[o.count() * imageSize]);
            }
        }
        SamplingStats stats = new SamplingStats(c.numBlocks());
        for (int from = 0; from < o.count(); from += o.batchSize()) {
            int b = Math.min(o.batchSize(), o.count() - from);
            KvCache cache =
                    caches.computeIfAbsent(o.guidance().active() ? 2L * b : b, rows -> KvCache.forModel(model, rows));
            if (progress != null) {
                progress.startBatch(from / o.batchSize());
            }
            try (NativeScope scope = NativeScope.open()) {
                float[] part = new float[b * tokens * dim];
                System.arraycopy(noise, from * tokens * dim, part, 0, part.length);
                Tensor z = model.place(Tensors.fromFloats(part, b, tokens, dim));
                Tensor y = labels == null
                        ? null
                        : Tensors.labels(Arrays.copyOfRange(labels, from, from + b))
                                .to(model.device(), ScalarType.Long);
                List<Tensor> stagesOut = o.trace() ? new ArrayList<>() : null;
                Tensor x = reverse(
                        z,
                        y,
                        cache,
                        new Inversion(o.guidance(), strategy, o.parallelism(), stats, stagesOut, progress));
                if (o.denoise()) {
                    x = Denoiser.denoise(model, x, y, o.sigma(), o.denoiseScale());
                    if (stagesOut != null) {
                        stagesOut.add(x);
                    }
                }
                System.arraycopy(Tensors.toFloats(x), 0, images, from * imageSize, b * imageSize);
                if (stagesOut != null) {
                    for (int s = 0; s < stages; s++) {
                        System.arraycopy(
                                Tensors.toFloats(stagesOut.get(s)), 0, trace.get(s), from * imageSize, b * imageSize);
                    }
                }
                stats.addBatch();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new SampleResult(
                images, labels, o.count(), c.inChannels(), c.imageSize(), c.imageSize(), trace, stats, seconds);
    }

    /**
     * Inverts the whole flow for one batch of prior noise z (B, T, D) (already scaled by the
     * noise temperature), without denoising. With more than one group of rows
     * ({@link Inversion#parallelism}) the groups are inverted at the same time on their own
     * threads; rows never interact while sampling, so the images are those of one group (to float
     * rounding; for the sequential sampler exactly; GS-Jacobi stops each group by its own
     * tolerance).
     *
     * @param cache a cache of B rows (2B with active guidance)
     * @return images (B, C, H, W)
     */
    public Tensor reverse(Tensor z, Tensor y, KvCache cache, Inversion how) {
        if (how.strategy() != null) {
            how.strategy().requireBlocks(model.blocks().size());
        }
        long rows = z.size(0);
        long cacheRowsPerRow = how.cacheRowsPerImage();
        if (cache.rows() < cacheRowsPerRow * rows) {
            throw new IllegalArgumentException(
                    "the KV cache holds " + cache.rows() + " rows, this batch needs " + cacheRowsPerRow * rows);
        }
        int groups = RowGroups.count(how.parallelism(), rows, model.device());
        if (groups == 1) {
            return reverseRows(z, y, cache, how.guidance(), how.strategy(), how.stats(), how.trace(), how.progress());
        }
        TarFlowConfig c = model.config();
        long[] imageShape = {rows, c.inChannels(), c.imageSize(), c.imageSize()};
        Tensor out = torch.empty(imageShape, model.options(), new MemoryFormatOptional());
        List<Tensor> stages = new ArrayList<>();
        if (how.trace() != null) {
            for (int s = 0; s <= c.numBlocks(); s++) {
                stages.add(torch.empty(imageShape, model.options(), new MemoryFormatOptional()));
            }
        }
        long[] bounds = RowGroups.bounds(rows, groups);
        List<Callable<SamplingStats>> tasks = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            long from = bounds[g];
            long n = bounds[g + 1] - from;
            SamplingProgress groupProgress = g == 0 ? how.progress() : null; // the groups run abreast
            tasks.add(() -> {
                try (NativeScope scope = NativeScope.open()) {
                    SamplingStats groupStats = new SamplingStats(c.numBlocks());
                    List<Tensor> groupTrace = how.trace() == null ? null : new ArrayList<>();
                    Tensor x = reverseRows(
                            z.narrow(0, from, n),
                            y == null ? null : y.narrow(0, from, n),
                            cache.rowSlice(cacheRowsPerRow * from, cacheRowsPerRow * n),
                            how.guidance(),
                            how.strategy(),
                            groupStats,
                            groupTrace,
                            groupProgress);
                    out.narrow(0, from, n).copy_(x);
                    for (int s = 0; groupTrace != null && s < groupTrace.size(); s++) {
                        stages.get(s).narrow(0, from, n).copy_(groupTrace.get(s));
                    }
                    return groupStats;
                }
            });
        }
        how.stats().addConcurrent(RowGroups.run(tasks));
        if (how.trace() != null) {
            how.trace().addAll(stages);
        }
        return out;
    }

    /**
     * The number of row groups {@link #reverse(Tensor, Tensor, KvCache, Inversion) reverse} uses
     * for {@code rows} rows on {@code device} when asked for {@code parallelism} (0 = automatic).
     */
    public static int rowGroups(int parallelism, long rows, Device device) {
        return RowGroups.count(parallelism, rows, device);
    }

    /** One group of rows, on the calling thread: each block by the sequential decoder or GS-Jacobi. */
    private Tensor reverseRows(
            Tensor z,
            Tensor y,
            KvCache cache,
            Guidance guidance,
            JacobiStrategy strategy,
            SamplingStats stats,
            List<Tensor> trace,
            SamplingProgress progress) {
        int blocks = model.blocks().size();
        int tokens = (int) z.size(1);
        BlockInverter inverter = (i, block, x) -> {
            IntConsumer tokensDone = null;
            if (progress != null) {
                progress.startBlock(blocks - 1 - i);
                tokensDone = progress::tokens;
            }
            if (strategy == null) {
                stats.add(i, tokens - 1, tokens - 1);
                return block.reverse(x, y, guidance, cache, tokensDone);
            }
            return JacobiSolver.invert(block, i, x, y, guidance, strategy.block(i), cache, stats, tokensDone);
        };
        return model.reverse(z, inverter, trace == null ? null : trace::add);
    }

    /** Gaussian noise from a seed, times {@code temperature}. */
    static float[] noise(long seed, long n, double temperature) {
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many samples for one call: " + n + " noise values");
        }
        Random r = new Random(seed);
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (r.nextGaussian() * temperature);
        }
        return out;
    }
}
