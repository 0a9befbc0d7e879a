package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.PeakRss;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Inversion;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.sampling.RandomWeights;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.sampling.SamplingStats;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import io.tarflow4j.training.Preset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow bench sample}: sampling throughput per sampler and batch size. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sampling throughput: images/s from the median batch time after warm-up, peak RSS.",
            "Without --model, an architecture preset with random weights, every parameter perturbed",
            "by N(0, 0.02^2) so that no block is the identity (a fresh model's zero proj_out would let",
            "Jacobi converge in one pass)."})
final class BenchSampleCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--preset", defaultValue = "mnist-toy", paramLabel = "NAME",
            description = "architecture of a training preset (mnist-toy, fmnist-small, imagenet64, imagenet128, afhq256),"
                    + " default ${DEFAULT-VALUE}")
    String preset;

    @Option(names = "--blocks", paramLabel = "N",
            description = "with --preset: only N flow blocks (time per block of a large preset without building all of it)")
    Integer blocks;

    @Option(names = "--model", paramLabel = "CKPT", description = "benchmark this model instead of a preset")
    Path model;

    @Option(names = "--batch", split = ",", defaultValue = "64", paramLabel = "B", description = "batch sizes, comma-separated, default ${DEFAULT-VALUE}")
    List<Integer> batches;

    @Option(names = "--sampler", split = ",", defaultValue = "sequential,jacobi", paramLabel = "KIND", description = "samplers, comma-separated, default ${DEFAULT-VALUE}")
    List<String> samplers;

    @Option(names = "--cfg", defaultValue = "0", paramLabel = "W", description = "guidance weight, default ${DEFAULT-VALUE}")
    double cfg;

    @Option(names = "--attn-temp", defaultValue = "1", paramLabel = "TAU", description = "unguided branch attention temperature, default ${DEFAULT-VALUE}")
    double attnTemp;

    @Option(names = "--strategy", paramLabel = "FILE", description = "GS-Jacobi strategy file (default: the built-in default)")
    Path strategyFile;

    @Option(names = "--steps", defaultValue = "5", paramLabel = "N", description = "timed batches, default ${DEFAULT-VALUE}")
    int steps;

    @Option(names = "--warmup", defaultValue = "1", paramLabel = "N", description = "untimed batches first, default ${DEFAULT-VALUE}")
    int warmup;

    @Option(names = "--threads", defaultValue = "1", paramLabel = "N",
            description = "libtorch intra-op threads, default ${DEFAULT-VALUE}: sampling runs many small ops, and on a"
                    + " shared 2-core machine 2 threads measured 10x slower than 1 (see docs/sampling.md)")
    Integer threads;

    @CommandLine.Mixin
    ParallelOption parallel;

    @Option(names = "--json", description = "one JSON object per line")
    boolean json;

    @Override
    public Integer call() throws IOException {
        if (steps < 1 || warmup < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--steps must be >= 1 and --warmup >= 0");
        }
        if (threads != null) {
            Runtime.setThreads(threads);
        }
        if (blocks != null && (blocks < 1 || model != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--blocks must be >= 1 and goes with --preset, not --model");
        }
        TarFlowConfig arch;
        try {
            arch = preset(preset, blocks);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--preset: " + e.getMessage());
        }
        TarFlow m = model != null ? ModelFile.load(model).model() : RandomWeights.perturbed(arch, 1, 0.02);
        TarFlowConfig c = m.config();
        Guidance guidance = Guidance.of(cfg, attnTemp);
        JacobiStrategy strategy = strategyFile != null ? JacobiStrategy.read(strategyFile)
                : JacobiStrategy.defaultFor(c.numBlocks(), c.numTokens());
        Sampler sampler = new Sampler(m);
        for (String kindName : samplers) {
            SamplerType kind;
            try {
                kind = SamplerType.parse(kindName);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--sampler: " + e.getMessage());
            }
            for (int batch : batches) {
                if (batch < 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
                }
                BenchResult r = run(m, sampler, kind, kind == SamplerType.JACOBI ? strategy : null, guidance, batch);
                System.out.println(json ? r.toJson() : r.describe());
            }
        }
        return 0;
    }

    private BenchResult run(TarFlow m, Sampler sampler, SamplerType kind, JacobiStrategy strategy, Guidance guidance,
            int batch) {
        TarFlowConfig c = m.config();
        int tokens = c.numTokens();
        int dim = c.tokenDim();
        List<Double> millis = new ArrayList<>();
        List<Double> cpuMillis = new ArrayList<>();
        SamplingStats stats = new SamplingStats(c.numBlocks());
        Random labels = new Random(5);
        try (NativeScope outer = NativeScope.open()) {
            KvCache cache = KvCache.forModel(m, guidance.active() ? 2L * batch : batch);
            for (int step = 0; step < warmup + steps; step++) {
                float[] noise = new float[batch * tokens * dim];
                Random r = new Random(1000 + step);
                for (int i = 0; i < noise.length; i++) {
                    noise[i] = (float) r.nextGaussian();
                }
                int[] y = new int[batch];
                for (int i = 0; i < batch; i++) {
                    y[i] = c.conditional() ? labels.nextInt(c.numClasses()) : 0;
                }
                try (NativeScope s = NativeScope.open()) {
                    Tensor z = m.place(Tensors.fromFloats(noise, batch, tokens, dim));
                    Tensor yt = c.conditional() ? Tensors.labels(y) : null;
                    long t0 = System.nanoTime();
                    long cpu0 = processCpuNanos();
                    Tensor images = sampler.reverse(z, yt, cache, new Inversion(guidance, strategy, parallel.groups,
                            step >= warmup ? stats : new SamplingStats(c.numBlocks()), null, null));
                    Tensors.toFloats(images);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (step >= warmup) {
                        millis.add(ms);
                        cpuMillis.add((processCpuNanos() - cpu0) / 1e6);
                        stats.addBatchCount();
                    }
                }
            }
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("model", model != null ? model.toString()
                : preset + (blocks != null ? " x " + blocks + " block(s)" : "") + " (random, perturbed)");
        settings.put("sampler", kind.name().toLowerCase(Locale.ROOT));
        settings.put("batch", batch);
        settings.put("cfg", cfg);
        settings.put("attn_temp", attnTemp);
        settings.put("threads", Runtime.threads());
        settings.put("row_groups", Sampler.rowGroups(parallel.groups, batch, m.device()));
        if (strategy != null) {
            settings.put("strategy", strategyFile != null ? strategyFile.toString() : "default");
        }
        settings.put("passes", stats.describe());
        cpuMillis.sort(null);
        settings.put("cpu_ms_per_step", Math.round(cpuMillis.get(cpuMillis.size() / 2)));
        return new BenchResult("sample", batch, millis, PeakRss.megabytes(), settings);
    }

    /**
     * CPU time of the whole process: on a shared machine the wall time depends on the other
     * users, the CPU time much less.
     */
    static long processCpuNanos() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }

    /**
     * A training preset's architecture for random-weight speed runs, class-conditional (10
     * classes where the preset takes its count from the data), with {@code blocks} flow blocks
     * when not null.
     */
    static TarFlowConfig preset(String name, Integer blocks) {
        Preset p = Preset.named(name);
        return TarFlowConfig.of(p.channels(), p.imageSize(), p.patchSize(), p.width(), blocks != null ? blocks : p.blocks(),
                p.layersPerBlock(), true, p.numClasses() > 0 ? p.numClasses() : 10);
    }
}
