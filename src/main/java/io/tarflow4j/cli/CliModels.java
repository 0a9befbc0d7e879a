package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.pytorch.Device;

/** Shared steps of the evaluation commands: loading a model, limiting a dataset. */
final class CliModels {
    private CliModels() {}

    /**
     * Loads a model file on the CPU, with its EMA weights when {@code ema} and present, refusing
     * non-finite weights unless {@code --allow-nonfinite}.
     */
    static ModelFile.Loaded load(Path model, boolean ema, NonFiniteOption nonFinite) throws IOException {
        return ModelFile.load(model, nonFinite.apply(new ModelFile.LoadOptions(0, 0, ema, new Device("cpu"))));
    }

    /** The first {@code limit} images of {@code data} (all when limit is 0 or not smaller). */
    static ImageDataset limit(ImageDataset data, int limit) {
        if (limit <= 0 || limit >= data.size()) {
            return data;
        }
        int len = data.imageLength();
        byte[] pixels = new byte[Math.multiplyExact(limit, len)];
        for (int i = 0; i < limit; i++) {
            System.arraycopy(data.imageBytes(i), 0, pixels, i * len, len);
        }
        ImageDataset cut = ImageDataset.unlabelled(pixels, data.channels(), data.height(), data.width());
        return data.hasLabels() ? cut.withLabels(Arrays.copyOf(data.labels(), limit), data.classNames()) : cut;
    }
}
