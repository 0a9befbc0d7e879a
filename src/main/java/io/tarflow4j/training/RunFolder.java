package io.tarflow4j.training;

import io.tarflow4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Chooses the folder a training run writes to, never silently reusing one that holds files:
 * {@code --resume DIR} continues in DIR; {@code --out DIR} must be new or empty; by default
 * {@code runs/PRESET}, or {@code runs/PRESET-yyyyMMdd-HHmmss} when that already holds a run.
 */
public final class RunFolder {
    private RunFolder() {}

    /**
     * The folder for {@code options}, created.
     *
     * @param runsRoot where default folders go (normally {@code runs})
     * @throws IllegalArgumentException when {@code --out} holds files or {@code --resume} holds no
     *     checkpoint
     */
    public static Path choose(TrainingOptions options, Path runsRoot) throws IOException {
        if (options.resume() != null) {
            Path dir = options.resume();
            if (!Files.isRegularFile(dir.resolve(TrainingCheckpoint.FILE))) {
                throw new IllegalArgumentException("--resume " + dir + ": no " + TrainingCheckpoint.FILE
                        + " there (expected the folder of an earlier 'tarflow train' run)");
            }
            return dir;
        }
        if (options.out() != null) {
            Path dir = options.out();
            if (!isEmptyOrAbsent(dir)) {
                throw new IllegalArgumentException("--out " + dir + " already holds files; choose a new folder,"
                        + " or continue that run with --resume " + dir);
            }
            Files.createDirectories(dir);
            return dir;
        }
        Path dir = runsRoot.resolve(options.preset());
        if (!isEmptyOrAbsent(dir)) {
            dir = runsRoot.resolve(options.preset() + "-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            int n = 2;
            while (!isEmptyOrAbsent(dir)) {
                dir = dir.resolveSibling(dir.getFileName() + "-" + n++);
            }
        }
        Files.createDirectories(dir);
        return dir;
    }

    /**
     * Takes the run folder {@code dir} (created if absent) for this process with a
     * {@link RunLock}, and deletes the temporary files an interrupted run left there, saying so.
     *
     * @param messages told about a lock taken over and the files removed
     * @throws IllegalStateException when another process holds the folder
     */
    static RunLock lock(Path dir, Consumer<String> messages) throws IOException {
        Files.createDirectories(dir);
        RunLock lock = RunLock.acquire(dir);
        if (!lock.previousHolder().isEmpty()) {
            messages.accept("run folder " + dir + ": taking over the lock of process " + lock.previousHolder()
                    + ", which ended without releasing it");
        }
        List<String> removed = new ArrayList<>(AtomicFiles.removeTemporaries(dir));
        AtomicFiles.removeTemporaries(dir.resolve("samples")).forEach(n -> removed.add("samples/" + n));
        if (Files.deleteIfExists(dir.resolve(TrainingCheckpoint.PREVIOUS + ".tmp"))) {
            removed.add(TrainingCheckpoint.PREVIOUS + ".tmp");
        }
        if (!removed.isEmpty()) {
            messages.accept("removed " + removed.size() + " temporary file(s) an interrupted run left: "
                    + String.join(", ", removed));
        }
        return lock;
    }

    private static boolean isEmptyOrAbsent(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return true;
        }
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            // a lock file alone is what an ended run (or one just starting, which the lock refuses) leaves
            return s.allMatch(p -> p.getFileName().toString().equals(RunLock.FILE));
        }
    }
}
