package io.tarflow4j.serve;

import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.sampling.SamplingOptions;
import io.tarflow4j.sampling.SamplingProgress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place the server generates samples: it turns a {@link SampleRequest} into
 * {@link SamplingOptions} and runs the sampling package's {@link Sampler} (sequential, or
 * GS-Jacobi with the served model's strategy), which draws the noise, runs guidance, denoises and
 * keeps the trace. This class only names the trace stages and keeps the images the page shows.
 *
 * <p>The noise is the sampler's: {@code java.util.Random(seed).nextGaussian()} for all images in
 * order, times the noise temperature. It holds no global state (no libtorch generator), but must
 * still run on the model worker's single thread, which owns the model.
 */
public final class SampleGenerator {
    /** The most images each trace stage shows. */
    public static final int TRACE_IMAGES = 8;

    private static final Logger LOG = LoggerFactory.getLogger(SampleGenerator.class);

    private final ServedModel served;
    private final Sampler sampler;
    private final Duration reportEvery;
    private volatile SamplingProgress.Snapshot progress; // of the running or last request

    /** A generator for the served model. */
    public SampleGenerator(ServedModel served) {
        this(served, SamplingProgress.REPORT_EVERY);
    }

    /** A generator that logs a long request's progress at most every {@code reportEvery}. */
    SampleGenerator(ServedModel served, Duration reportEvery) {
        this.served = served;
        this.sampler = new Sampler(served.model());
        this.reportEvery = reportEvery;
    }

    /**
     * Where the running (or last) long request stands: batch, block, token, time left; empty
     * until a request has sampled for {@link SamplingProgress#ESTIMATE_AFTER}. Safe from any thread.
     */
    public Optional<SamplingProgress.Snapshot> progress() {
        return Optional.ofNullable(progress);
    }

    /** The sampling package's options for a request: one batch of {@code request.batch()} images. */
    public SamplingOptions options(SampleRequest request) {
        return SamplingOptions.builder()
                .count(request.batch())
                .batchSize(request.batch())
                .classes(request.classLabel() == null ? List.of() : List.of(request.classLabel()))
                .guidance(request.guidance().weight())
                .guideTarget(request.guidance().target())
                .attnTemp(request.guidance().attnTemp())
                .annealed(request.guidance().annealed())
                .noiseTemperature(request.noiseTemperature())
                .seed(request.seed())
                .sampler(request.sampler())
                .strategy(request.sampler() == SamplerType.JACOBI ? served.strategy() : null)
                .denoise(request.denoise())
                .sigma(served.sigma())
                .trace(request.trace())
                .build();
    }

    /** Samples the request's images. Call on the model worker thread. */
    public SampleResult sample(SampleRequest request) {
        long start = System.nanoTime();
        TarFlowConfig c = served.config();
        progress = null;
        io.tarflow4j.sampling.SampleResult r = sampler.sample(options(request), reportEvery, snapshot -> {
            progress = snapshot;
            String line = snapshot.line();
            if (line != null) {
                LOG.info(line);
            }
        });
        int n = r.count();
        int traceCount = request.trace() ? Math.min(n, TRACE_IMAGES) : 0;
        List<SampleResult.Stage> trace = new ArrayList<>();
        int blocks = c.numBlocks();
        for (int s = 0; s < r.trace().size(); s++) {
            String name = s == 0 ? "noise" : s <= blocks ? "after block " + s + " of " + blocks : "denoised";
            trace.add(new SampleResult.Stage(name, Arrays.copyOf(r.trace().get(s), traceCount * r.imageSize())));
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        return new SampleResult(r.images(), n, r.channels(), r.height(), trace, traceCount, millis);
    }
}
