package io.tarflow4j.tensor;

/**
 * OpenBLAS's thread count, changed for a region and restored on {@link #close()}.
 *
 * <p>This libtorch build hands float32 matrix products to OpenBLAS, whose threads are set by
 * {@code OPENBLAS_NUM_THREADS} (the launcher gives it every core: one large product then uses
 * them all). Code that runs several products at once on its own threads, such as the sampler's
 * parallel row groups, limits OpenBLAS to one thread per call for that time: two callers each
 * asking for every core made sampling slower (docs/sampling.md).
 *
 * <pre>{@code
 * try (BlasThreads one = BlasThreads.limit(1)) {
 *     ... products on several Java threads ...
 * }
 * }</pre>
 *
 * <p>The setting is process-wide: limit it only around work that owns the CPU.
 */
public final class BlasThreads implements AutoCloseable {
    private final int previous;

    private BlasThreads(int previous) {
        this.previous = previous;
    }

    /**
     * The count set last, tracked here: OpenBLAS's own count is not readable through JavaCPP
     * (its {@code blas_get_num_threads()} reports only what was set through it, -1 before).
     */
    private static int current = initialThreads(
            System.getenv("OPENBLAS_NUM_THREADS"),
            java.lang.Runtime.getRuntime().availableProcessors());

    /**
     * OpenBLAS's thread count at start: {@code OPENBLAS_NUM_THREADS} when it is a positive
     * number, otherwise one per core (OpenBLAS's own default).
     */
    static int initialThreads(String env, int cores) {
        if (env != null) {
            try {
                int n = Integer.parseInt(env.strip());
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // OpenBLAS ignores a value it cannot read, and so do we
            }
        }
        return cores;
    }

    /** OpenBLAS's current thread count (as set at start or through this class). */
    public static synchronized int get() {
        return current;
    }

    /** Sets OpenBLAS's thread count (at least 1) until changed again. */
    public static synchronized void set(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("OpenBLAS threads must be >= 1, got " + threads);
        }
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(threads);
        current = threads;
    }

    /** Limits OpenBLAS to at most {@code threads} threads until the returned object is closed. */
    public static synchronized BlasThreads limit(int threads) {
        int before = current;
        if (threads < before) {
            set(threads);
        }
        return new BlasThreads(before);
    }

    /** Restores the thread count in force before {@link #limit}. */
    @Override
    public void close() {
        synchronized (BlasThreads.class) {
            if (current != previous) {
                set(previous);
            }
        }
    }
}
