package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Device;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The model a command runs and how: {@code --model}, the {@link ModelLoadOptions} and
 * {@code --threads} (a picocli mixin). The thread default is the command's:
 * {@code @Mixin ModelOption model = new ModelOption(1);} for sampling.
 */
final class ModelOption {
    @Option(
            names = "--model",
            required = true,
            paramLabel = "CKPT",
            description = "model file: a training checkpoint, a safetensors state dict or a PyTorch .pth")
    Path path;

    @Mixin
    ModelLoadOptions loading;

    @Mixin
    ThreadsOption threads;

    /** A model run with libtorch's default threads unless {@code --threads} says otherwise. */
    ModelOption() {
        this(0);
    }

    /** A model run with {@code threads} libtorch threads unless {@code --threads} says otherwise. */
    ModelOption(int threads) {
        this.threads = new ThreadsOption(threads);
    }

    /** Sets libtorch's threads and loads the model on the CPU. */
    ModelFile.Loaded load() throws IOException {
        return load(new Device("cpu"));
    }

    /** Sets libtorch's threads and loads the model on {@code device}. */
    ModelFile.Loaded load(Device device) throws IOException {
        threads.apply();
        return loading.load(path, device);
    }
}
