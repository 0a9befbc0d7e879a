package io.tarflow4j.sampling;

import io.tarflow4j.tensor.BlasThreads;
import io.tarflow4j.tensor.Runtime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.pytorch.Device;

/**
 * Splits a sampling batch into groups of rows that are inverted at the same time on their own
 * threads. Rows of a batch never interact while sampling, so each group is a complete sampling
 * problem with its own slice of the KV cache, and the result is the same as one group's.
 *
 * <p>Why: sequential decoding runs thousands of small operations per batch (one token of every
 * layer at a time), and each costs a fixed few microseconds of dispatch besides its arithmetic;
 * one thread per core, each with half the rows, halves both. libtorch's own intra-op threads
 * do not help here: its operations at these sizes stay single-threaded.
 */
final class RowGroups {
    private static final AtomicInteger THREAD_NUMBER = new AtomicInteger();
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "tarflow-sampler-" + THREAD_NUMBER.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private RowGroups() {}

    /**
     * The number of groups for {@code rows} rows: {@code requested} when positive (capped by the
     * rows), otherwise on the CPU one per core not already used by libtorch's intra-op threads
     * (cores / threads), and one on a GPU.
     */
    static int count(int requested, long rows, Device device) {
        if (requested < 0) {
            throw new IllegalArgumentException("parallel row groups must be >= 0 (0 = automatic), got " + requested);
        }
        int cores = java.lang.Runtime.getRuntime().availableProcessors();
        int wanted =
                requested > 0 ? requested : device.is_cpu() ? Math.max(1, cores / Math.max(1, Runtime.threads())) : 1;
        return (int) Math.max(1, Math.min(wanted, rows));
    }

    /** First row of each of {@code groups} near-equal groups of {@code rows} rows, plus {@code rows} at the end. */
    static long[] bounds(long rows, int groups) {
        long[] b = new long[groups + 1];
        for (int g = 0; g <= groups; g++) {
            b[g] = rows * g / groups;
        }
        return b;
    }

    /**
     * Runs the tasks at the same time, each on its own thread, with OpenBLAS limited to one
     * thread per call meanwhile, and returns their results in order. A task's exception is
     * rethrown here (after every task has finished).
     */
    static <T> List<T> run(List<Callable<T>> tasks) {
        List<Future<T>> futures = new ArrayList<>();
        try (BlasThreads one = BlasThreads.limit(1)) {
            for (Callable<T> task : tasks) {
                futures.add(POOL.submit(task));
            }
            // wait for every task even when interrupted: a task still running uses views of the
            // caller's tensors, which must outlive it
            List<T> results = new ArrayList<>();
            RuntimeException failure = null;
            boolean interrupted = false;
            for (Future<T> f : futures) {
                while (true) {
                    try {
                        results.add(f.get());
                        break;
                    } catch (ExecutionException e) {
                        if (failure == null) {
                            failure = e.getCause() instanceof RuntimeException r
                                    ? r
                                    : new IllegalStateException(
                                            "sampling thread failed: " + e.getCause(), e.getCause());
                        }
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while sampling");
            }
            if (failure != null) {
                throw failure;
            }
            return results;
        }
    }
}
