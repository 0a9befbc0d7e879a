package io.tarflow4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --batch} flag: images per batch (a picocli mixin). The default is the command's:
 * {@code @Mixin BatchOption batch = new BatchOption(500);}.
 */
final class BatchOption {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--batch", paramLabel = "B", description = "images per batch, default ${DEFAULT-VALUE}")
    int size;

    /** A flag whose default is {@code size} images. */
    BatchOption(int size) {
        this.size = size;
    }

    /** The batch size, validated. */
    int size() {
        if (size < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + size);
        }
        return size;
    }
}
