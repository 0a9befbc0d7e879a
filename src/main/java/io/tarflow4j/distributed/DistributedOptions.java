package io.tarflow4j.distributed;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One process's place in a data-parallel run: how many ranks there are, which one this is,
 * where rank 0's rendezvous store listens, the backend and the timeout for every collective.
 *
 * <p>The same command runs on every node with its own {@code rank}; rank 0 listens on
 * {@code masterHost:masterPort} and the others connect to it (the torchrun model).
 *
 * @param worldSize number of processes, at least 1
 * @param rank this process, in {@code [0, worldSize)}
 * @param masterHost host name or address of rank 0 as the other ranks reach it
 * @param masterPort TCP port of rank 0's store, 1..65535
 * @param backend collective backend
 * @param timeout how long connecting and any collective may take before every rank fails
 */
public record DistributedOptions(
        int worldSize, int rank, String masterHost, int masterPort, CommBackend backend, Duration timeout) {
    /** The default timeout: long enough for a slow step on a busy machine, short enough not to look hung. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /** Environment variables the {@link LocalLauncher} sets in each worker (torchrun's names are also read). */
    public static final String ENV_RANK = "TARFLOW_RANK";
    /** See {@link #ENV_RANK}. */
    public static final String ENV_WORLD_SIZE = "TARFLOW_WORLD_SIZE";
    /** See {@link #ENV_RANK}: {@code host:port}. */
    public static final String ENV_MASTER = "TARFLOW_MASTER";

    /** Validates every field with a message naming the flag. */
    public DistributedOptions {
        if (worldSize < 1) {
            throw new IllegalArgumentException("--world-size must be at least 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException(
                    "--rank must be in [0, " + worldSize + ") for --world-size " + worldSize + ", got " + rank);
        }
        Objects.requireNonNull(masterHost, "masterHost");
        if (masterHost.isBlank()) {
            throw new IllegalArgumentException("--master needs a host, got an empty one");
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException("--master port must be in 1..65535, got " + masterPort);
        }
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--dist-timeout must be positive, got " + timeout);
        }
    }

    /**
     * Options from command-line values.
     *
     * @param master {@code host:port} (IPv6 as {@code [addr]:port})
     */
    public static DistributedOptions of(int worldSize, int rank, String master, CommBackend backend, Duration timeout) {
        HostPort hp = HostPort.parse(master);
        return new DistributedOptions(worldSize, rank, hp.host(), hp.port(), backend, timeout);
    }

    /**
     * Options from environment variables: {@code TARFLOW_RANK}, {@code TARFLOW_WORLD_SIZE} and
     * {@code TARFLOW_MASTER}, else torchrun's {@code RANK}, {@code WORLD_SIZE},
     * {@code MASTER_ADDR} and {@code MASTER_PORT}. Returns null when no world size is set.
     */
    public static DistributedOptions fromEnvironment(Map<String, String> env, CommBackend backend, Duration timeout) {
        String world = firstOf(env, ENV_WORLD_SIZE, "WORLD_SIZE");
        if (world == null) {
            return null;
        }
        String rank = firstOf(env, ENV_RANK, "RANK");
        String master = env.get(ENV_MASTER);
        if (master == null && env.get("MASTER_ADDR") != null) {
            master = env.get("MASTER_ADDR") + ":" + env.getOrDefault("MASTER_PORT", "29500");
        }
        if (rank == null || master == null) {
            throw new IllegalArgumentException("the environment sets a world size (" + world + ") but not "
                    + (rank == null ? ENV_RANK + " or RANK" : ENV_MASTER + " or MASTER_ADDR/MASTER_PORT"));
        }
        return of(parseInt(world, ENV_WORLD_SIZE), parseInt(rank, ENV_RANK), master, backend, timeout);
    }

    /** The master as {@code host:port} (IPv6 bracketed). */
    public String master() {
        return new HostPort(masterHost, masterPort).toString();
    }

    /** Whether this is rank 0, which logs, evaluates and writes checkpoints. */
    public boolean isMaster() {
        return rank == 0;
    }

    /**
     * The batch each rank trains on for a global batch of {@code globalBatch} images.
     *
     * @throws IllegalArgumentException when the global batch does not divide evenly
     */
    public int perRankBatch(int globalBatch) {
        return perRankBatch(globalBatch, worldSize);
    }

    /** {@link #perRankBatch(int)} for a given world size. */
    public static int perRankBatch(int globalBatch, int worldSize) {
        if (globalBatch < 1 || globalBatch % worldSize != 0) {
            throw new IllegalArgumentException("--batch " + globalBatch + " must be a positive multiple of the "
                    + worldSize + " processes (each trains on batch / processes images); use e.g. --batch "
                    + Math.max(worldSize, globalBatch / worldSize * worldSize));
        }
        return globalBatch / worldSize;
    }

    private static String firstOf(Map<String, String> env, String a, String b) {
        String v = env.get(a);
        return v != null ? v : env.get(b);
    }

    private static int parseInt(String value, String name) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + value + "'");
        }
    }
}
