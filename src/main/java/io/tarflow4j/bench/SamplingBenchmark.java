package io.tarflow4j.bench;

import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.SampleResult;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplingOptions;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Times {@code tarflow sample}: each step is one {@link Sampler#sample(SamplingOptions)} call, as
 * the command (or one request to the server) makes, with the noise seed {@code options.seed() + i}
 * for the i-th step (warm-up steps included), so step i gives the images of
 * {@code tarflow sample --seed S+i}.
 */
public final class SamplingBenchmark {
    private SamplingBenchmark() {}

    /**
     * What the timed steps took.
     *
     * @param millis each timed call's wall time
     * @param cpuMillis each timed call's CPU time of the whole process (less affected by other
     *     users of a shared machine than the wall time)
     * @param last the last call's images and statistics
     */
    public record Timings(List<Double> millis, List<Double> cpuMillis, SampleResult last) {
        /** Copies the lists. */
        public Timings {
            millis = List.copyOf(millis);
            cpuMillis = List.copyOf(cpuMillis);
        }
    }

    /**
     * The options of {@code tarflow sample --n B --batch B} for a model of config {@code c}: every
     * class of a conditional model (the command's default), no guidance, sequential, seed 0.
     */
    public static SamplingOptions.Builder options(TarFlowConfig c, int batch) {
        return SamplingOptions.builder()
                .count(batch)
                .batchSize(batch)
                .classes(
                        c.conditional()
                                ? IntStream.range(0, c.numClasses()).boxed().toList()
                                : List.of());
    }

    /**
     * Runs {@code warmup} untimed and {@code steps} timed calls of {@code sampler}.
     *
     * @throws IllegalArgumentException when the options do not fit the model (see
     *     {@link Sampler#validate}) or the step counts are out of range
     */
    public static Timings run(Sampler sampler, SamplingOptions options, int warmup, int steps) {
        if (warmup < 0 || steps < 1) {
            throw new IllegalArgumentException("need warmup >= 0 and steps >= 1, got " + warmup + " and " + steps);
        }
        sampler.validate(options);
        List<Double> millis = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        SampleResult last = null;
        for (int i = 0; i < warmup + steps; i++) {
            long t0 = System.nanoTime();
            long cpu0 = processCpuNanos();
            last = sampler.sample(options.withSeed(options.seed() + i));
            if (i >= warmup) {
                millis.add((System.nanoTime() - t0) / 1e6);
                cpu.add((processCpuNanos() - cpu0) / 1e6);
            }
        }
        return new Timings(millis, cpu, last);
    }

    /** CPU time of the whole process in nanoseconds (0 where the JVM does not tell). */
    public static long processCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }
}
