package io.tarflow4j.distributed;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.Runtime;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A worker process for the multi-process tests, started by {@link LocalLauncher} or directly:
 * {@code SCENARIO OUT_DIR --world-size N --rank R --master H:P --backend B --dist-timeout S --threads T}.
 *
 * <ul>
 *   <li>{@code train}: rank-specific initial weights, broadcast from rank 0, {@link TinyTraining#STEPS}
 *       steps on this rank's half of each global batch; writes {@code rankR.bin} (losses, then
 *       parameters, as doubles).
 *   <li>{@code stall}: one all-reduce, then rank 1 sleeps for a minute without calling any
 *       collective (the test kills it, or lets rank 0's next all-reduce time out) while rank 0
 *       calls another all-reduce, which must fail.
 *   <li>{@code fail}: rank 1 exits with status 7 at once; rank 0 sleeps (the launcher must stop it).
 *   <li>{@code slowmaster}: rank 0 works alone for twice the collective timeout while rank 1
 *       waits at a barrier with a 60 s timeout of its own; then both all-reduce.
 * </ul>
 */
public final class DistributedTestWorker {
    private DistributedTestWorker() {}

    /** Runs one scenario; exits 0 on success, 1 with an {@code error: } line on a distributed failure. */
    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        Path out = Path.of(args[1]);
        Map<String, String> flags = new HashMap<>();
        for (int i = 2; i + 1 < args.length; i += 2) {
            flags.put(args[i], args[i + 1]);
        }
        Runtime.setThreads(Integer.parseInt(flags.get("--threads")));
        DistributedOptions options = DistributedOptions.of(
                Integer.parseInt(flags.get("--world-size")),
                Integer.parseInt(flags.get("--rank")),
                flags.get("--master"),
                CommBackend.parse(flags.get("--backend")),
                Duration.ofSeconds(Long.parseLong(flags.get("--dist-timeout"))));
        try (Distributed dist = Distributed.init(options)) {
            switch (scenario) {
                case "train" -> train(dist, out);
                case "stall" -> stall(dist);
                case "slowmaster" -> slowMaster(dist, options.timeout());
                case "fail" -> {
                    if (dist.rank() == 1) {
                        System.exit(7);
                    }
                    Thread.sleep(120_000);
                }
                default -> throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } catch (DistributedException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
        System.out.println("rank " + options.rank() + " done");
    }

    private static void train(Distributed dist, Path out) throws IOException {
        TarFlow model = TinyTraining.model(17 + 1000L * dist.rank());
        try (AdamW optimizer = TinyTraining.optimizer(model)) {
            dist.broadcast(TinyTraining.parameters(model), 0);
            int perRank = DistributedOptions.perRankBatch(TinyTraining.GLOBAL_BATCH, dist.worldSize());
            double[] losses = new double[TinyTraining.STEPS];
            for (int step = 0; step < TinyTraining.STEPS; step++) {
                float[] mine = TinyTraining.slice(TinyTraining.globalBatch(step), dist.rank() * perRank, perRank);
                losses[step] = TinyTraining.step(model, optimizer, mine, dist);
            }
            double[] params = TinyTraining.flatParameters(model);
            Path file = out.resolve("rank" + dist.rank() + ".bin");
            try (DataOutputStream d = new DataOutputStream(Files.newOutputStream(file))) {
                d.writeInt(losses.length);
                for (double l : losses) {
                    d.writeDouble(l);
                }
                d.writeInt(params.length);
                for (double p : params) {
                    d.writeDouble(p);
                }
            }
        }
    }

    private static void slowMaster(Distributed dist, Duration timeout) throws InterruptedException {
        if (dist.isMaster()) {
            Thread.sleep(2 * timeout.toMillis());
        }
        long t0 = System.nanoTime();
        dist.barrier(Duration.ofSeconds(60));
        System.out.printf("rank %d waited %.1f s at the barrier%n", dist.rank(), (System.nanoTime() - t0) / 1e9);
        double mean = dist.allReduceMean((double) dist.rank());
        System.out.println("rank " + dist.rank() + " mean rank " + mean);
    }

    private static void stall(Distributed dist) throws InterruptedException {
        dist.allReduceMean((double) dist.rank());
        System.out.println("rank " + dist.rank() + " first all-reduce done");
        if (dist.rank() == 1) {
            Thread.sleep(60_000);
            return;
        }
        long t0 = System.nanoTime();
        try {
            dist.allReduceMean(1.0);
        } finally {
            System.out.printf("rank 0 second all-reduce returned after %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }
}
