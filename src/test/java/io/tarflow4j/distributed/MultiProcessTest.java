package io.tarflow4j.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.AdamW;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real worker JVMs on 127.0.0.1, started by {@link LocalLauncher} (or directly, to watch one rank fail). */
@Timeout(120)
class MultiProcessTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private LocalLauncher launcher(String scenario, int seconds) {
        return LocalLauncher.builder(DistributedTestWorker.class.getName())
                .args(List.of(scenario, dir.toString()))
                .processes(2)
                .threadsPerProcess(1)
                .backend(CommBackend.GLOO)
                .timeout(Duration.ofSeconds(seconds))
                .output(
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8))
                .build();
    }

    private String output() {
        return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    }

    private record Result(double[] losses, double[] params) {}

    private static Result read(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            double[] losses = new double[in.readInt()];
            for (int i = 0; i < losses.length; i++) {
                losses[i] = in.readDouble();
            }
            double[] params = new double[in.readInt()];
            for (int i = 0; i < params.length; i++) {
                params[i] = in.readDouble();
            }
            return new Result(losses, params);
        }
    }

    @Test
    void twoProcessesOnHalfBatchesMatchOneProcessOnTheWholeBatch() throws Exception {
        int status = launcher("train", 30).run();
        assertEquals(0, status, output());
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertTrue(stdout.lines().anyMatch(l -> l.equals("rank 0 done")), stdout);
        assertTrue(stdout.lines().anyMatch(l -> l.equals("[1] rank 1 done")), stdout);

        Result rank0 = read(dir.resolve("rank0.bin"));
        Result rank1 = read(dir.resolve("rank1.bin"));
        assertArrayEquals(rank0.params(), rank1.params(), 0.0, "replicas diverged");
        assertArrayEquals(rank0.losses(), rank1.losses(), 0.0);

        // one process, the same initial weights (rank 0's seed), the whole global batch per step
        TarFlow model = TinyTraining.model(17);
        double[] initial = TinyTraining.flatParameters(model);
        double[] losses = new double[TinyTraining.STEPS];
        try (AdamW optimizer = TinyTraining.optimizer(model);
                Distributed single = Distributed.single()) {
            for (int step = 0; step < TinyTraining.STEPS; step++) {
                losses[step] = TinyTraining.step(model, optimizer, TinyTraining.globalBatch(step), single);
            }
        }
        double[] expected = TinyTraining.flatParameters(model);
        assertEquals(expected.length, rank0.params().length);
        double maxDiff = 0;
        double maxMoved = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - rank0.params()[i]));
            maxMoved = Math.max(maxMoved, Math.abs(expected[i] - initial[i]));
        }
        System.out.printf(
                "2 processes vs 1 process: max |param diff| %.3e (weights moved up to %.3e)%n", maxDiff, maxMoved);
        assertTrue(maxMoved > 1e-3, "training moved the weights by at most " + maxMoved);
        assertTrue(maxDiff < 1e-9, "2 processes vs 1: max parameter difference " + maxDiff);
        assertArrayEquals(losses, rank0.losses(), 1e-12);

        // rank 1 started from other weights: the broadcast is what made the replicas equal
        double[] rank1Initial = TinyTraining.flatParameters(TinyTraining.model(1017));
        assertTrue(Math.abs(rank1Initial[0] - initial[0]) + Math.abs(rank1Initial[5] - initial[5]) > 0);
    }

    @Test
    void aKilledRankEndsTheOtherWithAClearErrorWithinTheTimeout() throws Exception {
        LocalLauncher l = launcher("stall", 20);
        String master = "127.0.0.1:" + LocalLauncher.freePort();
        List<Process> ps = new ArrayList<>();
        try {
            for (int rank = 0; rank < 2; rank++) {
                ps.add(new ProcessBuilder(l.command(rank, master))
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("out" + rank + ".txt").toFile())
                        .start());
            }
            Path rank1 = dir.resolve("out1.txt");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(rank1).contains("rank 1 first all-reduce done")) {
                assertTrue(ps.get(1).isAlive() && System.nanoTime() < deadline, Files.readString(rank1));
                Thread.sleep(50);
            }
            ps.get(1).destroyForcibly(); // SIGKILL while rank 0 waits in its next all-reduce
            long t0 = System.nanoTime();
            assertTrue(ps.get(0).waitFor(25, TimeUnit.SECONDS), "rank 0 still running 25 s after rank 1 was killed");
            double seconds = (System.nanoTime() - t0) / 1e9;
            String log = Files.readString(dir.resolve("out0.txt"));
            assertEquals(1, ps.get(0).exitValue(), log);
            assertTrue(log.contains("error: rank 0: all-reduce failed"), log);
            System.out.printf("rank 0 failed %.2f s after rank 1 was killed (timeout 20 s)%n", seconds);
            assertTrue(seconds < 20, "rank 0 took " + seconds + " s to fail");
        } finally {
            ps.forEach(Process::destroyForcibly);
        }
    }

    @Test
    void aBarrierWithItsOwnTimeoutOutwaitsRankZerosLongWork() throws Exception {
        int status = launcher("slowmaster", 2).run(); // rank 0 works alone for 4 s; collectives time out after 2 s
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, output());
        assertTrue(stdout.contains("rank 0 mean rank 0.5") && stdout.contains("[1] rank 1 mean rank 0.5"), output());
        assertTrue(
                stdout.lines().anyMatch(l -> l.matches("\\[1\\] rank 1 waited [3-9]\\.\\d s at the barrier")),
                output());
    }

    @Test
    void launcherStopsTheOthersAndReturnsTheFailedStatus() throws Exception {
        long t0 = System.nanoTime();
        int status = launcher("fail", 20).run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(7, status, output());
        assertTrue(
                err.toString(StandardCharsets.UTF_8)
                        .contains("launcher: rank 1 exited with status 7; stopping the other 1 worker(s)"),
                output());
        assertTrue(seconds < 60, "took " + seconds + " s (rank 0 sleeps 120 s unless stopped)");
    }
}
