package io.tarflow4j.sampling;

import io.tarflow4j.model.Guidance;
import java.util.List;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * How {@link Sampler#reverse} inverts one batch of prior noise, and what it reports to.
 *
 * @param guidance classifier-free guidance (or {@link Guidance#NONE})
 * @param strategy the GS-Jacobi strategy, or null for the sequential sampler
 * @param parallelism groups of rows inverted at the same time on their own threads (0: one per
 *     CPU core on the CPU, one on a GPU)
 * @param stats receives the passes of every block
 * @param trace if not null, receives the unpatchified noise and the image after each block
 * @param progress if not null, told the block and tokens done (by the first group of rows)
 */
public record Inversion(
        Guidance guidance,
        JacobiStrategy strategy,
        int parallelism,
        SamplingStats stats,
        List<Tensor> trace,
        SamplingProgress progress) {

    /** Validates the settings. */
    public Inversion {
        Objects.requireNonNull(guidance, "guidance");
        Objects.requireNonNull(stats, "stats");
        if (parallelism < 0) {
            throw new IllegalArgumentException("parallelism must be >= 0 (0 = automatic), got " + parallelism);
        }
    }

    /** The sequential sampler with automatic row groups, no trace and no progress. */
    public static Inversion sequential(Guidance guidance, SamplingStats stats) {
        return new Inversion(guidance, null, 0, stats, null, null);
    }

    /** This inversion with the GS-Jacobi {@code strategy} (null: sequential). */
    public Inversion withStrategy(JacobiStrategy strategy) {
        return new Inversion(guidance, strategy, parallelism, stats, trace, progress);
    }

    /** This inversion with {@code parallelism} row groups (0: automatic). */
    public Inversion withParallelism(int parallelism) {
        return new Inversion(guidance, strategy, parallelism, stats, trace, progress);
    }

    /** This inversion adding the image after each stage to {@code trace}. */
    public Inversion withTrace(List<Tensor> trace) {
        return new Inversion(guidance, strategy, parallelism, stats, trace, progress);
    }

    /** This inversion reporting to {@code progress}. */
    public Inversion withProgress(SamplingProgress progress) {
        return new Inversion(guidance, strategy, parallelism, stats, trace, progress);
    }

    /** KV cache rows per image: a guided and an unguided branch when guidance is active. */
    long cacheRowsPerImage() {
        return guidance.active() ? 2 : 1;
    }
}
