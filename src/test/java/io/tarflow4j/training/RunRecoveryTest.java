package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.data.ImageDataset;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A run folder is used by one run at a time, and what an interrupted run left is cleaned or finished. */
@Timeout(120)
class RunRecoveryTest {
    private static final ImageDataset TRAIN = TinyRuns.data(64, 1);
    private static final ImageDataset TEST = TinyRuns.data(32, 2);

    @TempDir
    Path tmp;

    /** Another process holding a run folder's lock until killed. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            RunLock lock = RunLock.acquire(Path.of(args[0]));
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
            lock.close();
        }
    }

    @Test
    void aSecondRunIsRefusedNamingTheHolderAndADeadHoldersLockIsTakenOver() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("locked"));
        String java = ProcessHandle.current().info().command().orElse("java");
        Process holder = new ProcessBuilder(
                        java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(), dir.toString())
                .redirectErrorStream(true)
                .start();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", out.readLine());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains("process " + holder.pid()), e.getMessage());
            // a run, fresh or resumed, is refused before it trains
            IllegalStateException run = assertThrows(
                    IllegalStateException.class,
                    () -> new TrainingRun(TinyRuns.options(3, dir).build(), TRAIN, null, dir, System.err, false).run());
            assertTrue(run.getMessage().contains("in use by process " + holder.pid()), run.getMessage());
            assertFalse(Files.exists(dir.resolve(TrainingCheckpoint.FILE)));
            IllegalStateException early = assertThrows(IllegalStateException.class, () -> RunLock.refuseIfHeld(dir));
            assertTrue(early.getMessage().contains("process " + holder.pid()), early.getMessage());

            holder.destroyForcibly(); // kill -9: the lock file still names it, but the OS lock is gone
            assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
            RunLock.refuseIfHeld(dir);
            assertEquals(
                    Long.toString(holder.pid()),
                    Files.readString(dir.resolve(RunLock.FILE)).strip(),
                    "the early check changes nothing");
            try (RunLock lock = RunLock.acquire(dir)) {
                assertEquals(Long.toString(holder.pid()), lock.previousHolder());
                // and this process's own second attempt is refused too
                assertThrows(IllegalStateException.class, () -> RunLock.acquire(dir));
            }
            try (RunLock again = RunLock.acquire(dir)) {
                assertEquals("", again.previousHolder(), "a released lock names no one");
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void temporaryFilesOfACrashAreRemovedAtTheNextStart() throws Exception {
        Path dir = tmp.resolve("crashed");
        TinyRuns.run(TinyRuns.options(4, dir).stopAfter(2).build(), TRAIN, null);
        List<Path> leftovers = List.of(
                dir.resolve(".checkpoint.safetensors.3f1c9a52-8a7e-4f4e-9c1e-2b9d1c0e7a11.tmp"),
                dir.resolve(TrainingCheckpoint.PREVIOUS + ".tmp"),
                Files.createDirectories(dir.resolve("samples"))
                        .resolve(".step-0000002.png.0b8f3f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b.tmp"));
        for (Path p : leftovers) {
            Files.write(p, new byte[100]);
        }
        Path userFile = Files.writeString(dir.resolve("notes.tmp"), "mine");
        TinyRuns.run(TinyRuns.options(4, null).resume(dir).build(), TRAIN, null);
        for (Path p : leftovers) {
            assertFalse(Files.exists(p), p + " removed");
        }
        assertTrue(Files.exists(userFile), "only the writer's own temporary names are removed");
    }

    @Test
    void aRunKilledBeforeItsFinalOutputsFinishesThemOnResume() throws Exception {
        Path dir = tmp.resolve("unfinished");
        TinyRuns.run(TinyRuns.options(4, dir).build(), TRAIN, TEST);
        // the state of a run killed right after its final checkpoint: no figure, no bits/dim yet
        Files.delete(dir.resolve(TrainingRun.FIGURE));
        Files.delete(dir.resolve(TrainingRun.BPD));
        TrainingRun.Summary s =
                TinyRuns.run(TinyRuns.options(4, null).resume(dir).build(), TRAIN, TEST);
        assertEquals(4, s.step());
        assertTrue(Files.isRegularFile(dir.resolve(TrainingRun.FIGURE)));
        assertTrue(Files.isRegularFile(dir.resolve(TrainingRun.BPD)));
        assertTrue(Double.isFinite(s.testBpd()));
        // once complete, resuming to the same total is refused as before
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> TinyRuns.run(TinyRuns.options(4, null).resume(dir).build(), TRAIN, TEST));
        assertTrue(e.getMessage().contains("--steps"), e.getMessage());
    }
}
