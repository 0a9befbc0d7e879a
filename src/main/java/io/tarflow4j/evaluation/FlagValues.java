package io.tarflow4j.evaluation;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Enum constants as command-line values: lower-case names, parsed case-insensitively. */
final class FlagValues {
    private FlagValues() {}

    /** The value of a constant: its name in lower case. */
    static String of(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT);
    }

    /** Every value, comma-separated. */
    static String choices(Enum<?>[] constants) {
        return Arrays.stream(constants).map(FlagValues::of).collect(Collectors.joining(", "));
    }

    /**
     * The constant named {@code value}.
     *
     * @throws IllegalArgumentException naming the flag and the accepted values
     */
    static <E extends Enum<E>> E parse(E[] constants, String value, String flag) {
        for (E c : constants) {
            if (of(c).equals(value.strip().toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw new IllegalArgumentException(flag + " must be one of " + choices(constants) + ", got '" + value + "'");
    }
}
