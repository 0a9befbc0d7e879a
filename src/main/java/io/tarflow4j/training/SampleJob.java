package io.tarflow4j.training;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's sample figures (rank 0): a grid under {@code samples/step-NNNNNNN.png} every
 * {@code sampleEvery} steps before the last, and the final figure {@value TrainingRun#FIGURE};
 * none with {@code --no-samples}.
 */
final class SampleJob {
    private final Path dir;
    private final TrainingOptions options;
    private final int denoiseBatch;
    private final ProgressLine progress;
    /** Estimated seconds of the final figure (set by {@link #estimate}). */
    private double figureSeconds = Double.NaN;

    /**
     * @param denoiseBatch images denoised at a time: a training step's share of this process
     */
    SampleJob(Path dir, TrainingOptions options, int denoiseBatch, ProgressLine progress) {
        this.dir = dir;
        this.options = options;
        this.denoiseBatch = denoiseBatch;
        this.progress = progress;
    }

    /** Whether a sample grid follows {@code step} (the last step has the final figure instead). */
    boolean due(long step, long total) {
        return step != total && options.samples() && options.sampleEvery() > 0 && step % options.sampleEvery() == 0;
    }

    /** Writes the grid of {@code step}. */
    void writeGrid(Trainer trainer, long step) throws IOException {
        Path png = dir.resolve("samples").resolve(String.format("step-%07d.png", step));
        Files.createDirectories(png.getParent());
        SampleFigure.write(
                png,
                trainer.evaluationModel(),
                options.noise(),
                false,
                TrainingRun.SAMPLE_SEED,
                denoiseBatch,
                options.activationCheckpointing());
        progress.message("step " + step + ": samples written to " + png);
    }

    /**
     * What the figures will cost, as phrases for the end-of-run announcement (none with
     * {@code --no-samples}), from {@code imageSeconds}, a training step's time per image.
     */
    List<String> estimate(TarFlow model, double imageSeconds) {
        List<String> work = new ArrayList<>();
        if (!options.samples()) {
            return work;
        }
        TarFlowConfig c = model.config();
        figureSeconds = SampleFigure.estimateSeconds(model, options.noise(), true, imageSeconds);
        work.add("sample figure (" + SampleFigure.describe(c, options.noise(), true) + ") about "
                + ProgressLine.duration(figureSeconds));
        if (options.sampleEvery() > 0) {
            work.add("a sample grid (" + SampleFigure.describe(c, options.noise(), false) + ") every "
                    + options.sampleEvery() + " steps, about "
                    + ProgressLine.duration(SampleFigure.estimateSeconds(model, options.noise(), false, imageSeconds))
                    + " each");
        }
        return work;
    }

    /** Writes the final figure and returns it, or null with {@code --no-samples}. */
    Path writeFigure(Trainer trainer) throws IOException {
        if (!options.samples()) {
            return null;
        }
        progress.message(
                "sampling the figure (" + SampleFigure.describe(trainer.model().config(), options.noise(), true)
                        + ", about " + ProgressLine.duration(figureSeconds) + "; --no-samples skips it)");
        Path figure = dir.resolve(TrainingRun.FIGURE);
        List<String> panels = SampleFigure.write(
                figure,
                trainer.evaluationModel(),
                options.noise(),
                true,
                TrainingRun.SAMPLE_SEED,
                denoiseBatch,
                options.activationCheckpointing());
        progress.message("samples: " + figure + " (panels: " + String.join(" | ", panels) + ")");
        return figure;
    }
}
