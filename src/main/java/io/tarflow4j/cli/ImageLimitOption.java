package io.tarflow4j.cli;

import io.tarflow4j.data.DataOptions;
import io.tarflow4j.io.Images;
import io.tarflow4j.model.TarFlowConfig;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --max-image-pixels} flag of the commands that decode image files (a picocli mixin). */
final class ImageLimitOption {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--max-image-pixels",
            paramLabel = "N",
            description = "largest image file accepted, in pixels (width x height), checked in its header before"
                    + " decoding (default " + Images.MAX_PIXELS + ")")
    long maxPixels = Images.MAX_PIXELS;

    /** The limit, validated. */
    long pixels() {
        if (maxPixels < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--max-image-pixels must be >= 1, got " + maxPixels);
        }
        return maxPixels;
    }

    /** {@code options} with this limit. */
    DataOptions apply(DataOptions options) {
        return options.withMaxPixels(pixels());
    }

    /** The default data options with this limit, images brought to {@code model}'s size and channels. */
    DataOptions forModel(TarFlowConfig model) {
        return apply(DataOptions.defaults()).withImageSize(model.imageSize()).withChannels(model.inChannels());
    }
}
