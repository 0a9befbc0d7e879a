package io.tarflow4j.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Workers end with their launcher: {@code kill -9} of the launcher leaves no orphan running. */
@Timeout(60)
class LauncherKillTest {

    /** A launcher process: two {@link Sleeper} workers, supervised until killed. */
    public static final class Launcher {
        public static void main(String[] args) throws Exception {
            System.exit(LocalLauncher.builder(Sleeper.class.getName())
                    .args(List.of(args[0]))
                    .processes(2)
                    .threadsPerProcess(1)
                    .build()
                    .run());
        }
    }

    /** A worker that would run forever: it records its process id, then sleeps. */
    public static final class Sleeper {
        public static void main(String[] args) throws Exception {
            ParentWatch.startIfLaunched(System.getenv(), System.in, System.err);
            String rank = System.getenv(DistributedOptions.ENV_RANK);
            Path tmp = Path.of(args[0], "worker-" + rank + ".tmp");
            Files.writeString(tmp, Long.toString(ProcessHandle.current().pid()), StandardCharsets.US_ASCII);
            Files.move(tmp, Path.of(args[0], "worker-" + rank + ".pid"));
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @Test
    void killingTheLauncherStopsEveryWorkerWithinSeconds(@TempDir Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process launcher = new ProcessBuilder(
                        java, "-cp", System.getProperty("java.class.path"), Launcher.class.getName(), dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("launcher.log").toFile())
                .start();
        List<ProcessHandle> workers = new ArrayList<>();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (int rank = 0; rank < 2; rank++) {
                Path pid = dir.resolve("worker-" + rank + ".pid");
                while (!Files.exists(pid)) {
                    assertTrue(
                            System.nanoTime() < deadline && launcher.isAlive(),
                            "workers did not start: " + Files.readString(dir.resolve("launcher.log")));
                    Thread.sleep(50);
                }
                Optional<ProcessHandle> h =
                        ProcessHandle.of(Long.parseLong(Files.readString(pid).strip()));
                assertTrue(h.isPresent() && h.get().isAlive(), "worker " + rank + " runs");
                workers.add(h.get());
            }
            Thread.sleep(300);
            assertTrue(
                    workers.stream().allMatch(ProcessHandle::isAlive), "workers keep running while the launcher lives");

            launcher.destroyForcibly(); // SIGKILL: no shutdown hook of the launcher runs
            assertTrue(launcher.waitFor(10, TimeUnit.SECONDS));
            long killed = System.nanoTime();
            for (ProcessHandle w : workers) {
                w.onExit().get(10, TimeUnit.SECONDS);
                assertFalse(w.isAlive());
            }
            double seconds = (System.nanoTime() - killed) / 1e9;
            assertTrue(seconds < 5, "workers ended " + seconds + " s after the launcher");
            assertTrue(Files.readString(dir.resolve("launcher.log")).isEmpty()
                    || !Files.readString(dir.resolve("launcher.log")).contains("Exception"));
        } finally {
            launcher.destroyForcibly();
            workers.forEach(ProcessHandle::destroyForcibly);
        }
        assertEquals(2, workers.size());
    }
}
