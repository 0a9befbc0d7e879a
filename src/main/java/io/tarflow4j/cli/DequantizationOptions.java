package io.tarflow4j.cli;

import io.tarflow4j.evaluation.Dequantizer;
import picocli.CommandLine.Option;

/**
 * How the likelihood commands turn 8-bit pixels into continuous values: {@code --seed} and
 * {@code --center} (a picocli mixin).
 */
final class DequantizationOptions {
    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "S",
            description = "dequantisation noise seed (the noise derived from it and each image),"
                    + " default ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--center", description = "dequantise at the bin centres (u = 0.5) instead of with seeded noise")
    boolean center;

    /** The dequantiser the flags ask for. */
    Dequantizer dequantizer() {
        return center ? Dequantizer.center() : Dequantizer.uniform(seed);
    }

    /** The dequantisation, as the JSON reports state it. */
    String describe() {
        return Dequantizer.describe(center, seed);
    }
}
