package io.tarflow4j.cli;

import io.tarflow4j.data.ImageDataset;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --limit} flag of the evaluations: the first N images of each dataset (a picocli mixin). */
final class LimitOption {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--limit",
            defaultValue = "0",
            paramLabel = "N",
            description = "use the first N images of each dataset only (0: all)")
    int limit;

    /** The number of images, validated (0: all). */
    int count() {
        if (limit < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0, got " + limit);
        }
        return limit;
    }

    /** The first {@code --limit} images of {@code data}. */
    ImageDataset apply(ImageDataset data) {
        return first(data, count());
    }

    /** The first {@code n} images of {@code data} (all when n is 0 or not smaller). */
    static ImageDataset first(ImageDataset data, int n) {
        if (n <= 0 || n >= data.size()) {
            return data;
        }
        int len = data.imageLength();
        byte[] pixels = new byte[Math.multiplyExact(n, len)];
        for (int i = 0; i < n; i++) {
            System.arraycopy(data.imageBytes(i), 0, pixels, i * len, len);
        }
        ImageDataset cut = ImageDataset.unlabelled(pixels, data.channels(), data.height(), data.width());
        return data.hasLabels() ? cut.withLabels(Arrays.copyOf(data.labels(), n), data.classNames()) : cut;
    }
}
