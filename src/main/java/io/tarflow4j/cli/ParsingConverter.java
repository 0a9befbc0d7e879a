package io.tarflow4j.cli;

import java.util.function.Function;
import picocli.CommandLine;

/**
 * A picocli converter that parses a flag's value with a library parse method, whose
 * {@link IllegalArgumentException} message becomes picocli's error for the flag.
 */
abstract class ParsingConverter<T> implements CommandLine.ITypeConverter<T> {
    private final Function<String, T> parse;

    /** A converter calling {@code parse}. */
    ParsingConverter(Function<String, T> parse) {
        this.parse = parse;
    }

    @Override
    public T convert(String value) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
