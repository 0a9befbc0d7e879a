package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.bench.TargetTable;
import io.tarflow4j.distributed.LocalLauncher;
import io.tarflow4j.tensor.Precision;
import io.tarflow4j.training.Preset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench all}: the performance table against the reference ({@link TargetTable}),
 * under the OpenBLAS kernel set of the environment; {@code scripts/bench-targets.sh} runs it with
 * {@code OPENBLAS_CORETYPE} as set and unset.
 */
@Command(
        name = "all",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "The performance table against the reference, under the environment's",
            "OpenBLAS kernels: mnist-toy training images/s (float32 and bf16; one process",
            "and train's default workers) and batch-1 sampling times (unguided, guided,",
            "one width-768 block), each with the reference's figure, the share of the",
            "matrix-product ceiling and the target (BENCHMARKS.md)."
        })
final class BenchAllCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--train-steps",
            paramLabel = "N",
            defaultValue = "3",
            description = "timed training steps per row, default ${DEFAULT-VALUE}")
    int trainSteps;

    @Option(
            names = "--train-warmup",
            paramLabel = "N",
            defaultValue = "1",
            description = "untimed training steps first, default ${DEFAULT-VALUE}")
    int trainWarmup;

    @Option(
            names = "--sample-steps",
            paramLabel = "N",
            defaultValue = "10",
            description = "timed batch-1 mnist-toy images per row, default ${DEFAULT-VALUE}")
    int sampleSteps;

    @Option(
            names = "--sample-warmup",
            paramLabel = "N",
            defaultValue = "2",
            description = "untimed images first, default ${DEFAULT-VALUE}")
    int sampleWarmup;

    @Option(
            names = "--large-steps",
            paramLabel = "N",
            defaultValue = "1",
            description =
                    "timed images of the width-768 block (tens of seconds each; 0 leaves the row out), default ${DEFAULT-VALUE}")
    int largeSteps;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        TargetTable.Settings settings;
        try {
            settings = new TargetTable.Settings(trainWarmup, trainSteps, sampleWarmup, sampleSteps, largeSteps);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        String table = TargetTable.measure(
                settings,
                trainDefaultProcesses(),
                BenchAllCommand::workers,
                WriterStream.of(spec.commandLine().getErr()));
        spec.commandLine().getOut().print(table);
        return 0;
    }

    /** The worker processes {@code train --preset mnist-toy} starts by default on this machine. */
    private static int trainDefaultProcesses() {
        DistributedFlags flags = new DistributedFlags();
        CommandLine parsed = new CommandLine(flags);
        parsed.parseArgs();
        return flags.chooseProcesses(parsed, Preset.MNIST_TOY.batch(), true, false);
    }

    /** {@code bench distributed --arch mnist-toy} in {@code processes} workers, as train starts them: rank 0's images/s. */
    private static double workers(int processes, Precision precision, int warmup, int steps) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = LocalLauncher.builder(Main.class.getName())
                .args(List.of(
                        "bench",
                        "distributed",
                        "--arch",
                        "mnist-toy",
                        "--warmup",
                        Integer.toString(warmup),
                        "--steps",
                        Integer.toString(steps),
                        "--precision",
                        precision.toString(),
                        "--json"))
                .processes(processes)
                .output(new PrintStream(out, true, StandardCharsets.UTF_8), System.err)
                .build()
                .run();
        String text = out.toString(StandardCharsets.UTF_8);
        if (status != 0) {
            throw new IllegalStateException(
                    "bench distributed in " + processes + " workers failed (status " + status + "): " + text);
        }
        String json = text.lines()
                .filter(l -> l.startsWith("{"))
                .reduce((a, b) -> b)
                .orElseThrow(() -> new IllegalStateException("bench distributed printed no result: " + text));
        return new ObjectMapper().readTree(json).get("images_per_s").asDouble();
    }
}
