package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.TrainingBenchmark;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.training.MemoryEstimate;
import io.tarflow4j.training.PeakRss;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench train}: training throughput of {@code tarflow train --steps W+N} in one
 * process ({@link TrainingBenchmark}): W untimed warm-up steps, then N timed steps; reports the
 * median step time, images/s, peak RSS and the last loss (the train command's at step W+N).
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Training throughput: median ms/step after warm-up, images/s, peak RSS.",
            "Runs the steps of 'tarflow train --steps WARMUP+STEPS' with the same flags, in one process."
        })
final class BenchTrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Option(
            names = "--preset",
            paramLabel = "NAME",
            defaultValue = "fmnist-small",
            description = "model and recipe (default fmnist-small)")
    String preset;

    @Option(names = "--data", paramLabel = "SPEC", description = "data (default: the preset's)")
    String data;

    @Option(names = "--batch", paramLabel = "B", description = "images per step (default: the preset's)")
    Integer batch;

    @Option(
            names = "--threads",
            paramLabel = "T",
            description = "libtorch threads (default: the preset's; fmnist-small 1, others all cores)")
    Integer threads;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "20", description = "timed steps (default 20)")
    int steps;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "5", description = "untimed warm-up steps (default 5)")
    int warmup;

    @Option(names = "--unconditional", description = "train without labels")
    boolean unconditional;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu (default) or cuda[:N]")
    String device;

    @Option(
            names = "--activation-checkpointing",
            description = "recompute each Transformer layer in the backward pass (less memory)")
    boolean activationCheckpointing;

    @Option(names = "--json", description = "print one JSON object instead of a sentence")
    boolean json;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        if (steps < 1) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 1, got " + steps);
        }
        if (warmup < 0) {
            throw new CommandLine.ParameterException(cl, "--warmup must be >= 0, got " + warmup);
        }
        TrainingOptions.Builder b =
                builder(cl, "--preset", preset).steps(warmup + steps).device(device);
        if (data != null) b.data(data);
        if (batch != null) b.batch(batch);
        if (threads != null) b.threads(threads);
        if (unconditional) b.conditional(false);
        b.precision(precisionOption.precision).activationCheckpointing(activationCheckpointing);
        TrainingOptions o = build(cl, b);
        ImageDataset train;
        try {
            train = TrainingRun.openData(o.data(), o);
        } catch (IOException e) {
            throw new IOException("--data " + o.data() + ": " + e.getMessage(), e);
        }
        TrainingBenchmark.Timings t;
        try {
            t = TrainingBenchmark.run(o, train, Distributed.single(), warmup);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        TarFlowConfig config = t.config();
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("preset", o.preset());
        settings.put("model", config.describe());
        settings.put("parameters", config.parameterCount());
        settings.put("batch", o.batch());
        settings.put("threads", o.threads());
        settings.put("precision", o.precision().toString());
        settings.put("activation_checkpointing", o.activationCheckpointing());
        settings.put(
                "estimated_memory_mib",
                MemoryEstimate.of(config, o.batch(), false, o.activationCheckpointing())
                                .total()
                        >> 20);
        settings.put("warmup_steps", warmup);
        settings.put("device", o.device());
        settings.put("last_loss", t.lastLoss());
        BenchResult r = new BenchResult("train", o.batch(), t.stepMillis(), PeakRss.megabytes(), settings);
        spec.commandLine().getOut().println(json ? r.toJson() : r.describe());
        return 0;
    }

    /** The training options of preset {@code name}, named by {@code flag} when unknown. */
    static TrainingOptions.Builder builder(CommandLine cl, String flag, String name) {
        try {
            return TrainingOptions.builder(Preset.named(name));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, flag + ": " + e.getMessage());
        }
    }

    /** The options {@code b} holds, validated with a message naming the flag. */
    static TrainingOptions build(CommandLine cl, TrainingOptions.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
