package io.tarflow4j.cli;

import io.tarflow4j.tensor.Runtime;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --threads} flag of the commands that run a model (a picocli mixin). The default is
 * the command's: {@code @Mixin ThreadsOption threads = new ThreadsOption(1);} for sampling.
 */
final class ThreadsOption {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "libtorch intra-op threads, default ${DEFAULT-VALUE} (0: libtorch's default, one per core;"
                    + " sampling runs many small operations and defaults to 1, see docs/sampling.md)")
    int threads;

    /** libtorch's default thread count. */
    ThreadsOption() {
        this(0);
    }

    /** {@code threads} unless the flag says otherwise (0: libtorch's default). */
    ThreadsOption(int threads) {
        this.threads = threads;
    }

    /** Sets libtorch's thread count when the flag (or the command's default) asks for one. */
    void apply() {
        if (threads < 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--threads must be >= 0 (0: libtorch's" + " default), got " + threads);
        }
        if (threads > 0) {
            Runtime.setThreads(threads);
        }
    }
}
