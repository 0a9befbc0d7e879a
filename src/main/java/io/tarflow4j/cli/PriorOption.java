package io.tarflow4j.cli;

import io.tarflow4j.evaluation.Prior;
import picocli.CommandLine.Option;

/** The {@code --prior} flag of the likelihood commands (a picocli mixin). */
final class PriorOption {
    @Option(
            names = "--prior",
            paramLabel = "P",
            defaultValue = "learned",
            converter = Converter.class,
            description = "Gaussian prior of a VP model: learned (default: the learned variance, the density the"
                    + " sampler draws from) or standard (N(0,I), the reference's bits/dim evaluation); the same for"
                    + " NVP models")
    Prior prior;

    /** Parses {@code --prior}. */
    static final class Converter extends ParsingConverter<Prior> {
        Converter() {
            super(Prior::parse);
        }
    }
}
