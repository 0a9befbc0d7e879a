package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.PeakRss;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench distributed}: data-parallel training-step throughput on Fashion-MNIST,
 * e.g. {@code --nproc 2} (2 workers x cores/2 threads) against {@code --nproc 1} (one process
 * with all cores). Every rank trains on its shard, batch / processes images per step; rank 0
 * reports the global images/s.
 */
@Command(name = "distributed", mixinStandardHelpOptions = true,
        description = {"Data-parallel training step: images/s for the global batch (median step after warm-up).",
            "Compare --nproc 2 with --nproc 1; see docs/distributed.md."})
final class BenchDistributedCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Mixin
    DistributedFlags dist;

    @Option(names = "--arch", paramLabel = "NAME", defaultValue = "mnist-toy",
            description = "mnist-toy (width 128, 4x4 layers, unconditional, batch 256) or fmnist-small (width 64, 4x2, 10 classes, batch 64)")
    String arch;

    @Option(names = "--batch", paramLabel = "B", description = "global batch (default: the architecture's)")
    Integer batch;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "10", description = "timed steps (default 10)")
    int steps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "untimed steps first (default 3)")
    int warmup;

    @Option(names = "--threads", paramLabel = "T", description = "libtorch threads in this process (default: all cores; with --nproc: cores / N)")
    Integer threads;

    @Option(names = "--json", description = "print the result as one JSON line")
    boolean json;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (steps < 1 || warmup < 0) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 1 and --warmup >= 0");
        }
        TarFlowConfig config = switch (arch) {
            case "mnist-toy" -> TarFlowConfig.of(1, 28, 4, 128, 4, 4, true, 0);
            case "fmnist-small" -> TarFlowConfig.of(1, 28, 4, 64, 4, 2, true, 10);
            default -> throw new CommandLine.ParameterException(cl, "--arch '" + arch + "': expected mnist-toy or fmnist-small");
        };
        int globalBatch = batch != null ? batch : arch.equals("mnist-toy") ? 256 : 64;
        if (dist.launchesLocalWorkers(cl)) {
            checkBatch(cl, globalBatch, dist.processes(cl));
            return dist.launch(cl, threads == null ? 0 : threads);
        }
        DistributedOptions options = dist.options(cl);
        Runtime.setThreads(threads != null ? threads : java.lang.Runtime.getRuntime().availableProcessors());
        try (Distributed group = options == null ? Distributed.single() : Distributed.init(options)) {
            int perRank = checkBatch(cl, globalBatch, group.worldSize());
            Runtime.seed(0);
            TarFlow model = new TarFlow(config);
            List<Tensor> params = new ArrayList<>(model.parameters().values());
            group.broadcast(params, 0);
            ImageDataset data = Datasets.open(Datasets.FASHION_MNIST, DataOptions.defaults());
            boolean conditional = config.numClasses() > 0;
            List<Double> times = new ArrayList<>();
            List<Double> commTimes = new ArrayList<>();
            double lastLoss = Double.NaN;
            try (AdamW optimizer = new AdamW(params, 1e-4, 0.9, 0.95, 1e-8, 1e-4);
                    BatchLoader loader = BatchLoader.builder(data).batchSize(perRank).seed(0).dropLast(true)
                            .shard(group.rank(), group.worldSize()).build()) {
                for (int step = 0; step < warmup + steps; step++) {
                    Batch b = loader.next();
                    long t0 = System.nanoTime();
                    try (NativeScope scope = NativeScope.open()) {
                        Tensor x = Tensors.fromFloats(b.images(), b.n(), 1, 28, 28);
                        Tensor y = conditional ? Tensors.labels(b.labels()) : null;
                        Tensor loss;
                        try (Autocast a = precisionOption.precision.autocast()) {
                            loss = TarFlow.loss(model.forward(x, y));
                        }
                        loss.backward();
                        long c0 = System.nanoTime();
                        group.allReduceGradients(params);
                        if (step >= warmup) {
                            commTimes.add((System.nanoTime() - c0) / 1e6);
                        }
                        optimizer.step();
                        optimizer.zeroGrad();
                        lastLoss = group.allReduceMean(Tensors.item(loss));
                    }
                    if (step >= warmup) {
                        times.add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
            if (group.isMaster()) {
                Map<String, Object> settings = new LinkedHashMap<>();
                settings.put("arch", arch);
                settings.put("global_batch", globalBatch);
                settings.put("processes", group.worldSize());
                settings.put("threads_per_process", Runtime.threads());
                settings.put("precision", precisionOption.precision.toString());
                settings.put("backend", options == null ? "none" : options.backend().resolve(false).flagValue());
                settings.put("gradient_allreduce_ms_median", Math.round(median(commTimes) * 10) / 10.0);
                settings.put("last_loss", Math.round(lastLoss * 1e4) / 1e4);
                BenchResult r = new BenchResult("train-distributed", globalBatch, times, PeakRss.megabytes(), settings);
                System.out.println(json ? r.toJson() : r.describe() + " (peak RSS of rank 0 only)");
            }
        }
        return 0;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        java.util.Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static int checkBatch(CommandLine cl, int globalBatch, int processes) {
        try {
            return DistributedOptions.perRankBatch(globalBatch, processes);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
