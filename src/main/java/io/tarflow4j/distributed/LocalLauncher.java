package io.tarflow4j.distributed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code N} worker JVMs on this machine for one data-parallel run and supervises them.
 *
 * <p>Each worker runs {@code mainClass} with the same {@code java} binary, class path and JVM
 * flags as this process, and with {@code args} followed by
 * {@code --world-size N --rank R --master 127.0.0.1:PORT --threads T} (a free port is chosen;
 * {@code T} = cores / N unless given). The environment also carries them
 * ({@code TARFLOW_RANK}, {@code TARFLOW_WORLD_SIZE}, {@code TARFLOW_MASTER}) and sets
 * {@code OMP_NUM_THREADS=T} and {@code OPENBLAS_NUM_THREADS=T}. Rank 0's output is forwarded as is, the others' with a
 * {@code [R] } prefix. When a worker fails, the others are stopped and {@link #run()} returns the
 * failed worker's exit status. When the launcher itself dies, the workers follow within a moment
 * ({@link ParentWatch}: each holds a pipe from the launcher on its standard input).
 */
public final class LocalLauncher {
    private final String mainClass;
    private final List<String> args;
    private final int processes;
    private final int threadsPerProcess;
    private final CommBackend backend;
    private final Duration timeout;
    private final PrintStream out;
    private final PrintStream err;

    private LocalLauncher(Builder b) {
        this.mainClass = b.mainClass;
        this.args = List.copyOf(b.args);
        this.processes = b.processes;
        this.threadsPerProcess = b.threads > 0
                ? b.threads
                : Math.max(1, java.lang.Runtime.getRuntime().availableProcessors() / b.processes);
        this.backend = b.backend;
        this.timeout = b.timeout;
        this.out = b.out;
        this.err = b.err;
    }

    /** A launcher for {@code mainClass} (which must accept the distributed flags listed above). */
    public static Builder builder(String mainClass) {
        return new Builder(mainClass);
    }

    /** The intra-op threads each worker gets. */
    public int threadsPerProcess() {
        return threadsPerProcess;
    }

    /**
     * Starts the workers, forwards their output and waits for all of them.
     *
     * @return 0 when every worker succeeded, else the exit status of the first that failed
     * @throws IOException when a worker cannot be started
     */
    public int run() throws IOException, InterruptedException {
        int port = freePort();
        String master = "127.0.0.1:" + port;
        List<Process> workers = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        Thread cleanup = new Thread(() -> workers.forEach(LocalLauncher::stop), "tarflow-launcher-cleanup");
        java.lang.Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            for (int rank = 0; rank < processes; rank++) {
                ProcessBuilder pb = new ProcessBuilder(command(rank, master));
                Map<String, String> env = pb.environment();
                env.put(DistributedOptions.ENV_RANK, Integer.toString(rank));
                env.put(DistributedOptions.ENV_WORLD_SIZE, Integer.toString(processes));
                env.put(DistributedOptions.ENV_MASTER, master);
                env.put("OMP_NUM_THREADS", Integer.toString(threadsPerProcess));
                // OpenBLAS runs the float32 matrix products: it gets this worker's share of the
                // cores too, or N workers would each start a pool the size of the machine
                env.put("OPENBLAS_NUM_THREADS", Integer.toString(threadsPerProcess));
                // the worker exits when its standard input, held open here, closes (ParentWatch)
                env.put(ParentWatch.ENV, "1");
                Process p = pb.start();
                workers.add(p);
                String prefix = rank == 0 ? "" : "[" + rank + "] ";
                pumps.add(pump(p.getInputStream(), out, prefix));
                pumps.add(pump(p.getErrorStream(), err, prefix));
            }
            int status = supervise(workers);
            for (Thread t : pumps) {
                t.join(TimeUnit.SECONDS.toMillis(5));
            }
            return status;
        } finally {
            workers.forEach(LocalLauncher::stop);
            try {
                java.lang.Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    /** The full command line of worker {@code rank}. */
    List<String> command(int rank, String master) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // a debugger agent would make every worker listen on the same port
            if (!flag.startsWith("-agentlib:jdwp") && !flag.startsWith("-Xrunjdwp")) {
                cmd.add(flag);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        cmd.addAll(List.of(
                "--world-size",
                Integer.toString(processes),
                "--rank",
                Integer.toString(rank),
                "--master",
                master,
                "--backend",
                backend.flagValue(),
                "--dist-timeout",
                Long.toString(timeout.toSeconds()),
                "--threads",
                Integer.toString(threadsPerProcess)));
        return cmd;
    }

    /** A TCP port that is free on 127.0.0.1 right now. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private int supervise(List<Process> workers) throws InterruptedException {
        List<Process> running = new ArrayList<>(workers);
        while (!running.isEmpty()) {
            for (int i = 0; i < running.size(); i++) {
                Process p = running.get(i);
                if (!p.isAlive()) {
                    int status = p.exitValue();
                    running.remove(i--);
                    if (status != 0) {
                        int rank = workers.indexOf(p);
                        err.println("launcher: rank " + rank + " exited with status " + status + "; stopping the other "
                                + running.size() + " worker(s)");
                        running.forEach(LocalLauncher::stop);
                        return status;
                    }
                }
            }
            if (!running.isEmpty()) {
                running.get(0).waitFor(100, TimeUnit.MILLISECONDS);
            }
        }
        return 0;
    }

    private static void stop(Process p) {
        if (!p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static Thread pump(InputStream in, PrintStream to, String prefix) {
        Thread t = new Thread(
                () -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = r.readLine()) != null) {
                            synchronized (to) {
                                to.println(prefix + line);
                            }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                "tarflow-launcher-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Options of a {@link LocalLauncher}. */
    public static final class Builder {
        private final String mainClass;
        private List<String> args = List.of();
        private int processes = 1;
        private int threads;
        private CommBackend backend = CommBackend.AUTO;
        private Duration timeout = DistributedOptions.DEFAULT_TIMEOUT;
        private PrintStream out = System.out;
        private PrintStream err = System.err;

        private Builder(String mainClass) {
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        }

        /** The worker's arguments, before the distributed flags. */
        public Builder args(List<String> value) {
            this.args = List.copyOf(value);
            return this;
        }

        /** The number of workers ({@code --nproc}), at least 1. */
        public Builder processes(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("--nproc must be at least 1, got " + n);
            }
            this.processes = n;
            return this;
        }

        /** Intra-op threads per worker; 0 (the default) means cores / processes, at least 1. */
        public Builder threadsPerProcess(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("--threads must be at least 1, got " + n);
            }
            this.threads = n;
            return this;
        }

        /** The backend the workers use. */
        public Builder backend(CommBackend value) {
            this.backend = Objects.requireNonNull(value);
            return this;
        }

        /** The workers' collective timeout (whole seconds). */
        public Builder timeout(Duration value) {
            if (value.toSeconds() < 1) {
                throw new IllegalArgumentException("--dist-timeout must be at least 1 s, got " + value);
            }
            this.timeout = value;
            return this;
        }

        /** Where the workers' standard output and error go (default: this process's). */
        public Builder output(PrintStream stdout, PrintStream stderr) {
            this.out = Objects.requireNonNull(stdout);
            this.err = Objects.requireNonNull(stderr);
            return this;
        }

        /** The launcher. */
        public LocalLauncher build() {
            return new LocalLauncher(this);
        }
    }
}
