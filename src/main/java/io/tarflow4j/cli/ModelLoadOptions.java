package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Device;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How a command reads a model file's weights: {@code --no-ema} and {@code --allow-nonfinite} (a
 * picocli mixin, for commands that name the file themselves; {@link ModelOption} adds
 * {@code --model}).
 */
final class ModelLoadOptions {
    @Option(names = "--no-ema", description = "use the raw weights of a checkpoint that also holds EMA weights")
    boolean noEma;

    @Mixin
    NonFiniteOption nonFinite;

    /** Loads {@code model} on the CPU. */
    ModelFile.Loaded load(Path model) throws IOException {
        return load(model, new Device("cpu"));
    }

    /**
     * Loads {@code model} on {@code device}, with its EMA weights when present unless
     * {@code --no-ema}, refusing non-finite weights unless {@code --allow-nonfinite}.
     */
    ModelFile.Loaded load(Path model, Device device) throws IOException {
        return ModelFile.load(model, nonFinite.apply(new ModelFile.LoadOptions(0, 0, !noEma, device)));
    }
}
