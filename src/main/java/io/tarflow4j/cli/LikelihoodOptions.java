package io.tarflow4j.cli;

import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.Prior;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --likelihood} and {@code --prior} flags of the scoring commands (a picocli mixin). */
final class LikelihoodOptions {
    @Option(names = "--likelihood", paramLabel = "L", defaultValue = "unconditional", converter = KindConverter.class,
            description = "which density of a class-conditional model: unconditional (default: the mean class"
                    + " embedding, the reference's evaluation), marginal (mean over classes of p(x|y)), or label"
                    + " (given each image's label; labelled datasets only)")
    Likelihood likelihood;

    @Option(names = "--prior", paramLabel = "P", defaultValue = "learned", converter = PriorConverter.class,
            description = "Gaussian prior of a VP model: learned (default: the learned variance, the density the"
                    + " sampler draws from) or standard (N(0,I), the reference's bits/dim evaluation); the same for"
                    + " NVP models")
    Prior prior;

    /**
     * The likelihood for images without labels.
     *
     * @throws CommandLine.ParameterException for {@code --likelihood label}
     */
    Likelihood withoutLabels(CommandLine.Model.CommandSpec spec) {
        if (likelihood == Likelihood.LABEL) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--likelihood label needs labelled images;"
                    + " " + spec.name() + " takes unconditional or marginal");
        }
        return likelihood;
    }

    /** Parses {@code --likelihood}. */
    static final class KindConverter implements CommandLine.ITypeConverter<Likelihood> {
        @Override
        public Likelihood convert(String value) {
            try {
                return Likelihood.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** Parses {@code --prior}. */
    static final class PriorConverter implements CommandLine.ITypeConverter<Prior> {
        @Override
        public Prior convert(String value) {
            try {
                return Prior.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
