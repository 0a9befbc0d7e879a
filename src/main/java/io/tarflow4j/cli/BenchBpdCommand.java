package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.BitsPerDimBenchmark;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.PeakRss;
import io.tarflow4j.training.Preset;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow bench bpd --preset mnist-toy [--model CKPT] [--batch 500] [--json]}. */
@Command(
        name = "bpd",
        mixinStandardHelpOptions = true,
        description = {
            "Forward-pass throughput of the bits/dim evaluation (the eval bpd code path: pixels,",
            "seeded dequantisation, exact likelihood), images/s at the median batch time after warm-up,",
            "and peak RSS ('tarflow eval bpd' with its defaults). Random weights unless --model; random 8-bit images."
        })
final class BenchBpdCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Option(
            names = "--preset",
            defaultValue = "mnist-toy",
            description = "training preset whose model gets random weights (default mnist-toy: patch 4, width 128,"
                    + " 4x4 layers, 28x28x1, 10 classes)")
    String preset;

    @Option(names = "--model", paramLabel = "CKPT", description = "benchmark this model instead of the preset")
    Path model;

    @Option(names = "--batch", defaultValue = "500", description = "images per batch (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed batches first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--steps", defaultValue = "8", description = "timed batches (default ${DEFAULT-VALUE})")
    int steps;

    @CommandLine.Mixin
    ThreadsOption threads;

    @Option(
            names = "--rows-per-pass",
            defaultValue = "0",
            description = "images per forward pass within a batch (0: automatic, bounded activation memory)")
    int rowsPerPass;

    @Option(names = "--json", description = "print one JSON object instead of a summary line")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || warmup < 0 || steps < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "need --batch >= 1, --warmup >= 0 and --steps >= 1");
        }
        threads.apply();
        TarFlow flow;
        String arch;
        if (model != null) {
            flow = io.tarflow4j.checkpoint.ModelFile.load(model).model();
            arch = model.toString();
        } else {
            try {
                TarFlowConfig config = Preset.named(preset).architecture();
                Runtime.seed(0);
                flow = new TarFlow(config);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--preset: " + e.getMessage());
            }
            arch = preset;
        }
        var c = flow.config();
        byte[] pixels = new byte[Math.multiplyExact((warmup + steps) * batch, c.dims())];
        new SplittableRandom(1).nextBytes(pixels);
        ImageDataset data = ImageDataset.unlabelled(pixels, c.inChannels(), c.imageSize(), c.imageSize());
        List<Double> times = BitsPerDimBenchmark.run(flow, data, batch, warmup, precisionOption.precision, rowsPerPass)
                .batchMillis();
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("architecture", arch);
        settings.put("batch", batch);
        settings.put("threads", Runtime.threads());
        settings.put("precision", precisionOption.precision.toString());
        settings.put("warmup", warmup);
        settings.put("rows_per_pass", rowsPerPass == 0 ? DatasetBpd.autoRowsPerPass(c) : rowsPerPass);
        BenchResult r = new BenchResult("bpd", batch, times, PeakRss.megabytes(), settings);
        spec.commandLine().getOut().println(json ? r.toJson() : r.describe());
        return 0;
    }
}
