package io.tarflow4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tarflow bench all|train|sample|bpd|loader|...}: throughput and memory benchmarks (see BENCHMARKS.md). */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks: images/s, median ms per step after warm-up, peak RSS.",
        subcommands = {
            BenchTrainCommand.class,
            BenchParityCommand.class,
            BenchSampleCommand.class,
            BenchBpdCommand.class,
            BenchMatmulCommand.class,
            BenchDistributedCommand.class,
            BenchLoaderCommand.class,
            BenchAllCommand.class
        })
final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(),
                "choose a benchmark: all, train, distributed, sample, bpd, matmul, loader or parity");
    }
}
