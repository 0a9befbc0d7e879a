package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class AllCoresTest {
    @Test
    void raisesBothThreadCountsAndRestoresThem() {
        int torchBefore = Runtime.threads();
        int blasBefore = BlasThreads.get();
        try {
            setBoth(1);
            try (AllCores all = AllCores.borrow(3)) {
                assertBoth(3);
            }
            assertBoth(1);
            // never lowers: a process that already has more keeps them
            setBoth(4);
            try (AllCores all = AllCores.borrow(2)) {
                assertBoth(4);
            }
            assertBoth(4);
        } finally {
            Runtime.setThreads(torchBefore);
            BlasThreads.set(blasBefore);
        }
    }

    private static void setBoth(int threads) {
        Runtime.setThreads(threads);
        BlasThreads.set(threads);
    }

    private static void assertBoth(int threads) {
        assertEquals(threads, Runtime.threads(), "libtorch threads");
        assertEquals(threads, BlasThreads.get(), "OpenBLAS threads");
    }
}
