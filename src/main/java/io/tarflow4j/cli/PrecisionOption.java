package io.tarflow4j.cli;

import io.tarflow4j.tensor.Precision;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --precision} flag of the training and evaluation commands (a picocli mixin). */
final class PrecisionOption {
    @Option(
            names = "--precision",
            paramLabel = "P",
            defaultValue = "float32",
            converter = Converter.class,
            description = "float32 (default, the reference's arithmetic) or bf16: mixed precision, the"
                    + " Transformer's products in bfloat16, attention, affine parameters, log-determinant, loss"
                    + " and weights in float32 (faster on CPUs with AVX-512 BF16; BENCHMARKS.md has its speed and"
                    + " bits/dim)")
    Precision precision;

    /** Parses the flag's value. */
    static final class Converter implements CommandLine.ITypeConverter<Precision> {
        @Override
        public Precision convert(String value) {
            try {
                return Precision.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("expected float32 or bf16, got '" + value + "'");
            }
        }
    }
}
