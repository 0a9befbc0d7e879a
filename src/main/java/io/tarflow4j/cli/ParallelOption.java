package io.tarflow4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --parallel} flag of the sampling commands (a picocli mixin). */
final class ParallelOption {
    @Option(
            names = "--parallel",
            defaultValue = "0",
            paramLabel = "G",
            converter = Converter.class,
            description = "groups of rows of each batch sampled at the same time, one thread each; default 0 ="
                    + " one per CPU core (the rows of a batch are independent, see docs/sampling.md)")
    int groups;

    /** Parses the flag's value: 0 (automatic) or a positive number of groups. */
    static final class Converter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int g;
            try {
                g = Integer.parseInt(value.strip());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("expected a number of row groups, got '" + value + "'");
            }
            if (g < 0) {
                throw new CommandLine.TypeConversionException("expected 0 (one group per CPU core) or more, got " + g);
            }
            return g;
        }
    }
}
