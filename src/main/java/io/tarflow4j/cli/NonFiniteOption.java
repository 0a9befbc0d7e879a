package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import picocli.CommandLine.Option;

/** The {@code --allow-nonfinite} flag of the commands that load a model (a picocli mixin). */
final class NonFiniteOption {
    @Option(
            names = "--allow-nonfinite",
            description =
                    "load a model whose weights hold NaN or infinite values (refused by default: its scores and samples would be NaN)")
    boolean allow;

    /** {@code options} accepting non-finite weights when the flag is given. */
    ModelFile.LoadOptions apply(ModelFile.LoadOptions options) {
        return options.withAllowNonFinite(allow);
    }
}
