package io.tarflow4j.cli;

import io.tarflow4j.bench.BenchResult;
import io.tarflow4j.bench.PeakRss;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.training.LearningRateSchedule;
import io.tarflow4j.training.MemoryEstimate;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.Trainer;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import io.tarflow4j.tensor.Runtime;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench train}: training throughput of a preset's model on its data (the bundled
 * Fashion-MNIST for fmnist-small and mnist-toy): untimed warm-up steps, then timed steps, each a
 * full training step (batch to tensors, noise, forward, loss, backward, AdamW); reports the
 * median step time, images/s and peak RSS.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Training throughput: median ms/step after warm-up, images/s, peak RSS.",
            "Every step is a full training step on the preset's data (batches from the background loader)."})
final class BenchTrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "fmnist-small", description = "model and recipe (default fmnist-small)")
    String preset;

    @Option(names = "--data", paramLabel = "SPEC", description = "data (default: the preset's)")
    String data;

    @Option(names = "--batch", paramLabel = "B", description = "images per step (default: the preset's)")
    Integer batch;

    @Option(names = "--threads", paramLabel = "T", description = "libtorch threads (default: the preset's; fmnist-small 1, others all cores)")
    Integer threads;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "20", description = "timed steps (default 20)")
    int steps;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "5", description = "untimed warm-up steps (default 5)")
    int warmup;

    @Option(names = "--unconditional", description = "train without labels")
    boolean unconditional;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu (default) or cuda[:N]")
    String device;

    @Option(names = "--activation-checkpointing", description = "recompute each Transformer layer in the backward pass (less memory)")
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
        Preset p;
        try {
            p = Preset.named(preset);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--preset: " + e.getMessage());
        }
        TrainingOptions.Builder b = TrainingOptions.builder(p).steps(warmup + steps).device(device);
        if (data != null) b.data(data);
        if (batch != null) b.batch(batch);
        if (threads != null) b.threads(threads);
        if (unconditional) b.conditional(false);
        b.precision(precisionOption.precision).activationCheckpointing(activationCheckpointing);
        TrainingOptions o;
        try {
            o = b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        ImageDataset train;
        try {
            train = TrainingRun.openData(o.data(), o);
        } catch (IOException e) {
            throw new IOException("--data " + o.data() + ": " + e.getMessage(), e);
        }
        Runtime.setThreads(o.threads());
        TarFlowConfig config = new TarFlowConfig(train.channels(), train.height(), o.patchSize(), o.width(),
                o.layersPerBlock(), o.headDim(), 4, o.nvp(),
                o.conditional() && train.hasLabels() ? train.numClasses() : 0);
        Runtime.seed(o.seed());
        TarFlow model = new TarFlow(config, Runtime.device(o.device()), ScalarType.Float);
        LearningRateSchedule schedule = new LearningRateSchedule(o.lr(), o.warmupSteps(), Math.max(o.steps(), o.warmupSteps()));
        List<Double> times = new ArrayList<>();
        try (Trainer trainer = new Trainer(model, o);
                BatchLoader loader = BatchLoader.builder(train).batchSize(o.batch()).seed(o.seed()).build()) {
            for (int i = 1; i <= warmup + steps; i++) {
                Batch batch = loader.next();
                long t = System.nanoTime();
                trainer.step(i, batch, schedule);
                if (i > warmup) {
                    times.add((System.nanoTime() - t) / 1e6);
                }
            }
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("preset", o.preset());
        settings.put("model", config.describe());
        settings.put("parameters", config.parameterCount());
        settings.put("batch", o.batch());
        settings.put("threads", o.threads());
        settings.put("precision", o.precision().toString());
        settings.put("activation_checkpointing", o.activationCheckpointing());
        settings.put("estimated_memory_mib", MemoryEstimate.of(config, o.batch(), false, o.activationCheckpointing())
                .total() >> 20);
        settings.put("warmup_steps", warmup);
        settings.put("device", o.device());
        BenchResult r = new BenchResult("train", o.batch(), times, PeakRss.megabytes(), settings);
        System.out.println(json ? r.toJson() : r.describe());
        return 0;
    }
}
