package io.tarflow4j.cli;

import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.Prior;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The {@code --likelihood} and {@code --prior} flags of the scoring commands (a picocli mixin). */
final class LikelihoodOptions {
    @Option(
            names = "--likelihood",
            paramLabel = "L",
            defaultValue = "unconditional",
            converter = KindConverter.class,
            description = "which density of a class-conditional model: unconditional (default: the mean class"
                    + " embedding, the reference's evaluation), marginal (mean over classes of p(x|y)), or label"
                    + " (given each image's label; labelled datasets only)")
    Likelihood likelihood;

    @Mixin
    PriorOption prior;

    /** The Gaussian prior {@code --prior} names. */
    Prior prior() {
        return prior.prior;
    }

    /**
     * The likelihood for images without labels.
     *
     * @throws CommandLine.ParameterException for {@code --likelihood label}
     */
    Likelihood withoutLabels(CommandLine.Model.CommandSpec spec) {
        if (likelihood == Likelihood.LABEL) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--likelihood label needs labelled images;" + " " + spec.name()
                            + " takes unconditional or marginal");
        }
        return likelihood;
    }

    /** Parses {@code --likelihood}. */
    static final class KindConverter extends ParsingConverter<Likelihood> {
        KindConverter() {
            super(Likelihood::parse);
        }
    }
}
