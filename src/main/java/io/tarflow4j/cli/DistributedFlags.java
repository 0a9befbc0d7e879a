package io.tarflow4j.cli;

import io.tarflow4j.distributed.CommBackend;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.distributed.LocalLauncher;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The data-parallel flags a training command mixes in ({@code @Mixin DistributedFlags dist;}):
 * {@code --nproc N} for N local worker processes, or {@code --world-size/--rank/--master} for one
 * process of a multi-machine run (the same command on every node), or the environment
 * ({@code TARFLOW_*} / torchrun's {@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT}).
 */
public final class DistributedFlags {
    @Option(
            names = "--nproc",
            paramLabel = "N|auto",
            defaultValue = "auto",
            description = {
                "start N worker processes on this machine, each with cores/N threads;",
                "auto (default for train): 2 processes on a CPU machine with 2 or more cores when the batch",
                "divides and --threads is not given (faster than one 2-thread process on small CPUs,",
                "BENCHMARKS.md), else 1"
            })
    String nprocSpec;

    /** The number of local processes once decided (null: not yet). */
    private Integer nproc;

    @Option(names = "--world-size", paramLabel = "W", description = "processes in the whole run (all machines)")
    Integer worldSize;

    @Option(
            names = "--rank",
            paramLabel = "R",
            description = "this process's rank, 0..W-1 (rank 0 hosts the rendezvous)")
    Integer rank;

    @Option(
            names = "--master",
            paramLabel = "HOST:PORT",
            description = "rank 0's address and a free port, reachable from every node")
    String master;

    @Option(
            names = "--backend",
            paramLabel = "B",
            defaultValue = "auto",
            description = "gloo (CPU), nccl (CUDA) or auto (default: nccl on CUDA, else gloo)")
    String backend;

    @Option(
            names = "--dist-timeout",
            paramLabel = "SECONDS",
            defaultValue = "60",
            description = "fail every rank when connecting or a collective takes longer (default 60)")
    long timeoutSeconds;

    /**
     * The local worker processes to start (1: none): the {@code --nproc} number, or for
     * {@code auto} what {@link #chooseProcesses} decided (1 when it was not asked).
     */
    public int processes(CommandLine commandLine) {
        if (nproc != null) {
            return nproc;
        }
        return "auto".equalsIgnoreCase(nprocSpec.strip()) ? 1 : explicitProcesses(commandLine);
    }

    /**
     * Decides the number of local processes of a training run: an explicit {@code --nproc N}, or
     * for {@code auto} two single-threaded workers on a CPU machine with at least 2 cores when the
     * global batch divides by 2 and neither {@code --threads} nor a multi-machine run was asked
     * for; otherwise one process.
     */
    public int chooseProcesses(CommandLine commandLine, int globalBatch, boolean cpu, boolean threadsGiven) {
        return chooseProcesses(commandLine, globalBatch, cpu, threadsGiven, true);
    }

    /**
     * {@link #chooseProcesses(CommandLine, int, boolean, boolean)}, choosing one process for
     * {@code auto} when two workers would not fit in memory ({@code twoFit} false: the memory
     * estimate of two processes at half the batch exceeds what the machine has available).
     */
    public int chooseProcesses(
            CommandLine commandLine, int globalBatch, boolean cpu, boolean threadsGiven, boolean twoFit) {
        if (!"auto".equalsIgnoreCase(nprocSpec.strip())) {
            nproc = explicitProcesses(commandLine);
            return nproc;
        }
        boolean multiMachine = worldSize != null
                || rank != null
                || master != null
                || DistributedOptions.fromEnvironment(System.getenv(), CommBackend.AUTO, Duration.ofSeconds(1)) != null;
        int cores = java.lang.Runtime.getRuntime().availableProcessors();
        nproc = !multiMachine && cpu && !threadsGiven && cores >= 2 && globalBatch % 2 == 0 && twoFit ? 2 : 1;
        return nproc;
    }

    private int explicitProcesses(CommandLine commandLine) {
        int n;
        try {
            n = Integer.parseInt(nprocSpec.strip());
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(
                    commandLine, "--nproc must be a number of processes or auto, got '" + nprocSpec + "'");
        }
        if (n < 1) {
            throw new CommandLine.ParameterException(commandLine, "--nproc must be at least 1, got " + n);
        }
        return n;
    }

    /** Whether this invocation should start local workers and supervise them instead of training. */
    public boolean launchesLocalWorkers(CommandLine commandLine) {
        int n = processes(commandLine);
        if (n > 1 && worldSize != null) {
            throw new CommandLine.ParameterException(
                    commandLine,
                    "--nproc starts local workers itself: do not combine it with --world-size/--rank/--master");
        }
        return n > 1;
    }

    /**
     * This process's place in a distributed run, or null for a plain single-process run.
     *
     * @throws CommandLine.ParameterException naming the flag that is wrong or missing
     */
    public DistributedOptions options(CommandLine commandLine) {
        try {
            CommBackend b = CommBackend.parse(backend);
            Duration timeout = timeout(commandLine);
            if (worldSize == null) {
                if (rank != null || master != null) {
                    throw new IllegalArgumentException("--rank and --master need --world-size");
                }
                DistributedOptions env = DistributedOptions.fromEnvironment(System.getenv(), b, timeout);
                return env == null || env.worldSize() == 1 && env.rank() == 0 ? null : env;
            }
            if (worldSize > 1 && (rank == null || master == null)) {
                throw new IllegalArgumentException(
                        "--world-size " + worldSize + " needs --rank and --master HOST:PORT");
            }
            if (worldSize == 1 && master == null) {
                return null;
            }
            return DistributedOptions.of(worldSize, rank == null ? 0 : rank, master, b, timeout);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, e.getMessage(), e);
        }
    }

    /**
     * Runs this same command line in {@code --nproc} local workers (without {@code --nproc} and
     * {@code --threads}, which the launcher replaces) and returns the exit status.
     *
     * @param threadsPerWorker intra-op threads per worker, or 0 for cores / N
     */
    public int launch(CommandLine commandLine, int threadsPerWorker) throws IOException, InterruptedException {
        List<String> args = workerArgs(commandLine.getParseResult().originalArgs());
        return LocalLauncher.builder(Main.class.getName())
                .args(args)
                .processes(processes(commandLine))
                .threadsPerProcess(threadsPerWorker)
                .backend(CommBackend.parse(backend))
                .timeout(timeout(commandLine))
                .output(WriterStream.of(commandLine.getOut()), WriterStream.of(commandLine.getErr()))
                .build()
                .run();
    }

    /**
     * The per-rank batch of a global batch of {@code globalBatch} over {@code processes} ranks.
     *
     * @throws CommandLine.ParameterException naming {@code --batch} and {@code --nproc} or
     *     {@code --world-size} when the batch does not divide evenly
     */
    public int perRankBatch(CommandLine commandLine, int globalBatch, int processes) {
        try {
            return DistributedOptions.perRankBatch(globalBatch, processes);
        } catch (IllegalArgumentException e) {
            String flag = worldSize != null ? "--world-size " + worldSize : "--nproc " + processes;
            throw new CommandLine.ParameterException(
                    commandLine,
                    e.getMessage() + " (" + flag + "; --batch is the global batch, over all processes)",
                    e);
        }
    }

    /** {@code original} without {@code --nproc} and {@code --threads} and their values. */
    static List<String> workerArgs(List<String> original) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < original.size(); i++) {
            String a = original.get(i);
            if (a.equals("--nproc") || a.equals("--threads")) {
                i++;
            } else if (!a.startsWith("--nproc=") && !a.startsWith("--threads=")) {
                out.add(a);
            }
        }
        return out;
    }

    private Duration timeout(CommandLine commandLine) {
        if (timeoutSeconds < 1) {
            throw new CommandLine.ParameterException(
                    commandLine, "--dist-timeout must be at least 1 second, got " + timeoutSeconds);
        }
        return Duration.ofSeconds(timeoutSeconds);
    }
}
