package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.SamplingBenchmark;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.sampling.RandomWeights;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.sampling.SamplingOptions;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.PeakRss;
import io.tarflow4j.training.Preset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench sample}: sampling throughput per sampler and batch size; each timed batch
 * is one {@code tarflow sample --n B --batch B} call ({@link SamplingBenchmark}).
 */
@Command(
        name = "sample",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Sampling throughput: images/s from the median batch time after warm-up, peak RSS.",
            "Without --model, an architecture preset with random weights, every parameter perturbed",
            "by N(0, 0.02^2) so that no block is the identity (a fresh model's zero proj_out would let",
            "Jacobi converge in one pass)."
        })
final class BenchSampleCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--preset",
            defaultValue = "mnist-toy",
            paramLabel = "NAME",
            description =
                    "architecture of a training preset (mnist-toy, fmnist-small, imagenet64, imagenet128, afhq256),"
                            + " default ${DEFAULT-VALUE}")
    String preset;

    @Option(
            names = "--blocks",
            paramLabel = "N",
            description =
                    "with --preset: only N flow blocks (time per block of a large preset without building all of it)")
    Integer blocks;

    @Option(names = "--model", paramLabel = "CKPT", description = "benchmark this model instead of a preset")
    Path model;

    @Option(
            names = "--batch",
            split = ",",
            defaultValue = "64",
            paramLabel = "B",
            description = "batch sizes, comma-separated, default ${DEFAULT-VALUE}")
    List<Integer> batches;

    @Option(
            names = "--sampler",
            split = ",",
            defaultValue = "sequential,jacobi",
            paramLabel = "KIND",
            description = "samplers, comma-separated, default ${DEFAULT-VALUE}")
    List<String> samplers;

    @CommandLine.Mixin
    GuidanceOptions guidance;

    @Option(
            names = "--strategy",
            paramLabel = "FILE",
            description = "GS-Jacobi strategy file (default: the built-in default)")
    Path strategyFile;

    @Option(
            names = "--steps",
            defaultValue = "5",
            paramLabel = "N",
            description = "timed batches, default ${DEFAULT-VALUE}")
    int steps;

    @Option(
            names = "--warmup",
            defaultValue = "1",
            paramLabel = "N",
            description = "untimed batches first, default ${DEFAULT-VALUE}")
    int warmup;

    @CommandLine.Mixin
    ThreadsOption threads = new ThreadsOption(1);

    @CommandLine.Mixin
    ParallelOption parallel;

    @Option(names = "--json", description = "one JSON object per line")
    boolean json;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "S",
            description =
                    "noise seed of the first batch (batch i: S+i, as 'tarflow sample --seed S+i'), default ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        if (steps < 1 || warmup < 0) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 1 and --warmup >= 0");
        }
        threads.apply();
        if (blocks != null && (blocks < 1 || model != null)) {
            throw new CommandLine.ParameterException(cl, "--blocks must be >= 1 and goes with --preset, not --model");
        }
        TarFlowConfig arch;
        try {
            arch = preset(preset, blocks);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--preset: " + e.getMessage());
        }
        TarFlow m = model != null ? ModelFile.load(model).model() : RandomWeights.perturbed(arch, 1, 0.02);
        TarFlowConfig c = m.config();
        JacobiStrategy strategy = strategyFile != null ? JacobiStrategy.read(strategyFile) : null;
        Sampler sampler = new Sampler(m);
        for (String kindName : samplers) {
            SamplerType kind;
            try {
                kind = SamplerType.parse(kindName);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--sampler: " + e.getMessage());
            }
            for (int batch : batches) {
                SamplingOptions options;
                try {
                    options = options(c, kind, strategy, batch);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, "--batch " + batch + ": " + e.getMessage());
                }
                SamplingBenchmark.Timings t;
                try {
                    t = SamplingBenchmark.run(sampler, options, warmup, steps);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, e.getMessage());
                }
                BenchResult r = result(m, options, t);
                spec.commandLine().getOut().println(json ? r.toJson() : r.describe());
            }
        }
        return 0;
    }

    /**
     * What {@code tarflow sample --n B --batch B} with these flags asks of a model of config
     * {@code c}: every class of a conditional model, the guidance, sampler and seed.
     */
    SamplingOptions options(TarFlowConfig c, SamplerType kind, JacobiStrategy strategy, int batch) {
        Guidance g = guidance.guidance();
        return SamplingBenchmark.options(c, batch)
                .guidance(g.weight())
                .guideTarget(g.target())
                .attnTemp(g.attnTemp())
                .annealed(g.annealed())
                .sampler(kind)
                .strategy(kind == SamplerType.JACOBI ? strategy : null)
                .seed(seed)
                .parallelism(parallel.groups)
                .build();
    }

    private BenchResult result(TarFlow m, SamplingOptions o, SamplingBenchmark.Timings t) {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put(
                "model",
                model != null
                        ? model.toString()
                        : preset + (blocks != null ? " x " + blocks + " block(s)" : "") + " (random, perturbed)");
        settings.put("sampler", o.sampler().name().toLowerCase(Locale.ROOT));
        settings.put("batch", o.batchSize());
        settings.put("cfg", o.guidance().weight());
        settings.put("attn_temp", o.guidance().attnTemp());
        settings.put("seed", seed);
        settings.put("threads", Runtime.threads());
        settings.put("row_groups", Sampler.rowGroups(parallel.groups, o.batchSize(), m.device()));
        if (o.sampler() == SamplerType.JACOBI) {
            settings.put("strategy", strategyFile != null ? strategyFile.toString() : "default");
        }
        settings.put("passes", t.last().stats().describe());
        settings.put("cpu_ms_per_step", Math.round(BenchResult.median(t.cpuMillis())));
        return new BenchResult("sample", o.batchSize(), t.millis(), PeakRss.megabytes(), settings);
    }

    /**
     * A training preset's model ({@link Preset#architecture()}) for random-weight speed runs,
     * with {@code blocks} flow blocks when not null.
     */
    static TarFlowConfig preset(String name, Integer blocks) {
        TarFlowConfig c = Preset.named(name).architecture();
        return blocks == null ? c : c.withBlocks(blocks);
    }
}
