package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.training.MetricsLog;
import io.tarflow4j.training.NoiseSpec;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.ProgressLine;
import io.tarflow4j.training.RunFolder;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench parity}: the learning-parity benchmark. Trains the reference recipe on
 * the bundled Fashion-MNIST (mnist-toy architecture, unconditional, uniform dequantisation,
 * batch 256, AdamW (0.9, 0.95) lr 2e-3 wd 1e-4, warm-up 234 steps, cosine over 936 steps, seed
 * 100) and measures the test bits/dim on all 10,000 test images after steps 312, 624 and 936,
 * next to the reference's 6.400 / 4.874 / 4.288 (parity: within 0.03). It is the same as
 * {@code tarflow train --preset mnist-toy --unconditional --noise uniform --batch 256 --lr 2e-3
 * --warmup 234 --steps 936 --seed 100 --eval-at 312,624 --eval-batch 500}, which also takes
 * {@code --nproc 2} for two worker processes.
 */
@Command(
        name = "parity",
        mixinStandardHelpOptions = true,
        description = {
            "Learning parity with the reference recipe on Fashion-MNIST: test bits/dim after steps",
            "312, 624 and 936 (reference 6.400 / 4.874 / 4.288; about an hour on 2 cores)."
        })
final class BenchParityCommand implements Callable<Integer> {
    /** The reference's test bits/dim after steps 312, 624 and 936. */
    static final Map<Long, Double> REFERENCE = Map.of(312L, 6.400, 624L, 4.874, 936L, 4.288);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Option(
            names = "--out",
            paramLabel = "DIR",
            description = "run folder (default runs/parity or a fresh dated folder)")
    Path out;

    @Option(
            names = "--stop-after",
            paramLabel = "N",
            description = "stop after step N (the schedule still spans 936 steps), e.g. to check speed")
    Long stopAfter;

    @Option(names = "--threads", paramLabel = "T", description = "libtorch threads (default: all cores)")
    Integer threads;

    @Option(
            names = "--seed",
            paramLabel = "S",
            defaultValue = "100",
            description = "seed of initialisation, data order and noise (default 100, the reference run's; other seeds"
                    + " show the run-to-run spread)")
    long seed;

    @Option(
            names = "--eval-batch",
            paramLabel = "B",
            defaultValue = "500",
            description = "evaluation batch (default 500)")
    int evalBatch;

    @Override
    public Integer call() throws IOException {
        TrainingOptions.Builder b = TrainingOptions.builder(parityPreset())
                .conditional(false)
                .noise(NoiseSpec.uniform())
                .dropLabel(0)
                .batch(256)
                .lr(2e-3)
                .warmupSteps(234)
                .steps(936)
                .seed(seed)
                .evalAt(List.of(312L, 624L))
                .evalBatch(evalBatch)
                .sampleEvery(0)
                .checkpointEvery(312)
                .out(out);
        if (stopAfter != null) b.stopAfter(stopAfter);
        if (threads != null) b.threads(threads);
        b.precision(precisionOption.precision);
        TrainingOptions o;
        try {
            o = b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        ImageDataset train = TrainingRun.openData(o.data(), o);
        ImageDataset test = TrainingRun.openData(o.testData(), o);
        Path dir = RunFolder.choose(o, Path.of("runs"));
        TrainingRun.Summary s = new TrainingRun(
                        o,
                        train,
                        test,
                        dir,
                        WriterStream.of(spec.commandLine().getErr()),
                        ProgressLine.stderrIsTerminal())
                .run();
        spec.commandLine().getOut().println("step  test bits/dim  reference  difference");
        for (JsonNode n : MetricsLog.read(dir.resolve(MetricsLog.FILE))) {
            if (n.get("event").asText().equals("eval")) {
                long step = n.get("step").asLong();
                double ours = n.get("test_bpd").asDouble();
                Double ref = REFERENCE.get(step);
                spec.commandLine()
                        .getOut()
                        .printf(
                                "%4d  %13.3f  %9s  %10s%n",
                                step,
                                ours,
                                ref == null ? "-" : String.format("%.3f", ref),
                                ref == null ? "-" : String.format("%+.3f", ours - ref));
            }
        }
        spec.commandLine()
                .getOut()
                .printf("trained %d steps, %.1f images/s, run folder %s%n", s.step(), s.imagesPerSecond(), s.dir());
        return 0;
    }

    /** mnist-toy's architecture under the name {@code parity} (the run folder's default name). */
    private static Preset parityPreset() {
        return Preset.MNIST_TOY.toBuilder("parity")
                .classes(Preset.MNIST_TOY.numClasses(), false)
                .length(936, 0)
                .noise(NoiseSpec.uniform(), 0)
                .sampleEvery(0)
                .build();
    }
}
