package io.tarflow4j.training;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A run's checkpoints (rank 0): one every {@code checkpointEvery} steps before the last, and the
 * final one, which a run that just wrote that step skips. The metadata is the recipe's
 * ({@link RecipeMetadata}).
 */
final class CheckpointJob {
    private final Path dir;
    private final TrainingOptions options;
    private final List<String> classNames;
    /** The step of the last checkpoint written by this run (-1: none). */
    private long savedStep = -1;

    CheckpointJob(Path dir, TrainingOptions options, List<String> classNames) {
        this.dir = dir;
        this.options = options;
        this.classNames = List.copyOf(classNames);
    }

    /** Whether a periodic checkpoint follows {@code step} (the last step has the final one instead). */
    boolean due(long step, long total) {
        return step != total && step % options.checkpointEvery() == 0;
    }

    /** Writes the checkpoint of {@code step} of {@code total}. */
    void save(Trainer trainer, long step, long total, double elapsedSeconds) throws IOException {
        TrainingCheckpoint.save(dir, trainer, RecipeMetadata.write(options, step, total, elapsedSeconds, classNames));
        savedStep = step;
    }

    /** The end of a run: writes the checkpoint unless this run just wrote this step. */
    void saveFinal(Trainer trainer, long step, long total, double elapsedSeconds) throws IOException {
        if (savedStep != step) {
            save(trainer, step, total, elapsedSeconds);
        }
    }

    /** The checkpoint file. */
    Path file() {
        return dir.resolve(TrainingCheckpoint.FILE);
    }
}
