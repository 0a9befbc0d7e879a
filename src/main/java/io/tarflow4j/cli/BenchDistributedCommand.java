package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.TrainingBenchmark;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.PeakRss;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench distributed}: the throughput of {@code tarflow train --preset ARCH} in
 * the processes it starts by default ({@code --nproc auto}, as {@code train}), or in
 * {@code --nproc N} workers, or as one rank of a multi-machine run. Every rank trains on its
 * shard of every global batch ({@link TrainingBenchmark}); rank 0 reports the global images/s.
 */
@Command(
        name = "distributed",
        mixinStandardHelpOptions = true,
        description = {
            "Data-parallel training step: images/s for the global batch (median step after warm-up).",
            "Runs the steps of 'tarflow train --preset ARCH --steps WARMUP+STEPS' in the processes train would use",
            "(--nproc auto) or --nproc N; compare with --nproc 1; see docs/distributed.md."
        })
final class BenchDistributedCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Mixin
    DistributedFlags dist;

    @Option(
            names = "--arch",
            paramLabel = "NAME",
            defaultValue = "mnist-toy",
            description = "training preset on the bundled Fashion-MNIST: mnist-toy (width 128, 4x4 layers, batch 256)"
                    + " or fmnist-small (width 64, 4x2, batch 64); both class-conditional as in train")
    String arch;

    @Option(names = "--batch", paramLabel = "B", description = "global batch (default: the preset's)")
    Integer batch;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "10", description = "timed steps (default 10)")
    int steps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "untimed steps first (default 3)")
    int warmup;

    @Option(
            names = "--threads",
            paramLabel = "T",
            description = "libtorch threads in this process (default: the" + " preset's; with --nproc: cores / N)")
    Integer threads;

    @Option(names = "--unconditional", description = "train without labels")
    boolean unconditional;

    @Option(names = "--json", description = "print the result as one JSON line")
    boolean json;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (steps < 1 || warmup < 0) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 1 and --warmup >= 0");
        }
        TrainingOptions.Builder b =
                BenchTrainCommand.builder(cl, "--arch", arch).steps(warmup + steps);
        if (batch != null) b.batch(batch);
        if (threads != null) b.threads(threads);
        if (unconditional) b.conditional(false);
        b.precision(precisionOption.precision);
        TrainingOptions o = BenchTrainCommand.build(cl, b);
        dist.chooseProcesses(cl, o.batch(), true, threads != null);
        if (dist.launchesLocalWorkers(cl)) {
            dist.perRankBatch(cl, o.batch(), dist.processes(cl));
            return dist.launch(cl, threads == null ? 0 : threads);
        }
        DistributedOptions options = dist.options(cl);
        try (Distributed group = options == null
                ? Distributed.single()
                : Distributed.init(options, Runtime.device(o.device()), Distributed.DEFAULT_BUCKET_BYTES)) {
            dist.perRankBatch(cl, o.batch(), group.worldSize());
            TrainingBenchmark.Timings t = TrainingBenchmark.run(o, TrainingRun.openData(o.data(), o), group, warmup);
            if (group.isMaster()) {
                Map<String, Object> settings = new LinkedHashMap<>();
                settings.put("arch", arch);
                settings.put("global_batch", o.batch());
                settings.put("processes", group.worldSize());
                settings.put("threads_per_process", Runtime.threads());
                settings.put("precision", o.precision().toString());
                settings.put("conditional", t.config().conditional());
                settings.put(
                        "backend",
                        options == null
                                ? "none"
                                : options.backend().resolve(false).flagValue());
                settings.put(
                        "gradient_allreduce_ms_median", Math.round(BenchResult.median(t.reduceMillis()) * 10) / 10.0);
                settings.put("last_loss", t.lastLoss());
                BenchResult r =
                        new BenchResult("train-distributed", o.batch(), t.stepMillis(), PeakRss.megabytes(), settings);
                spec.commandLine().getOut().println(json ? r.toJson() : r.describe() + " (peak RSS of rank 0 only)");
            }
        }
        return 0;
    }
}
