package io.tarflow4j.tensor;

/**
 * libtorch's and OpenBLAS's threads raised to every core until {@link #close()}, then restored.
 *
 * <p>For work that has the machine to itself for a while although the process normally shares
 * it: rank 0's evaluation in a data-parallel run on one machine, while the other ranks (one
 * thread each) wait for it at a barrier, blocked rather than spinning.
 *
 * <pre>{@code
 * try (AllCores all = AllCores.borrow()) {
 *     ... evaluate ...
 * }
 * }</pre>
 */
public final class AllCores implements AutoCloseable {
    private final int torchBefore;
    private final int blasBefore;

    private AllCores(int torchBefore, int blasBefore) {
        this.torchBefore = torchBefore;
        this.blasBefore = blasBefore;
    }

    /** Raises both thread counts to the number of cores (never lowers them). */
    public static AllCores borrow() {
        return borrow(java.lang.Runtime.getRuntime().availableProcessors());
    }

    static AllCores borrow(int cores) {
        AllCores loan = new AllCores(Runtime.threads(), BlasThreads.get());
        if (loan.torchBefore < cores) {
            Runtime.setThreads(cores);
        }
        if (loan.blasBefore < cores) {
            BlasThreads.set(cores);
        }
        return loan;
    }

    /** Restores the thread counts in force before {@link #borrow()}. */
    @Override
    public void close() {
        if (Runtime.threads() != torchBefore) {
            Runtime.setThreads(torchBefore);
        }
        if (BlasThreads.get() != blasBefore) {
            BlasThreads.set(blasBefore);
        }
    }
}
