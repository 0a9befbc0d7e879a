package io.tarflow4j.cli;

import io.tarflow4j.model.Guidance;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The classifier-free guidance flags of the sampling commands (a picocli mixin). */
final class GuidanceOptions {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--cfg",
            defaultValue = "0",
            paramLabel = "W",
            description = "guidance weight (0: none), default ${DEFAULT-VALUE}")
    double cfg;

    @Option(
            names = "--guide",
            defaultValue = "both",
            paramLabel = "WHAT",
            description = "what guidance mixes: scale, shift or both, default ${DEFAULT-VALUE}")
    String guide;

    @Option(names = "--annealed", description = "anneal the guidance weight over tokens: (i+1)/(T-1) * W")
    boolean annealed;

    @Option(
            names = "--attn-temp",
            defaultValue = "1",
            paramLabel = "TAU",
            description = "attention temperature of the unguided branch, default ${DEFAULT-VALUE}")
    double attnTemp;

    /** The guidance the flags ask for, validated. */
    Guidance guidance() {
        Guidance.Target target = switch (guide.strip().toLowerCase(Locale.ROOT)) {
            case "scale", "a" -> Guidance.Target.SCALE;
            case "shift", "b" -> Guidance.Target.SHIFT;
            case "both", "ab" -> Guidance.Target.BOTH;
            default ->
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "--guide " + guide + ": expected scale, shift or both");
        };
        try {
            return new Guidance(cfg, target, attnTemp, annealed);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cfg/--attn-temp: " + e.getMessage());
        }
    }
}
